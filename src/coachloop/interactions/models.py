"""The facts: contacts (Interaction) and agents' activity days (AgentDay), plus the days an
import touched, marked for KPI recomputation. Rows arrive through ``coachloop.ingest``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from django.db import models
from django.db.models import Q

from coachloop.org.models import Channel, Person, Program, Team

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    AnyUser = AbstractBaseUser | AnonymousUser


class CsatScale(models.TextChoices):
    ONE_TO_FIVE = "1-5", "1-5"
    ONE_TO_TEN = "1-10", "1-10"
    ZERO_TO_TEN = "0-10", "0-10"
    PERCENT = "percent", "percent"


FactQuerySet = TypeVar("FactQuerySet", bound=models.QuerySet)


def visible_by_program_and_agent(
    queryset: FactQuerySet, user: AnyUser, *, agent_field: str
) -> FactQuerySet:
    """Facts are visible where their program is in the user's scope; a lead sees those of the
    agents they can see, an agent their own."""
    from coachloop.org.scope import scope_for

    scope = scope_for(user)
    if scope.is_admin:
        return queryset.all()
    if not scope.is_authenticated:
        return queryset.none()
    visible_people = Person.objects.visible_to(user).values("pk")
    return queryset.filter(
        Q(program_id__in=scope.program_role_program_ids)
        | Q(
            program_id__in=scope.lead_program_ids | scope.agent_program_ids,
            **{f"{agent_field}__in": visible_people},
        )
    )


class InteractionQuerySet(models.QuerySet["Interaction"]):
    def visible_to(self, user: AnyUser) -> InteractionQuerySet:
        return visible_by_program_and_agent(self, user, agent_field="agent_id")

    def handled(self) -> InteractionQuerySet:
        return self.filter(answered=True)


class Interaction(models.Model):
    """One contact. Natural key (program, source, external_id). Customer ids are stored only as
    a keyed hash. ``resolved`` is the source's flag; ``fcr_derived`` is our derivation from
    repeat contacts (ARCHITECTURE.md, "Derived FCR"), stored apart."""

    # No single-column indexes on program and agent: the natural key and the indexes below
    # lead with them, and every index is paid for on each of an import's million rows.
    program = models.ForeignKey(
        Program, on_delete=models.PROTECT, related_name="interactions", db_index=False
    )
    source = models.CharField(max_length=50, default="canonical")
    external_id = models.CharField(max_length=200)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    queue = models.CharField(max_length=100, blank=True)
    call_type = models.CharField(max_length=100, blank=True)
    # The call type, or the queue when there is none: what a repeat contact is matched on.
    fcr_topic = models.CharField(max_length=100, blank=True)
    agent = models.ForeignKey(
        Person,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="interactions",
        db_index=False,
    )
    # The agent's team at the time of the contact: KPIs are attributed to it.
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="interactions"
    )
    customer_hash = models.CharField(max_length=32, blank=True)
    started_at = models.DateTimeField()
    local_date = models.DateField(help_text="The program's local date of started_at")
    answered = models.BooleanField()
    wait_s = models.FloatField(null=True, blank=True)
    talk_s = models.FloatField(null=True, blank=True)
    hold_s = models.FloatField(null=True, blank=True)
    acw_s = models.FloatField(null=True, blank=True)
    transferred = models.BooleanField(default=False)
    escalated = models.BooleanField(default=False)
    resolved = models.BooleanField(null=True, blank=True)
    fcr_derived = models.BooleanField(null=True, blank=True)
    # A database default: imports insert rows without it, and derivation sets it.
    fcr_provisional = models.BooleanField(default=False, db_default=False)
    csat_raw = models.FloatField(null=True, blank=True)
    csat_scale = models.CharField(max_length=10, choices=CsatScale.choices, blank=True)
    csat_norm = models.FloatField(null=True, blank=True, help_text="On the 1-5 equivalent")
    csat_top2 = models.BooleanField(null=True, blank=True)
    nps = models.SmallIntegerField(null=True, blank=True)
    recording_url = models.TextField(blank=True)
    batch = models.ForeignKey(
        "ingest.ImportBatch", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = InteractionQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["program", "source", "external_id"], name="interaction_natural_key"
            ),
            models.CheckConstraint(
                condition=Q(answered=False) | Q(agent__isnull=False),
                name="interaction_answered_has_agent",
            ),
        ]
        indexes = [
            models.Index(fields=["agent", "started_at"], name="interaction_agent_time_idx"),
            models.Index(fields=["program", "local_date"], name="interaction_program_day_idx"),
            # Repeat-contact lookups for derived FCR.
            models.Index(
                fields=["program", "customer_hash", "fcr_topic", "started_at"],
                name="interaction_repeat_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.program_id}/{self.external_id}"

    @property
    def handle_s(self) -> float | None:
        """Talk + hold + after-call work, as AHT counts it (None when talk is unknown)."""
        if not self.answered or self.talk_s is None:
            return None
        return self.talk_s + (self.hold_s or 0) + (self.acw_s or 0)

    @property
    def recording_link(self) -> str | None:
        """The recording URL when it is a web address (never a javascript: or data: one)."""
        url = self.recording_url.strip()
        return url if url.lower().startswith(("https://", "http://")) else None


class AgentDayQuerySet(models.QuerySet["AgentDay"]):
    def visible_to(self, user: AnyUser) -> AgentDayQuerySet:
        return visible_by_program_and_agent(self, user, agent_field="agent_id")


class AgentDay(models.Model):
    """An agent's activity on one day, from the WFM system. Natural key (agent, date)."""

    agent = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="agent_days")
    date = models.DateField()
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="agent_days")
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="agent_days"
    )
    scheduled_s = models.FloatField(null=True, blank=True)
    logged_in_s = models.FloatField(null=True, blank=True)
    productive_s = models.FloatField(null=True, blank=True)
    adherent_s = models.FloatField(null=True, blank=True)
    absent = models.BooleanField(default=False)
    batch = models.ForeignKey(
        "ingest.ImportBatch", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = AgentDayQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agent", "date"], name="agent_day_natural_key")
        ]
        indexes = [models.Index(fields=["program", "date"], name="agent_day_program_idx")]

    def __str__(self) -> str:
        return f"{self.agent_id} {self.date}"


class Speaker(models.TextChoices):
    AGENT = "agent", "Agent"
    CUSTOMER = "customer", "Customer"
    SYSTEM = "system", "System"


class Transcript(models.Model):
    """What was said on one contact: ``turns`` is a list of ``{"speaker", "offset_s", "text"}``
    in order. A QA comment pins to a turn by its index in this list. Kept as one JSON value:
    a transcript is always read whole and replaced whole by a re-import."""

    interaction = models.OneToOneField(
        Interaction, on_delete=models.CASCADE, related_name="transcript"
    )
    turns: models.JSONField[list[dict[str, Any]]] = models.JSONField(default=list)
    batch = models.ForeignKey(
        "ingest.ImportBatch", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"transcript of {self.interaction_id}"


class RecomputeMark(models.Model):
    """A program day whose KPIs must be recomputed because its facts changed. Imports write
    marks; the KPI rollups consume them (``coachloop recompute``)."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="+")
    date = models.DateField()
    marked_at = models.DateTimeField(auto_now=True)
    reason = models.CharField(max_length=100, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["program", "date"], name="recompute_mark_unique")
        ]

    def __str__(self) -> str:
        return f"{self.program_id} {self.date}"
