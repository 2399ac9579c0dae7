"""Writes of a lead's decisions on an agent's coaching opportunities.

Only someone who coaches the agent decides: a lead who sees the agent in the program, the
program's managers and org admins. A dismissal or a snooze needs a reason (the reason is what
the next lead reads); every decision is an event on the agent's timeline."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from coachloop.core.errors import Conflict, ErrorDetail, InvalidInput, NotAllowed
from coachloop.core.services import event_record
from coachloop.insights.models import DecisionKind, OpportunityDecision
from coachloop.org import selectors as org_selectors
from coachloop.org.models import Person, Program
from coachloop.org.scope import scope_for

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    AnyUser = AbstractBaseUser | AnonymousUser

MAX_KEY = 200


def can_decide(*, user: AnyUser, agent: Person, program: Program) -> bool:
    scope = scope_for(user)
    if scope.is_admin or program.pk in scope.manager_program_ids:
        return True
    return org_selectors.leads_agent(user=user, agent_id=agent.pk, program_id=program.pk)


def _require(user: AnyUser, agent: Person, program: Program) -> None:
    if not can_decide(user=user, agent=agent, program=program):
        raise NotAllowed(
            "Only the agent's lead, the program's managers and org admins decide on opportunities"
        )


def _invalid(column: str, value: object, expected: str) -> InvalidInput:
    return InvalidInput(
        f"{column}: {expected}", [ErrorDetail(column=column, value=value, expected=expected)]
    )


def _checked_key(key: str) -> str:
    key = (key or "").strip()
    if not key or ":" not in key or len(key) > MAX_KEY:
        raise _invalid("key", key, 'an opportunity key "metric:skill"')
    return key


def _checked_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise _invalid("reason", reason, "a reason (what the next person to read this needs)")
    return reason


def _record(
    *,
    agent: Person,
    program: Program,
    key: str,
    decision: str,
    by: AnyUser,
    reason: str = "",
    until: dt.date | None = None,
    snapshot: dict[str, Any] | None = None,
) -> OpportunityDecision:
    row = OpportunityDecision.objects.create(
        program=program,
        agent=agent,
        key=key,
        decision=decision,
        reason=reason,
        until=until,
        snapshot=snapshot or {},
        by_id=by.pk if by is not None and by.is_authenticated else None,
    )
    params: dict[str, Any] = {"key": key}
    if reason:
        params["reason"] = reason
    if until is not None:
        params["until"] = until.isoformat()
    event_record(
        verb=f"opportunity.{decision}",
        actor=by,
        target=row,
        program=program,
        person=agent,
        params=params,
    )
    return row


@transaction.atomic
def opportunity_dismiss(
    *, agent: Person, program: Program, key: str, reason: str, by: AnyUser
) -> OpportunityDecision:
    """Hide the opportunity from the agent's diagnosis and the queue until undone."""
    _require(by, agent, program)
    return _record(
        agent=agent,
        program=program,
        key=_checked_key(key),
        decision=DecisionKind.DISMISSED,
        reason=_checked_reason(reason),
        by=by,
    )


@transaction.atomic
def opportunity_snooze(
    *,
    agent: Person,
    program: Program,
    key: str,
    until: dt.date | None,
    reason: str,
    by: AnyUser,
    today: dt.date | None = None,
) -> OpportunityDecision:
    """Hide the opportunity up to and including ``until``; it comes back the day after."""
    _require(by, agent, program)
    key = _checked_key(key)
    today = today or timezone.localdate()
    if until is None or until < today:
        raise _invalid("until", until.isoformat() if until else "", "a day from today on")
    return _record(
        agent=agent,
        program=program,
        key=key,
        decision=DecisionKind.SNOOZED,
        reason=_checked_reason(reason),
        until=until,
        by=by,
    )


@transaction.atomic
def opportunity_share(
    *, agent: Person, program: Program, opportunity: dict[str, Any], by: AnyUser
) -> OpportunityDecision:
    """Show the opportunity to the agent as it reads now (``opportunity`` is its ``as_api()``)."""
    _require(by, agent, program)
    if not isinstance(opportunity, dict):
        raise _invalid("opportunity", str(opportunity)[:100], "an opportunity")
    key = opportunity.get("key") or (
        f"{opportunity.get('metric') or ''}:{opportunity.get('skill') or '-'}"
    )
    return _record(
        agent=agent,
        program=program,
        key=_checked_key(str(key)),
        decision=DecisionKind.SHARED,
        snapshot=opportunity,
        by=by,
    )


@transaction.atomic
def decision_undo(*, decision: OpportunityDecision, by: AnyUser) -> OpportunityDecision:
    """Take a decision back: a dismissed or snoozed opportunity shows again, a share is no longer
    shown to the agent."""
    _require(by, decision.agent, decision.program)
    updated = OpportunityDecision.objects.filter(pk=decision.pk, undone_at__isnull=True).update(
        undone_at=timezone.now()
    )
    if not updated:
        raise Conflict("This decision was already undone")
    decision.refresh_from_db()
    event_record(
        verb="opportunity.undone",
        actor=by,
        target=decision,
        program=decision.program,
        person=decision.agent,
        params={"key": decision.key, "decision": decision.decision},
    )
    return decision
