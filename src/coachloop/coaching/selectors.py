"""Reads of coaching sessions: an agent's sessions as a user may see them, each agent's latest
session, and how overdue each agent is against their team's coaching cadence."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.db.models import Max, Min

from coachloop.coaching.models import CADENCE_TYPES, CoachingSession, CoachingSessionQuerySet
from coachloop.org.models import Membership, Person, Program, Team

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser


def sessions_of(
    *, user: AbstractBaseUser | AnonymousUser, agent: Person
) -> CoachingSessionQuerySet:
    """The agent's sessions the user may see, latest first."""
    return (
        CoachingSession.objects.visible_to(user)
        .filter(agent=agent)
        .select_related("lead", "team", "focus_skill")
        .order_by("-started_at", "-id")
    )


def last_session_by_agent(
    *, program: Program, agent_ids: Iterable[int], types: Iterable[str] | None = None
) -> dict[int, dt.date]:
    """Each agent's latest session day in ``program`` (of ``types``, default every type), in
    one query; agents never coached there are absent. Callers check visibility first."""
    sessions = CoachingSession.objects.filter(program=program, agent_id__in=list(agent_ids))
    if types is not None:
        sessions = sessions.filter(type__in=list(types))
    return dict(
        sessions.order_by()
        .values("agent_id")
        .annotate(last=Max("local_date"))
        .values_list("agent_id", "last")
    )


def due_by_cadence(*, team: Team, agent_ids: Iterable[int], today: dt.date) -> dict[int, int]:
    """Days each agent is overdue for coaching: days since their last one-to-one or
    side-by-side in the team's program, minus the team's ``coaching_cadence_days`` (positive:
    overdue; 0: due today; negative: not due yet). A huddle does not count.

    An agent never coached in the program counts from when they started there: the later of
    their hire date and the day they first joined a team of the program (either alone when the
    other is unknown; today when both are)."""
    ids = list(agent_ids)
    cadence = team.coaching_cadence_days
    last = last_session_by_agent(program=team.program, agent_ids=ids, types=CADENCE_TYPES)
    never = [agent_id for agent_id in ids if agent_id not in last]
    starts: dict[int, dt.date] = {}
    if never:
        hired = dict(
            Person.objects.filter(pk__in=never, hire_date__isnull=False).values_list(
                "pk", "hire_date"
            )
        )
        joined = dict(
            Membership.objects.filter(person_id__in=never, team__program_id=team.program_id)
            .order_by()
            .values("person_id")
            .annotate(first=Min("valid_from"))
            .values_list("person_id", "first")
        )
        for agent_id in never:
            known = [day for day in (hired.get(agent_id), joined.get(agent_id)) if day]
            starts[agent_id] = max(known) if known else today
    return {
        agent_id: (today - (last.get(agent_id) or starts[agent_id])).days - cadence
        for agent_id in ids
    }
