"""Coaching sessions as records: who sees them, each agent's latest one, how overdue an agent is
against their team's cadence, and recording one through the service."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from coachloop.coaching import selectors
from coachloop.coaching.models import CoachingSession, SessionType
from coachloop.coaching.services import session_record
from coachloop.core.errors import InvalidInput, NotAllowed
from coachloop.core.models import Event
from coachloop.core.personas import World
from coachloop.org import services as org
from coachloop.org.models import Person, Program

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 20)  # the pinned day (conftest)


def held(
    agent: Person,
    lead: Person,
    day: dt.date,
    *,
    program: Program | None = None,
    type: str = SessionType.ONE_TO_ONE,
) -> CoachingSession:
    """A session at 10:00 UTC on ``day``, through the service."""
    when = dt.datetime.combine(day, dt.time(10), tzinfo=dt.UTC)
    membership = agent.memberships.select_related("team__program").first()
    assert membership is not None
    return session_record(
        program=program or membership.team.program,
        agent=agent,
        lead=lead,
        started_at=when,
        type=type,
        by=None,
    )


@pytest.fixture
def sessions(world: World) -> dict[str, CoachingSession]:
    day = TODAY - dt.timedelta(days=3)
    return {
        "agent": held(world.agent, world.lead, day),
        "agent2": held(world.agent2, world.lead, day),
        "care_b_agent": held(world.care_b_agent, world.other_lead, day),
        "chat_agent": held(world.chat_agent, world.chat_lead, day),
    }


def visible(user: Any, sessions: dict[str, CoachingSession]) -> set[str]:
    ids = set(CoachingSession.objects.visible_to(user).values_list("pk", flat=True))
    return {name for name, one in sessions.items() if one.pk in ids}


# --- visibility --------------------------------------------------------------------------------


def test_a_lead_sees_the_sessions_of_their_own_agents_only(
    world: World, sessions: dict[str, CoachingSession]
) -> None:
    assert visible(world.user(world.lead), sessions) == {"agent", "agent2"}
    assert visible(world.user(world.other_lead), sessions) == {"care_b_agent"}


def test_the_chat_lead_sees_nothing_of_care(
    world: World, sessions: dict[str, CoachingSession]
) -> None:
    assert visible(world.user(world.chat_lead), sessions) == {"chat_agent"}
    assert not selectors.sessions_of(user=world.user(world.chat_lead), agent=world.agent).exists()


def test_an_agent_sees_their_own_sessions_only(
    world: World, sessions: dict[str, CoachingSession]
) -> None:
    assert visible(world.user(world.agent), sessions) == {"agent"}


def test_program_staff_see_their_program_and_admins_everything(
    world: World, sessions: dict[str, CoachingSession]
) -> None:
    care = {"agent", "agent2", "care_b_agent"}
    assert visible(world.user(world.manager), sessions) == care
    assert visible(world.user(world.qa), sessions) == care
    assert visible(world.user(world.admin), sessions) == set(sessions)


def test_a_user_with_no_role_sees_nothing(
    world: World, sessions: dict[str, CoachingSession]
) -> None:
    outsider = User.objects.create_user(username="outsider", password="x")
    assert visible(outsider, sessions) == set()


def test_sessions_of_lists_an_agents_sessions_latest_first(
    world: World, sessions: dict[str, CoachingSession]
) -> None:
    older = held(world.agent, world.lead, TODAY - dt.timedelta(days=30))
    listed = list(selectors.sessions_of(user=world.user(world.lead), agent=world.agent))
    assert [one.pk for one in listed] == [sessions["agent"].pk, older.pk]


# --- latest session and cadence ----------------------------------------------------------------


def test_last_session_by_agent_is_each_agents_latest_day_in_one_query(
    world: World, django_assert_num_queries: Any
) -> None:
    held(world.agent, world.lead, TODAY - dt.timedelta(days=40))
    held(world.agent, world.lead, TODAY - dt.timedelta(days=9))
    held(world.agent2, world.lead, TODAY - dt.timedelta(days=2), type=SessionType.HUDDLE)
    ids = [world.agent.pk, world.agent2.pk, world.care_b_agent.pk]
    with django_assert_num_queries(1):
        last = selectors.last_session_by_agent(program=world.care, agent_ids=ids)
    assert last == {
        world.agent.pk: TODAY - dt.timedelta(days=9),
        world.agent2.pk: TODAY - dt.timedelta(days=2),
    }
    assert selectors.last_session_by_agent(program=world.chat, agent_ids=ids) == {}


def test_due_by_cadence_counts_days_since_the_last_individual_session(world: World) -> None:
    """Cadence 14 days: coached 20 days ago is 6 days overdue; 5 days ago, due in 9 days. A
    huddle does not reset the clock; an agent never coached counts from their hire date."""
    world.care_a.coaching_cadence_days = 14
    world.care_a.save()
    held(world.agent, world.lead, TODAY - dt.timedelta(days=20))
    held(world.agent, world.lead, TODAY - dt.timedelta(days=1), type=SessionType.HUDDLE)
    held(world.agent2, world.lead, TODAY - dt.timedelta(days=5))
    due = selectors.due_by_cadence(
        team=world.care_a, agent_ids=[world.agent.pk, world.agent2.pk], today=TODAY
    )
    assert due == {world.agent.pk: 6, world.agent2.pk: -9}


def test_an_agent_never_coached_counts_from_when_they_started_in_the_program(
    world: World,
) -> None:
    """Hired 200 days ago (the personas), but on a care team only since 10 days ago: the later
    day counts. With no hire date, the membership alone."""
    newcomer = org.person_create(
        external_id="N1", name="Nina New", by=None, hire_date=TODAY - dt.timedelta(days=200)
    )
    org.membership_move(
        person=newcomer, team=world.care_a, on=TODAY - dt.timedelta(days=10), by=None
    )
    unknown_hire = org.person_create(external_id="N2", name="Ned New", by=None)
    org.membership_move(
        person=unknown_hire, team=world.care_a, on=TODAY - dt.timedelta(days=30), by=None
    )
    due = selectors.due_by_cadence(
        team=world.care_a,
        agent_ids=[world.agent.pk, newcomer.pk, unknown_hire.pk],
        today=TODAY,
    )
    assert due == {world.agent.pk: 200 - 14, newcomer.pk: 10 - 14, unknown_hire.pk: 30 - 14}


# --- recording one -----------------------------------------------------------------------------


def test_recording_a_session_dates_it_keeps_its_team_and_writes_an_event(world: World) -> None:
    late = dt.datetime(2026, 6, 2, 2, 30, tzinfo=dt.UTC)  # 22:30 on 1 June in New York
    one = session_record(
        program=world.chat,
        agent=world.chat_agent,
        lead=world.chat_lead,
        started_at=late,
        type=SessionType.SIDE_BY_SIDE,
        focus_metric="fcr",
        by=world.user(world.chat_lead),
    )
    assert (one.local_date, one.team, one.external_id) == (dt.date(2026, 6, 1), world.chat_a, "")
    event = Event.objects.get(verb="coaching_session.recorded")
    assert (event.person, event.program, event.target_id) == (world.chat_agent, world.chat, one.pk)


def test_a_lead_of_another_team_may_not_record_a_session(world: World) -> None:
    with pytest.raises(NotAllowed):
        session_record(
            program=world.care,
            agent=world.agent,
            lead=world.other_lead,
            started_at=timezone.now(),
            type=SessionType.ONE_TO_ONE,
            by=world.user(world.other_lead),
        )
    assert not CoachingSession.objects.exists()
    assert not Event.objects.filter(verb="coaching_session.recorded").exists()


@pytest.mark.parametrize(
    ("change", "column"),
    [
        ({"lead": "agent"}, "lead"),
        ({"type": "coffee"}, "type"),
        ({"focus_metric": "happiness"}, "focus_metric"),
        ({"program": "chat"}, "agent"),
    ],
)
def test_a_session_that_makes_no_sense_is_refused(
    world: World, change: dict[str, str], column: str
) -> None:
    fields: dict[str, Any] = {
        "program": world.care,
        "agent": world.agent,
        "lead": world.lead,
        "started_at": timezone.now(),
        "type": SessionType.ONE_TO_ONE,
        "by": None,
    }
    if "lead" in change:
        fields["lead"] = world.agent
    if "program" in change:
        fields["program"] = world.chat
    fields.update({k: v for k, v in change.items() if k in ("type", "focus_metric")})
    with pytest.raises(InvalidInput) as raised:
        session_record(**fields)
    assert raised.value.details[0].column == column
    assert not CoachingSession.objects.exists()


def test_the_database_refuses_two_sessions_with_one_natural_key(world: World) -> None:
    first = held(world.agent, world.lead, TODAY)
    CoachingSession.objects.filter(pk=first.pk).update(source="lms", external_id="X1")
    second = held(world.agent, world.lead, TODAY)
    with transaction.atomic(), pytest.raises(IntegrityError):
        CoachingSession.objects.filter(pk=second.pk).update(source="lms", external_id="X1")
    # Sessions made in the app have no external id: any number of them.
    assert held(world.agent, world.lead, TODAY).external_id == ""
