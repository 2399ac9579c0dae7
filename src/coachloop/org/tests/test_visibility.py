"""Who sees whom: the rules of CONTRACTS.md ("Visibility"), one sentence per test."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from coachloop.core.personas import World
from coachloop.org import services as org
from coachloop.org.models import Membership, Person, Program, Role, Team
from coachloop.org.scope import forget_scope

pytestmark = pytest.mark.django_db


def visible_people(world: World, viewer: Person) -> set[str]:
    return set(Person.objects.visible_to(world.user(viewer)).values_list("external_id", flat=True))


def visible_agents(world: World, viewer: Person) -> set[str]:
    return set(
        Person.objects.visible_to(world.user(viewer)).agents().values_list("external_id", flat=True)
    )


def test_lead_sees_the_agents_on_their_team_and_not_the_other_team(world: World) -> None:
    assert visible_agents(world, world.lead) == {"A1", "A2"}


def test_lead_of_another_team_in_the_same_program_does_not_see_the_agent(world: World) -> None:
    assert visible_agents(world, world.other_lead) == {"B1"}


def test_lead_of_another_program_sees_nothing_of_this_program(world: World) -> None:
    user = world.user(world.chat_lead)
    assert visible_agents(world, world.chat_lead) == {"C1"}
    assert set(Program.objects.visible_to(user).values_list("code", flat=True)) == {"chat"}
    assert set(Team.objects.visible_to(user).values_list("code", flat=True)) == {"chat-a"}


def test_agent_sees_only_themselves(world: World) -> None:
    assert visible_people(world, world.agent) == {"A1"}
    assert set(Team.objects.visible_to(world.user(world.agent)).values_list("code", flat=True)) == {
        "care-a"
    }


def test_qa_analyst_and_manager_see_their_whole_program_only(world: World) -> None:
    for viewer in (world.qa, world.manager):
        assert visible_agents(world, viewer) == {"A1", "A2", "B1"}
        user = world.user(viewer)
        assert set(Program.objects.visible_to(user).values_list("code", flat=True)) == {"care"}
        assert set(Team.objects.visible_to(user).values_list("code", flat=True)) == {
            "care-a",
            "care-b",
        }


def test_org_admin_sees_everything(world: World) -> None:
    assert visible_agents(world, world.admin) == {"A1", "A2", "B1", "C1"}
    assert Program.objects.visible_to(world.user(world.admin)).count() == 2


def test_a_django_superuser_without_a_person_counts_as_org_admin(world: World) -> None:
    root = User.objects.create_superuser("root", "root@example.com", "x-long-password-1")
    assert Person.objects.visible_to(root).agents().count() == 4


def test_an_anonymous_or_inactive_user_sees_nothing(world: World) -> None:
    from django.contrib.auth.models import AnonymousUser

    assert not Person.objects.visible_to(AnonymousUser()).exists()
    user = world.user(world.admin)
    user.is_active = False
    forget_scope(user)
    assert not Person.objects.visible_to(user).exists()


def test_a_user_without_a_role_sees_no_one_else(world: World) -> None:
    nobody = org.person_create(external_id="N1", name="No Role", by=None)
    user = org.person_user_create(person=nobody, username="n1", by=None, password="pw-long-enough")
    assert set(Person.objects.visible_to(user).values_list("external_id", flat=True)) == {"N1"}
    assert not Program.objects.visible_to(user).exists()


def test_a_lead_sees_an_agent_who_joined_their_team_with_history_in_their_program(
    world: World,
) -> None:
    today = timezone.localdate()
    org.membership_move(person=world.care_b_agent, team=world.care_a, on=today, by=None)
    assert "B1" in visible_agents(world, world.lead)
    history = Membership.objects.visible_to(world.user(world.lead)).filter(
        person=world.care_b_agent
    )
    assert [m.team.code for m in history.order_by("valid_from")] == ["care-b", "care-a"]
    # ...and the lead they left no longer sees them.
    assert "B1" not in visible_agents(world, world.other_lead)


def test_history_in_another_program_stays_hidden_from_the_new_lead(world: World) -> None:
    today = timezone.localdate()
    org.membership_move(person=world.chat_agent, team=world.care_a, on=today, by=None)
    history = Membership.objects.visible_to(world.user(world.lead)).filter(person=world.chat_agent)
    assert [m.team.code for m in history] == ["care-a"]


def test_an_ended_role_no_longer_gives_visibility(world: World) -> None:
    assignment = world.manager.roles.get(role=Role.MANAGER)
    org.role_end(assignment=assignment, on=timezone.localdate() - dt.timedelta(days=1), by=None)
    assert visible_people(world, world.manager) == {"M1"}


def test_a_person_with_two_roles_sees_the_union(world: World) -> None:
    org.role_grant(person=world.chat_lead, role=Role.QA, program=world.care, by=None)
    assert visible_agents(world, world.chat_lead) == {"A1", "A2", "B1", "C1"}
