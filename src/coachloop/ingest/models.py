"""Import batches, their row problems, and saved mappings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from coachloop.core.models import Job
from coachloop.org.models import Program

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    AnyUser = AbstractBaseUser | AnonymousUser


class ImportKind(models.TextChoices):
    ROSTER = "roster", "Roster"
    INTERACTIONS = "interactions", "Interactions"
    AGENT_DAYS = "agent-days", "Agent days"
    TRANSCRIPTS = "transcripts", "Transcripts"
    SCORECARD = "scorecard", "Scorecard"
    EVALUATIONS = "evaluations", "QA evaluations"
    SESSIONS = "sessions", "Coaching sessions"


class BatchStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    REJECTED = "rejected", "Rejected"  # bad rows with --on-error reject: nothing written
    FAILED = "failed", "Failed"  # crashed or killed: nothing written


class OnError(models.TextChoices):
    REJECT = "reject", "Reject the whole file"
    SKIP = "skip", "Skip bad rows"


class ImportBatchQuerySet(models.QuerySet["ImportBatch"]):
    def visible_to(self, user: AnyUser) -> ImportBatchQuerySet:
        """Org admins see every batch; managers the batches they ran or that touched their
        programs."""
        from coachloop.org.scope import scope_for

        scope = scope_for(user)
        if scope.is_admin:
            return self.all()
        if not scope.is_authenticated:
            return self.none()
        # A batch's problems and error file may hold rows of every program it touched: a
        # manager sees it only when all of them are theirs (or they ran it themselves).
        outside = ImportBatch.programs.through.objects.filter(
            importbatch_id=models.OuterRef("pk")
        ).exclude(program_id__in=list(scope.manager_program_ids))
        mine = ImportBatch.programs.through.objects.filter(
            importbatch_id=models.OuterRef("pk"), program_id__in=list(scope.manager_program_ids)
        )
        return self.filter(
            Q(created_by_id=user.pk) | (Q(models.Exists(mine)) & ~Q(models.Exists(outside)))
        )


class ImportBatch(models.Model):
    """One import of one file: who, when, what, how it went, and where its errors are."""

    kind = models.CharField(max_length=20, choices=ImportKind.choices)
    source = models.SlugField(max_length=50, default="canonical")
    file_name = models.CharField(max_length=255)
    file_path = models.CharField(max_length=1000, help_text="The stored copy of the upload")
    file_format = models.CharField(max_length=10, blank=True)
    mapping_text = models.TextField(blank=True)
    options: models.JSONField[dict[str, Any]] = models.JSONField(default=dict, blank=True)
    on_error = models.CharField(max_length=10, choices=OnError.choices, default=OnError.REJECT)
    dry_run = models.BooleanField(default=False)
    status = models.CharField(
        max_length=10, choices=BatchStatus.choices, default=BatchStatus.QUEUED
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    programs = models.ManyToManyField(Program, blank=True, related_name="import_batches")
    rows_read = models.PositiveIntegerField(default=0)
    rows_inserted = models.PositiveIntegerField(default=0)
    rows_updated = models.PositiveIntegerField(default=0)
    rows_unchanged = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    warnings = models.PositiveIntegerField(default=0)
    unmapped_columns: models.JSONField[list[str]] = models.JSONField(default=list, blank=True)
    errors_path = models.CharField(max_length=1000, blank=True)
    error = models.TextField(blank=True, help_text="Why the batch failed as a whole")
    seconds = models.FloatField(null=True, blank=True)

    objects = ImportBatchQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"import #{self.pk} {self.kind} {self.file_name}"

    @property
    def rows_written(self) -> int:
        return self.rows_inserted + self.rows_updated


class ImportProblem(models.Model):
    """One problem with one row (or a warning), as shown on the batch page. The error file has
    all of them; the first ``PROBLEMS_KEPT`` per batch are kept here for the page and API."""

    PROBLEMS_KEPT = 1000

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="problems")
    row = models.PositiveIntegerField(null=True, blank=True)
    column = models.CharField(max_length=200, blank=True)
    value = models.TextField(blank=True)
    expected = models.TextField()
    is_warning = models.BooleanField(default=False)

    class Meta:
        ordering = ["batch", "row", "id"]

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column}: {self.value!r} — expected {self.expected}"


class SavedMapping(models.Model):
    """A mapping file saved under a name for a source, reusable from the web upload."""

    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=ImportKind.choices)
    source = models.SlugField(max_length=50, default="canonical")
    text = models.TextField(help_text="The mapping file (TOML)")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "name"], name="saved_mapping_unique_name")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind}, {self.source})"
