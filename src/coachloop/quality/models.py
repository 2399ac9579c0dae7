"""Quality assurance: versioned scorecards, evaluations with their answers, comments pinned to
the transcript, acknowledgements, disputes, calibration sessions, the per-program QA policy and
the analysts' sample queue.

An evaluation keeps the scorecard version it was made with and its score; editing a scorecard
that has evaluations creates a new version (``services.scorecard_update``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q

from coachloop.core.models import TimeStampedModel
from coachloop.interactions.models import Interaction, visible_by_program_and_agent
from coachloop.learning.models import Skill
from coachloop.org.models import Person, Program, Team

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    AnyUser = AbstractBaseUser | AnonymousUser


class CriterionType(models.TextChoices):
    YES_NO = "yes_no", "Yes / no"
    SCALE = "scale_1_5", "Scale 1-5"
    POINTS = "points", "Points"


class CriticalScope(models.TextChoices):
    EVALUATION = "evaluation", "A failed critical criterion scores the evaluation 0"
    SECTION = "section", "A failed critical criterion scores its section 0"


class ScorecardQuerySet(models.QuerySet["Scorecard"]):
    def visible_to(self, user: AnyUser) -> ScorecardQuerySet:
        """Scorecards for all programs, or for a program in the user's scope."""
        from coachloop.org.scope import scope_for

        scope = scope_for(user)
        if scope.is_admin:
            return self.all()
        if not scope.is_authenticated:
            return self.none()
        return self.filter(
            Q(programs__isnull=True) | Q(programs__in=scope.all_program_ids)
        ).distinct()

    def current(self) -> ScorecardQuerySet:
        return self.filter(is_current=True)


class Scorecard(TimeStampedModel):
    """One version of a scorecard. (key, version) is unique; ``is_current`` marks the version
    new evaluations use. Empty programs / channels / call types mean all."""

    key = models.SlugField(max_length=100)
    version = models.PositiveIntegerField(default=1)
    name = models.CharField(max_length=200)
    critical_scope = models.CharField(
        max_length=10, choices=CriticalScope.choices, default=CriticalScope.EVALUATION
    )
    programs = models.ManyToManyField(Program, blank=True, related_name="scorecards")
    channels: models.JSONField[list[str]] = models.JSONField(default=list, blank=True)
    call_types: models.JSONField[list[str]] = models.JSONField(default=list, blank=True)
    is_current = models.BooleanField(default=True)

    objects = ScorecardQuerySet.as_manager()

    class Meta:
        ordering = ["key", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["key", "version"], name="scorecard_key_version")
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class Section(models.Model):
    scorecard = models.ForeignKey(Scorecard, on_delete=models.CASCADE, related_name="sections")
    key = models.SlugField(max_length=100)
    name = models.CharField(max_length=200)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["scorecard", "position"]
        constraints = [
            models.UniqueConstraint(fields=["scorecard", "key"], name="section_key_per_scorecard")
        ]

    def __str__(self) -> str:
        return self.name


class Criterion(models.Model):
    """One question of a scorecard version. Scoring rules: ``quality.scoring``."""

    scorecard = models.ForeignKey(Scorecard, on_delete=models.CASCADE, related_name="criteria")
    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="criteria")
    key = models.SlugField(max_length=100)
    question = models.CharField(max_length=300)
    guidance = models.TextField(blank=True)
    type = models.CharField(max_length=10, choices=CriterionType.choices)
    weight = models.FloatField(default=1)
    critical = models.BooleanField(default=False)
    skills = models.ManyToManyField(Skill, blank=True, related_name="criteria")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["scorecard", "section__position", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["scorecard", "key"], name="criterion_key_per_scorecard"
            ),
            models.CheckConstraint(condition=Q(weight__gt=0), name="criterion_weight_positive"),
        ]

    def __str__(self) -> str:
        return self.question


class CalibrationStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class CalibrationQuerySet(models.QuerySet["Calibration"]):
    def visible_to(self, user: AnyUser) -> CalibrationQuerySet:
        """QA analysts, program managers and admins of the program, and the session's own
        participants (a lead who calibrates sees that session, and no other)."""
        from coachloop.org.scope import scope_for

        scope = scope_for(user)
        if scope.is_admin:
            return self.all()
        participant = Q(evaluators__pk=scope.person_id) if scope.person_id else Q(pk__in=[])
        return self.filter(
            Q(program_id__in=scope.program_role_program_ids)
            | (participant & Q(program_id__in=scope.all_program_ids))
        ).distinct()


class Calibration(TimeStampedModel):
    """A calibration session: several evaluators score the same contacts blind. Each one's
    answers are hidden from the others until they have submitted their own for that contact
    (``selectors.evaluations_visible``); the report is the agreement between them."""

    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="calibrations")
    scorecard = models.ForeignKey(Scorecard, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=200)
    source = models.CharField(max_length=50, default="app")
    external_id = models.CharField(max_length=200, blank=True)
    status = models.CharField(
        max_length=10, choices=CalibrationStatus.choices, default=CalibrationStatus.OPEN
    )
    interactions = models.ManyToManyField(Interaction, related_name="calibrations")
    evaluators = models.ManyToManyField(Person, related_name="calibrations")
    reference_evaluator = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = CalibrationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["program", "source", "external_id"],
                condition=~Q(external_id=""),
                name="calibration_natural_key",
            )
        ]

    def __str__(self) -> str:
        return self.name


class EvaluationStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"


class EvaluationQuerySet(models.QuerySet["Evaluation"]):
    def visible_to(self, user: AnyUser) -> EvaluationQuerySet:
        """By program and agent as for contacts; a draft only to its evaluator and the
        program's QA analysts and managers; calibration answers never to leads and agents."""
        from coachloop.org.scope import scope_for

        scope = scope_for(user)
        facts = visible_by_program_and_agent(self, user, agent_field="agent_id")
        if scope.is_admin:
            return facts
        staff = Q(program_id__in=scope.program_role_program_ids)
        own = Q(evaluator_id=scope.person_id) if scope.person_id else Q(pk__in=[])
        return facts.filter(
            staff | own | Q(status=EvaluationStatus.SUBMITTED, calibration__isnull=True)
        )

    def counted(self) -> EvaluationQuerySet:
        """The evaluations that make an agent's QA score: submitted, outside calibration."""
        return self.filter(
            status=EvaluationStatus.SUBMITTED, calibration__isnull=True, score__isnull=False
        )


class Evaluation(TimeStampedModel):
    """One evaluator's evaluation of one contact. Dated by the contact (``local_date``), as the
    QA score KPI is; ``program``, ``agent`` and ``team`` are the contact's, kept here so QA
    analytics and visibility need no join."""

    interaction = models.ForeignKey(
        Interaction, on_delete=models.PROTECT, related_name="evaluations"
    )
    scorecard = models.ForeignKey(Scorecard, on_delete=models.PROTECT, related_name="evaluations")
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="evaluations")
    agent = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="evaluations")
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="evaluations"
    )
    local_date = models.DateField()
    evaluator = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="evaluations_made"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        max_length=10, choices=EvaluationStatus.choices, default=EvaluationStatus.DRAFT
    )
    score = models.FloatField(null=True, blank=True, help_text="0-100; empty when all N/A")
    critical_failed = models.BooleanField(default=False)
    feedback = models.TextField(blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledgement_comment = models.TextField(blank=True)
    calibration = models.ForeignKey(
        Calibration, null=True, blank=True, on_delete=models.CASCADE, related_name="evaluations"
    )
    source = models.CharField(max_length=50, default="app")
    external_id = models.CharField(max_length=200, blank=True)
    batch = models.ForeignKey(
        "ingest.ImportBatch", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = EvaluationQuerySet.as_manager()

    class Meta:
        ordering = ["-local_date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["program", "source", "external_id"],
                condition=~Q(external_id=""),
                name="evaluation_natural_key",
            ),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__gte=0, score__lte=100),
                name="evaluation_score_0_100",
            ),
        ]
        indexes = [
            models.Index(fields=["program", "local_date"], name="evaluation_program_day_idx"),
            models.Index(fields=["agent", "local_date"], name="evaluation_agent_day_idx"),
        ]

    def __str__(self) -> str:
        return f"Evaluation #{self.pk}"


class Answer(models.Model):
    """One criterion's answer: ``yes``, ``no``, ``na``, a scale value or points, as given;
    ``credit`` is its 0-1 share (empty for N/A), written by the scoring service."""

    evaluation = models.ForeignKey(Evaluation, on_delete=models.CASCADE, related_name="answers")
    criterion = models.ForeignKey(Criterion, on_delete=models.PROTECT, related_name="answers")
    value = models.CharField(max_length=10)
    credit = models.FloatField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["evaluation", "criterion"], name="answer_one_per_criterion"
            )
        ]

    def __str__(self) -> str:
        return f"{self.criterion_id}={self.value}"


class Comment(models.Model):
    """An evaluator's comment, on a criterion or the whole contact, optionally pinned to a
    transcript turn (its index) or a recording offset in seconds."""

    evaluation = models.ForeignKey(Evaluation, on_delete=models.CASCADE, related_name="comments")
    criterion = models.ForeignKey(
        Criterion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    text = models.TextField()
    turn = models.PositiveIntegerField(null=True, blank=True)
    offset_s = models.FloatField(null=True, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["turn", "offset_s", "id"]

    def __str__(self) -> str:
        return self.text[:60]


class DisputeStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"


class DisputeQuerySet(models.QuerySet["Dispute"]):
    def visible_to(self, user: AnyUser) -> DisputeQuerySet:
        """A dispute is seen by whoever sees its evaluation."""
        return self.filter(evaluation__in=Evaluation.objects.visible_to(user).values("pk"))


class Dispute(TimeStampedModel):
    """An agent (or their lead) disputes named criteria of a submitted evaluation."""

    evaluation = models.ForeignKey(Evaluation, on_delete=models.CASCADE, related_name="disputes")
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField()
    status = models.CharField(
        max_length=10, choices=DisputeStatus.choices, default=DisputeStatus.OPEN
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.TextField(blank=True)

    objects = DisputeQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["evaluation"],
                condition=Q(status="open"),
                name="dispute_one_open_per_evaluation",
            )
        ]

    def __str__(self) -> str:
        return f"Dispute #{self.pk}"


class DisputeOutcome(models.TextChoices):
    PENDING = "", "Pending"
    UPHELD = "upheld", "Upheld (the answer stands)"
    CHANGED = "changed", "Changed"


class DisputeItem(models.Model):
    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="items")
    criterion = models.ForeignKey(Criterion, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(blank=True)
    outcome = models.CharField(
        max_length=10, choices=DisputeOutcome.choices, default=DisputeOutcome.PENDING, blank=True
    )
    previous_value = models.CharField(max_length=10)
    new_value = models.CharField(max_length=10, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["dispute", "criterion"], name="dispute_item_one_per_criterion"
            )
        ]

    def __str__(self) -> str:
        return f"{self.dispute_id}/{self.criterion_id}"


class QaPolicy(TimeStampedModel):
    """A program's QA rules: how many contacts of each agent are sampled a week, which targeted
    samples join, and how long agents have to acknowledge an evaluation."""

    program = models.OneToOneField(Program, on_delete=models.CASCADE, related_name="qa_policy")
    per_agent_per_week = models.PositiveSmallIntegerField(default=2)
    targeted_per_agent_per_week = models.PositiveSmallIntegerField(default=1)
    target_low_csat = models.BooleanField(default=True)
    target_unresolved = models.BooleanField(default=True)
    target_long_aht = models.BooleanField(default=True)
    target_long_hold = models.BooleanField(default=True)
    acknowledge_within_days = models.PositiveSmallIntegerField(default=7)

    def __str__(self) -> str:
        return f"QA policy of {self.program_id}"


class SampleQuerySet(models.QuerySet["Sample"]):
    def visible_to(self, user: AnyUser) -> SampleQuerySet:
        from coachloop.org.scope import scope_for

        scope = scope_for(user)
        if scope.is_admin:
            return self.all()
        return self.filter(program_id__in=scope.program_role_program_ids)

    def open(self) -> SampleQuerySet:
        return self.filter(evaluation__isnull=True)


class SampleReason(models.TextChoices):
    ROUTINE = "routine", "Routine sample"
    LOW_CSAT = "low_csat", "Low CSAT"
    UNRESOLVED = "unresolved", "Unresolved"
    LONG_AHT = "long_aht", "Long handle time"
    LONG_HOLD = "long_hold", "Long hold"


class Sample(TimeStampedModel):
    """A contact picked for evaluation, in an analyst's queue until it is evaluated."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="qa_samples")
    interaction = models.OneToOneField(
        Interaction, on_delete=models.CASCADE, related_name="qa_sample"
    )
    agent = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    analyst = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="qa_queue"
    )
    week_start = models.DateField()
    reason = models.CharField(max_length=12, choices=SampleReason.choices)
    evaluation = models.OneToOneField(
        Evaluation, null=True, blank=True, on_delete=models.SET_NULL, related_name="sample"
    )

    objects = SampleQuerySet.as_manager()

    class Meta:
        ordering = ["week_start", "id"]
        indexes = [models.Index(fields=["program", "week_start"], name="sample_program_week_idx")]

    def __str__(self) -> str:
        return f"sample {self.interaction_id} ({self.reason})"
