"""What a lead decided about one of an agent's coaching opportunities: dismissed (with a
reason), snoozed until a day (with a reason) or shared with the agent.

The opportunity itself is computed each time (``diagnosis.py``) and is named by its key
``metric:skill``; a share keeps the opportunity as it was shown (``snapshot``), so the agent
reads what was shared even after the numbers move."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q

from coachloop.interactions.models import visible_by_program_and_agent
from coachloop.org.models import Person, Program

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    AnyUser = AbstractBaseUser | AnonymousUser


class DecisionKind(models.TextChoices):
    DISMISSED = "dismissed", "Dismissed"
    SNOOZED = "snoozed", "Snoozed"
    SHARED = "shared", "Shared with the agent"


class OpportunityDecisionQuerySet(models.QuerySet["OpportunityDecision"]):
    def visible_to(self, user: AnyUser) -> OpportunityDecisionQuerySet:
        """As the agent's other facts: the program's staff, the agent's current lead, the agent
        themself (who is shown only the shares: ``selectors.shared_with``)."""
        return visible_by_program_and_agent(self, user, agent_field="agent_id")

    def current(self) -> OpportunityDecisionQuerySet:
        return self.filter(undone_at__isnull=True)


class OpportunityDecision(models.Model):
    program = models.ForeignKey(
        Program, on_delete=models.PROTECT, related_name="opportunity_decisions"
    )
    agent = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="opportunity_decisions"
    )
    key = models.CharField(max_length=200, help_text='The opportunity\'s key, "metric:skill"')
    decision = models.CharField(max_length=20, choices=DecisionKind.choices)
    reason = models.TextField(blank=True)
    until = models.DateField(null=True, blank=True, help_text="The snooze's last day")
    snapshot = models.JSONField(
        default=dict, blank=True, help_text="The opportunity as shared (its API shape)"
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # An undone decision is kept (the events tell the story) but no longer applies.
    undone_at = models.DateTimeField(null=True, blank=True)

    objects = OpportunityDecisionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["agent", "program"],
                condition=Q(undone_at__isnull=True),
                name="insights_decision_current",
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(decision__in=["dismissed", "snoozed", "shared"]),
                name="insights_decision_kind",
            ),
            models.CheckConstraint(
                condition=~Q(decision="snoozed") | Q(until__isnull=False),
                name="insights_decision_snooze_has_until",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} {self.decision} for {self.agent_id}"


class ContextSnapshot(models.Model):
    """A program's diagnosis context for one window, pickled, with the stamp of the data it was
    built from (``contexts.py``). The worker keeps one per program for the pages' default window,
    so a lead's first request after new data loads it instead of building it. A snapshot whose
    stamp or code version differs from today's is never used."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="+")
    start = models.DateField()
    end = models.DateField()
    stamp = models.CharField(
        max_length=64, help_text="Digest of the data and code it was built from"
    )
    payload = models.BinaryField()
    built_at = models.DateTimeField()
    build_seconds = models.FloatField(help_text="How long the build took")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["program", "start", "end"], name="insights_snapshot_window"
            )
        ]

    def __str__(self) -> str:
        return f"context of {self.program_id} {self.start}..{self.end}"
