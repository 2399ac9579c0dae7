"""Reads of a lead's decisions on opportunities, and what an agent may see of their own
diagnosis: what their lead shared (as it was shared) and their strengths."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from coachloop.insights.contexts import shared_context
from coachloop.insights.diagnosis import Diagnosis, Opportunity, diagnose
from coachloop.insights.models import DecisionKind, OpportunityDecision
from coachloop.metrics import selectors as kpi_selectors
from coachloop.org.models import Membership, Person, Program, Role
from coachloop.org.scope import scope_for

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    AnyUser = AbstractBaseUser | AnonymousUser


COACH_ROLES = frozenset({Role.LEAD.value, Role.QA.value, Role.MANAGER.value})


def is_coach(user: AnyUser | None) -> bool:
    """Who reads diagnoses and queues: leads, QA analysts, managers, org admins (an agent sees
    only what their lead shares)."""
    scope = scope_for(user)
    return scope.is_admin or bool(
        scope.roles & {Role.LEAD.value, Role.QA.value, Role.MANAGER.value}
    )


def window(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The diagnosis window the pages use: the last 13 weeks up to today."""
    return kpi_selectors.recent_window(end=today)


def decisions_for(agent: Person, program: Program | None = None) -> list[OpportunityDecision]:
    """The agent's decisions that still apply (not undone), newest first. Callers check that
    the user sees the agent."""
    rows = OpportunityDecision.objects.current().filter(agent=agent).select_related("by")
    if program is not None:
        rows = rows.filter(program=program)
    return list(rows.order_by("-created_at", "-id"))


def decision_get(*, user: AnyUser, pk: int) -> OpportunityDecision | None:
    return (
        OpportunityDecision.objects.visible_to(user)
        .select_related("agent", "program")
        .filter(pk=pk)
        .first()
    )


@dataclass
class Decided:
    opportunity: Opportunity
    decision: OpportunityDecision


@dataclass
class Applied:
    active: list[Opportunity] = field(default_factory=list)
    hidden: list[Decided] = field(default_factory=list)
    shared: dict[str, OpportunityDecision] = field(default_factory=dict)  # key -> latest share

    def __iter__(self) -> Any:
        # (active, hidden), as the brief's tuple
        return iter((self.active, self.hidden))


def hiding(decision: OpportunityDecision, today: dt.date) -> bool:
    """Whether the decision hides its opportunity today: a dismissal always, a snooze up to and
    including its ``until``."""
    if decision.decision == DecisionKind.DISMISSED:
        return True
    if decision.decision == DecisionKind.SNOOZED:
        return decision.until is not None and today <= decision.until
    return False


def apply_decisions(
    diagnosis: Diagnosis, decisions: list[OpportunityDecision], today: dt.date
) -> Applied:
    """Split the diagnosis' opportunities into those to show and those a decision hides (each
    with its decision). The newest dismissal or snooze of a key decides; a share hides nothing
    and is returned by key so the page can say it was shared."""
    hide: dict[str, OpportunityDecision] = {}
    shared: dict[str, OpportunityDecision] = {}
    for decision in decisions:  # newest first
        if decision.decision == DecisionKind.SHARED:
            shared.setdefault(decision.key, decision)
        else:
            hide.setdefault(decision.key, decision)
    applied = Applied(shared=shared)
    for opportunity in diagnosis.opportunities:
        hider = hide.get(opportunity.key)
        if hider is not None and hiding(hider, today):
            applied.hidden.append(Decided(opportunity, hider))
        else:
            applied.active.append(opportunity)
    return applied


def agent_program(agent: Person) -> Program | None:
    """The program of the agent's current team (the agent's own view needs no viewer scope)."""
    membership = (
        Membership.objects.current()
        .filter(person=agent)
        .select_related("team__program")
        .order_by("valid_from")
        .last()
    )
    return membership.team.program if membership is not None else None


@dataclass
class SharedView:
    agent: Person
    program: Program | None
    shares: list[OpportunityDecision]
    strengths: list[dict[str, Any]]


def shared_with(agent: Person, *, today: dt.date | None = None) -> SharedView:
    """What the agent may see of their diagnosis: the opportunities their lead shared, as they
    read when shared (newest first, one per key), and their strengths now."""
    shares: list[OpportunityDecision] = []
    seen: set[str] = set()
    for row in (
        OpportunityDecision.objects.current()
        .filter(agent=agent, decision=DecisionKind.SHARED)
        .select_related("by__person", "program")
        .order_by("-created_at", "-id")
    ):
        if row.key not in seen:
            seen.add(row.key)
            shares.append(row)
    program = agent_program(agent)
    strengths: list[dict[str, Any]] = []
    if program is not None:
        start, end = window(today)
        # Only the strengths are shown: the program's kept context, and nothing explained.
        strengths = diagnose(
            agent=agent,
            program=program,
            start=start,
            end=end,
            context=shared_context(program=program, start=start, end=end),
            explained=0,
        ).strengths
    return SharedView(agent=agent, program=program, shares=shares, strengths=strengths)
