"""Cross-cutting records: the event trail and API tokens."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser


class TimeStampedModel(models.Model):
    """Base for coachloop records: when a row was made and last changed."""

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class EventQuerySet(models.QuerySet["Event"]):
    def visible_to(self, user: AbstractBaseUser | AnonymousUser) -> EventQuerySet:
        from coachloop.org.scope import scope_for

        scope = scope_for(user)
        if scope.is_admin:
            return self.all()
        if not scope.is_authenticated:
            return self.none()
        from coachloop.org.models import Person

        visible_people = Person.objects.visible_to(user).values("pk")
        return self.filter(
            Q(program_id__in=scope.program_role_program_ids)
            # A lead sees events in their programs about the people they can see.
            | Q(program_id__in=scope.lead_program_ids, person_id__in=visible_people)
            | Q(person_id=scope.person_id, person_id__isnull=False)
        )


class Event(models.Model):
    """One thing that happened, written by a service: the timeline, audit trail and trigger feed.

    ``program`` decides who may see it; ``person`` is the agent (or other person) it concerns.
    """

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    verb = models.CharField(max_length=80, db_index=True)
    target_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    target_id = models.BigIntegerField(null=True, blank=True)
    target_label = models.CharField(max_length=200, blank=True)
    program = models.ForeignKey(
        "org.Program", null=True, blank=True, on_delete=models.PROTECT, related_name="events"
    )
    person = models.ForeignKey(
        "org.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="events"
    )
    params: models.JSONField[dict[str, Any]] = models.JSONField(default=dict, blank=True)

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["target_type", "target_id"], name="event_target_idx"),
            models.Index(fields=["person", "-created_at"], name="event_person_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.verb} {self.target_label}".strip()


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def active(self) -> ApiTokenQuerySet:
        return self.filter(revoked_at__isnull=True)


class ApiToken(models.Model):
    """A bearer token for machines. Only a SHA-256 digest is stored; the token is shown once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=16, unique=True)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class JobQuerySet(models.QuerySet["Job"]):
    def visible_to(self, user: AbstractBaseUser | AnonymousUser) -> JobQuerySet:
        from coachloop.org.scope import scope_for

        scope = scope_for(user)
        if scope.is_admin:
            return self.all()
        if not scope.is_authenticated:
            return self.none()
        return self.filter(created_by_id=user.pk)


class Job(models.Model):
    """One unit of background work, visible to the person who asked for it.

    The database is the queue: a worker claims a queued row with a conditional update, so two
    workers never run the same job. ``worker`` is ``host:pid`` so a job whose process died can
    be recognised and marked failed (see ``core/jobs.py``)."""

    kind = models.CharField(max_length=50)
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    params: models.JSONField[dict[str, Any]] = models.JSONField(default=dict, blank=True)
    progress = models.FloatField(default=0.0)
    progress_text = models.CharField(max_length=200, blank=True)
    log = models.TextField(blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=100, blank=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # What a worker asks for on every poll: the oldest queued job.
            models.Index(
                fields=["created_at"], condition=Q(status="queued"), name="job_queued_idx"
            ),
            models.Index(
                fields=["heartbeat_at"], condition=Q(status="running"), name="job_running_idx"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__gte=0.0, progress__lte=1.0), name="job_progress_0_1"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"
