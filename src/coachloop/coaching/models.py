"""Coaching sessions: who coached whom, when, of which kind, on which skill and metric.

The record is minimal today (what the ``sessions`` import brings: CONTRACTS.md, "Canonical
files"); the coaching issue adds the agenda, action items and acknowledgement to it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models
from django.db.models import F, Q

from coachloop.core.models import TimeStampedModel
from coachloop.interactions.models import visible_by_program_and_agent
from coachloop.learning.models import Skill
from coachloop.org.models import Person, Program, Team

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    AnyUser = AbstractBaseUser | AnonymousUser


class SessionType(models.TextChoices):
    ONE_TO_ONE = "one_to_one", "One-to-one"
    SIDE_BY_SIDE = "side_by_side", "Side by side"
    HUDDLE = "huddle", "Huddle"


# The sessions that meet an agent's coaching cadence: individual coaching. A huddle is a team
# meeting; it is recorded, but it does not make a one-to-one less due.
CADENCE_TYPES = (SessionType.ONE_TO_ONE, SessionType.SIDE_BY_SIDE)


class CoachingSessionQuerySet(models.QuerySet["CoachingSession"]):
    def visible_to(self, user: AnyUser) -> CoachingSessionQuerySet:
        """As the agent's other facts: the program's staff, the agent's current lead (with the
        agent's history inside the lead's programs), the agent themself."""
        return visible_by_program_and_agent(self, user, agent_field="agent_id")


class CoachingSession(TimeStampedModel):
    """One coaching session of one agent by one coach (``lead``: any person of the roster).

    ``program`` is the agent's program and ``team`` the agent's team on the session's local day
    (null when they were on none), so a session stays with the team of the time as KPIs do.
    Imported sessions have the natural key (program, source, external_id); sessions made in
    the app have no external id."""

    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="coaching_sessions")
    agent = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="coaching_sessions")
    lead = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="coaching_sessions_led")
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="coaching_sessions"
    )
    started_at = models.DateTimeField()
    local_date = models.DateField(help_text="The program's local date of started_at")
    type = models.CharField(max_length=20, choices=SessionType.choices)
    focus_skill = models.ForeignKey(
        Skill, null=True, blank=True, on_delete=models.PROTECT, related_name="coaching_sessions"
    )
    focus_metric = models.CharField(
        max_length=50, blank=True, help_text="The slug of the metric the session aimed at"
    )
    notes = models.TextField(blank=True)
    source = models.CharField(max_length=50, default="app")
    external_id = models.CharField(max_length=200, blank=True)
    batch = models.ForeignKey(
        "ingest.ImportBatch", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = CoachingSessionQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            # The imports upsert on it (ingest/loaders/sessions.py names the same condition).
            models.UniqueConstraint(
                fields=["program", "source", "external_id"],
                condition=~Q(external_id=""),
                name="coaching_session_natural_key",
            ),
            models.CheckConstraint(
                condition=Q(type__in=SessionType.values),
                name="coaching_session_type_valid",
            ),
            models.CheckConstraint(
                condition=~Q(lead=F("agent")),
                name="coaching_session_coach_is_not_agent",
            ),
        ]
        indexes = [
            # The latest session per agent (cadence) and an agent's history.
            models.Index(fields=["agent", "local_date"], name="coaching_session_agent_day_idx"),
            models.Index(fields=["program", "local_date"], name="coaching_session_program_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()} of {self.agent_id} on {self.local_date.isoformat()}"
