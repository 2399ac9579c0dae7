"""Writes to the organization: validation, history kept, events recorded."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from coachloop.core.errors import Conflict, InvalidInput
from coachloop.core.models import Event
from coachloop.core.personas import World
from coachloop.org import services as org
from coachloop.org.models import ExternalId, Membership, Role, RoleAssignment
from coachloop.org.selectors import person_team_on

pytestmark = pytest.mark.django_db


def later(world: World) -> dt.date:
    """A day well after the personas joined their teams, before today."""
    assert world.agent.hire_date is not None
    return world.agent.hire_date + dt.timedelta(days=100)


def test_moving_an_agent_keeps_the_history_and_attributes_days_to_the_team_at_the_time(
    world: World,
) -> None:
    day = later(world)
    org.membership_move(person=world.agent, team=world.care_b, on=day, by=None)
    memberships = list(Membership.objects.filter(person=world.agent).order_by("valid_from"))
    assert [(m.team.code, m.valid_to) for m in memberships] == [("care-a", day), ("care-b", None)]
    assert person_team_on(person=world.agent, day=day - dt.timedelta(days=1)) == world.care_a
    assert person_team_on(person=world.agent, day=day) == world.care_b


def test_a_move_dated_before_the_current_team_is_refused_with_the_field_named(
    world: World,
) -> None:
    start = Membership.objects.get(person=world.agent).valid_from
    with pytest.raises(InvalidInput) as error:
        org.membership_move(
            person=world.agent, team=world.care_b, on=start - dt.timedelta(days=1), by=None
        )
    assert error.value.details[0].column == "team_since"
    assert Membership.objects.filter(person=world.agent).count() == 1


def test_moving_to_another_program_makes_the_agent_an_agent_there(world: World) -> None:
    day = later(world)
    org.membership_move(person=world.agent, team=world.chat_a, on=day, by=None)
    programs = set(
        RoleAssignment.objects.filter(person=world.agent, role=Role.AGENT).values_list(
            "program__code", flat=True
        )
    )
    assert programs == {"care", "chat"}


def test_terminating_a_person_ends_their_team_membership(world: World) -> None:
    day = later(world)
    org.person_terminate(person=world.agent, on=day, reason="resigned", by=None)
    world.agent.refresh_from_db()
    assert (world.agent.termination_date, world.agent.termination_reason) == (day, "resigned")
    assert Membership.objects.get(person=world.agent).valid_to == day
    assert not world.agent.is_active_on(day)


def test_an_external_id_belongs_to_one_person_per_source(world: World) -> None:
    with pytest.raises(Conflict):
        org.person_set_external_id(person=world.agent2, source="acd", external_id="acd-A1", by=None)
    # The same id in another source system is a different id.
    org.person_set_external_id(person=world.agent2, source="wfm", external_id="acd-A1", by=None)
    assert ExternalId.objects.filter(external_id="acd-A1").count() == 2


def test_a_person_has_one_id_per_source_and_it_can_change(world: World) -> None:
    org.person_set_external_id(person=world.agent, source="acd", external_id="9001", by=None)
    assert list(
        world.agent.external_ids.filter(source="acd").values_list("external_id", flat=True)
    ) == ["9001"]


def test_the_database_refuses_a_second_open_membership(world: World) -> None:
    day = later(world)
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(person=world.agent, team=world.care_b, valid_from=day)


def test_the_database_refuses_a_lead_without_a_team(world: World) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        RoleAssignment.objects.create(person=world.qa, role=Role.LEAD, program=world.care)


def test_a_lead_role_needs_a_team(world: World) -> None:
    with pytest.raises(InvalidInput):
        org.role_grant(person=world.qa, role=Role.LEAD, by=None)


def test_granting_a_role_twice_changes_nothing(world: World) -> None:
    before = RoleAssignment.objects.count(), Event.objects.count()
    org.role_grant(person=world.qa, role=Role.QA, program=world.care, by=None)
    assert (RoleAssignment.objects.count(), Event.objects.count()) == before


def test_an_unknown_timezone_is_refused_with_the_value(world: World) -> None:
    with pytest.raises(InvalidInput) as error:
        org.program_create(code="x", name="X", timezone="Mars/Olympus", by=None)
    assert error.value.details[0].value == "Mars/Olympus"


def test_duplicate_codes_are_a_conflict(world: World) -> None:
    with pytest.raises(Conflict):
        org.team_create(program=world.care, code="care-a", name="Again", by=None)


def test_services_record_events_with_actor_program_and_person(world: World) -> None:
    day = later(world)
    actor = world.user(world.admin)
    org.membership_move(person=world.agent, team=world.care_b, on=day, by=actor)
    event = Event.objects.filter(verb="membership.moved").latest("id")
    assert event.actor == actor
    assert event.program == world.care
    assert event.person == world.agent
    assert event.params == {"team": "care-b", "from_team": "care-a", "on": day.isoformat()}


def test_events_are_visible_by_program_and_person(world: World) -> None:
    day = later(world)
    org.membership_move(person=world.chat_agent, team=world.chat_a, on=day, by=None)
    org.person_set_external_id(
        person=world.agent, source="hr", external_id="HR-1", by=None, program=world.care
    )
    lead_sees = Event.objects.visible_to(world.user(world.lead))
    assert lead_sees.filter(verb="person.external_id_set", person=world.agent).exists()
    assert not lead_sees.filter(program=world.chat).exists()
    assert (
        not Event.objects.visible_to(world.user(world.other_lead))
        .filter(person=world.agent)
        .exists()
    )
    agent_sees = Event.objects.visible_to(world.user(world.agent))
    assert set(agent_sees.values_list("person__external_id", flat=True)) == {"A1"}


def test_moving_to_another_program_ends_the_agent_role_in_the_old_one(world: World) -> None:
    day = later(world)
    org.membership_move(person=world.chat_agent, team=world.care_a, on=day, by=None)
    chat_role = RoleAssignment.objects.get(person=world.chat_agent, program=world.chat)
    assert chat_role.ended_on == day
    # The chat lead no longer sees them, and the care lead does.
    from coachloop.org.models import Person

    assert (
        not Person.objects.visible_to(world.user(world.chat_lead))
        .filter(pk=world.chat_agent.pk)
        .exists()
    )
    assert Person.objects.visible_to(world.user(world.lead)).filter(pk=world.chat_agent.pk).exists()
