"""Writes of coaching sessions. Imported sessions are written in bulk by the ``sessions``
import (``ingest/loaders/sessions.py``), which checks each row as ``session_record`` does."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import TYPE_CHECKING

from django.db import transaction

from coachloop.coaching.models import CoachingSession, SessionType
from coachloop.core.errors import ErrorDetail, InvalidInput, NotAllowed
from coachloop.core.services import event_record
from coachloop.metrics.selectors import definitions_for
from coachloop.org import selectors as org_selectors
from coachloop.org.models import Membership, Person, Program, Role, RoleAssignment, Team
from coachloop.org.scope import scope_for

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    from coachloop.learning.models import Skill


def _invalid(column: str, value: object, expected: str) -> InvalidInput:
    return InvalidInput(
        f"{column}: {value!r} is not valid, expected {expected}",
        [ErrorDetail(column=column, value=value, expected=expected)],
    )


def team_on(*, agent: Person, program: Program, day: dt.date) -> Team | None:
    """The agent's team of ``program`` on ``day``, if they were on one."""
    membership = (
        Membership.objects.on(day)
        .filter(person=agent, team__program=program)
        .select_related("team")
        .first()
    )
    return membership.team if membership is not None else None


@transaction.atomic
def session_record(
    *,
    program: Program,
    agent: Person,
    lead: Person,
    started_at: dt.datetime,
    type: str,
    by: AbstractBaseUser | AnonymousUser | None,
    focus_skill: Skill | None = None,
    focus_metric: str = "",
    notes: str = "",
) -> CoachingSession:
    """Record one session held with ``agent`` of ``program``, dated by the program's local day
    and kept with the team the agent was on that day. ``by`` None is the installation; a user
    must be an org admin, a manager of the program or a lead who sees the agent."""
    if by is not None:
        scope = scope_for(by)
        leads_agent = org_selectors.leads_agent(user=by, agent_id=agent.pk, program_id=program.pk)
        if not (scope.is_admin or program.pk in scope.manager_program_ids or leads_agent):
            raise NotAllowed(
                "Only the agent's lead, the program's managers and org admins record sessions"
            )
    if not RoleAssignment.objects.filter(person=agent, role=Role.AGENT, program=program).exists():
        raise _invalid("agent", agent.external_id, f"an agent of program {program.code}")
    if lead.pk == agent.pk:
        raise _invalid("lead", lead.external_id, "a coach other than the agent")
    if started_at.tzinfo is None:
        raise _invalid("started_at", started_at.isoformat(), "a time with its time zone")
    if type not in SessionType.values:
        raise _invalid("type", type, "one of " + ", ".join(SessionType.values))
    if focus_metric and focus_metric not in {d.slug for d in definitions_for(program)}:
        raise _invalid("focus_metric", focus_metric, f"a metric of program {program.code}")
    local_date = started_at.astimezone(zoneinfo.ZoneInfo(program.timezone)).date()
    session = CoachingSession.objects.create(
        program=program,
        agent=agent,
        lead=lead,
        team=team_on(agent=agent, program=program, day=local_date),
        started_at=started_at,
        local_date=local_date,
        type=type,
        focus_skill=focus_skill,
        focus_metric=focus_metric,
        notes=notes,
    )
    event_record(
        verb="coaching_session.recorded",
        actor=by,
        target=session,
        program=program,
        person=agent,
        params={
            "lead": lead.external_id,
            "type": type,
            "local_date": local_date.isoformat(),
            "focus_skill": focus_skill.key if focus_skill is not None else None,
            "focus_metric": focus_metric or None,
        },
    )
    return session
