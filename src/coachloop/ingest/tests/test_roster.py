"""The roster: people, their ids in other systems, roles and teams, with history."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from coachloop.core.personas import World
from coachloop.ingest.models import BatchStatus
from coachloop.ingest.tests.helpers import ROSTER_COLUMNS, counts, import_text, problems, table
from coachloop.org.models import (
    ExternalId,
    Membership,
    Person,
    Program,
    Role,
    RoleAssignment,
    Site,
    Team,
)

pytestmark = pytest.mark.django_db

COLUMNS = [*ROSTER_COLUMNS, "external_id:acd", "external_id:wfm"]


def person(external_id: str, **fields: Any) -> dict[str, Any]:
    return {"external_id": external_id, "name": f"Person {external_id}", **fields}


def roster(*rows: dict[str, Any]) -> str:
    return table(COLUMNS, list(rows))


SALES = roster(
    person(
        "S1",
        program="sales",
        site="madrid",
        team="sales-a",
        role="agent",
        hire_date="2026-01-05",
        team_since="2026-01-05",
        email="s1@example.com",
        **{"external_id:acd": "acd-S1", "external_id:wfm": "w-1"},
    ),
    person(
        "S2", program="sales", site="madrid", team="sales-a", role="agent", hire_date="2026-02-01"
    ),
    person("SL", program="sales", site="madrid", team="sales-a", role="lead"),
    person("SL", program="sales", site="madrid", team="sales-a", role="agent"),
    person("SQ", program="sales", role="qa"),
    person("SM", program="sales", role="manager"),
)


def roles() -> set[tuple[str, str, str | None, str | None]]:
    return {
        (
            r.person.external_id,
            r.role,
            r.program.code if r.program else None,
            r.team.code if r.team else None,
        )
        for r in RoleAssignment.objects.filter(person__external_id__startswith="S").select_related(
            "person", "program", "team"
        )
    }


def test_an_org_admins_roster_creates_programs_sites_teams_and_people(
    world: World, tmp_path: Path
) -> None:
    batch = import_text("roster", SALES, tmp_path)
    assert problems(batch) == []
    assert counts(batch) == {"read": 6, "new": 6, "updated": 0, "unchanged": 0, "rejected": 0}
    sales = Program.objects.get(code="sales")
    team = Team.objects.get(code="sales-a")
    assert (team.program, team.site) == (sales, Site.objects.get(code="madrid"))
    assert roles() == {
        ("S1", Role.AGENT, "sales", None),
        ("S2", Role.AGENT, "sales", None),
        ("SL", Role.LEAD, "sales", "sales-a"),
        ("SL", Role.AGENT, "sales", None),
        ("SQ", Role.QA, "sales", None),
        ("SM", Role.MANAGER, "sales", None),
    }
    s1 = Person.objects.get(external_id="S1")
    assert (s1.name, s1.email, s1.hire_date) == ("Person S1", "s1@example.com", dt.date(2026, 1, 5))
    assert sorted(ExternalId.objects.filter(person=s1).values_list("source", "external_id")) == [
        ("acd", "acd-S1"),
        ("canonical", "S1"),
        ("wfm", "w-1"),
    ]
    memberships = Membership.objects.filter(person__external_id__in=["S1", "S2"])
    assert sorted(memberships.values_list("person__external_id", "team__code", "valid_from")) == [
        ("S1", "sales-a", dt.date(2026, 1, 5)),
        ("S2", "sales-a", dt.date(2026, 2, 1)),
    ]
    assert list(batch.programs.all()) == [sales]


def test_the_same_roster_again_changes_nothing(world: World, tmp_path: Path) -> None:
    import_text("roster", SALES, tmp_path)
    people = list(Person.objects.order_by("pk").values())
    again = import_text("roster", SALES, tmp_path)
    assert counts(again) == {"read": 6, "new": 0, "updated": 0, "unchanged": 6, "rejected": 0}
    assert list(Person.objects.order_by("pk").values()) == people


def test_a_team_move_keeps_the_history(world: World, tmp_path: Path) -> None:
    text = roster(
        person(
            "A1",
            name="Alice Agent",
            email="a1@example.com",
            program="care",
            team="care-b",
            role="agent",
            team_since="2026-09-01",
        )
    )
    batch = import_text("roster", text, tmp_path)
    assert problems(batch) == []
    assert counts(batch)["updated"] == 1
    history = Membership.objects.filter(person=world.agent).order_by("valid_from")
    assert [(m.team.code, m.valid_from, m.valid_to) for m in history] == [
        ("care-a", world.agent.hire_date, dt.date(2026, 9, 1)),
        ("care-b", dt.date(2026, 9, 1), None),
    ]


def test_a_termination_ends_the_persons_team_membership(world: World, tmp_path: Path) -> None:
    text = roster(
        person(
            "A2",
            name="Aaron Agent",
            email="a2@example.com",
            program="care",
            team="care-a",
            role="agent",
            termination_date="2026-10-31",
            termination_reason="resigned",
        )
    )
    batch = import_text("roster", text, tmp_path)
    assert problems(batch) == []
    world.agent2.refresh_from_db()
    assert (world.agent2.termination_date, world.agent2.termination_reason) == (
        dt.date(2026, 10, 31),
        "resigned",
    )
    assert Membership.objects.get(person=world.agent2).valid_to == dt.date(2026, 10, 31)


def test_a_program_manager_cannot_create_programs_or_teams(world: World, tmp_path: Path) -> None:
    text = roster(
        person("N1", program="sales", role="agent"),
        person("N2", program="care", team="care-z", role="agent"),
        person("N3", program="chat", role="agent"),
        person("N4", program="care", team="care-a", role="agent", hire_date="2026-11-01"),
    )
    batch = import_text("roster", text, tmp_path, by=world.user(world.manager), on_error="skip")
    assert problems(batch) == [
        (1, "program", "sales", "an existing program (only org admins create programs)"),
        (2, "team", "care-z", "an existing team (only org admins create teams)"),
        (3, "program", "chat", "a program you may import for"),
    ]
    assert not Program.objects.filter(code="sales").exists()
    assert not Team.objects.filter(code="care-z").exists()
    assert list(
        Person.objects.filter(external_id__startswith="N").values_list("external_id", flat=True)
    ) == ["N4"]


def test_a_rejected_roster_changes_nothing(world: World, tmp_path: Path) -> None:
    text = roster(
        person("N1", program="sales", team="sales-a", role="agent"),
        person("N2", program="sales", role="boss"),
    )
    batch = import_text("roster", text, tmp_path)
    assert batch.status == BatchStatus.REJECTED
    assert problems(batch) == [(2, "role", "boss", "one of agent, lead, qa, manager")]
    assert not Program.objects.filter(code="sales").exists()
    assert not Person.objects.filter(external_id="N1").exists()


def test_a_failed_row_does_not_leave_a_half_created_program_behind(
    world: World, tmp_path: Path
) -> None:
    # Row 1 creates the program, then fails (a lead needs a team): its program is rolled back
    # with it, and row 2 creates it again.
    text = roster(
        person("N1", program="sales", role="lead"),
        person("N2", program="sales", role="agent"),
    )
    batch = import_text("roster", text, tmp_path, on_error="skip")
    assert problems(batch) == [(1, "team", "", "the team a lead leads")]
    assert RoleAssignment.objects.get(person__external_id="N2").program == Program.objects.get(
        code="sales"
    )


def test_a_duplicate_roster_row_is_an_error(world: World, tmp_path: Path) -> None:
    text = roster(
        person("N1", program="care", team="care-a", role="agent"),
        person("N1", program="care", team="care-a", role="agent"),
    )
    batch = import_text("roster", text, tmp_path, on_error="skip")
    assert problems(batch) == [
        (2, "external_id", "N1", "one row per person, role, program and team (row 1 has the same)")
    ]


@pytest.mark.usefixtures("marks_kept")
def test_a_late_team_move_moves_the_contacts_and_days_since_then(
    world: World, tmp_path: Path
) -> None:
    from coachloop.ingest.tests.helpers import AGENT_DAY_COLUMNS, contact, contacts
    from coachloop.interactions.models import AgentDay, Interaction, RecomputeMark

    text = contacts(
        contact("june", started_at="2026-06-30T09:00:00Z"),
        contact("july", started_at="2026-07-02T09:00:00Z"),
    )
    import_text("interactions", text, tmp_path)
    days = [{"agent": "A1", "date": "2026-06-30"}, {"agent": "A1", "date": "2026-07-02"}]
    import_text("agent-days", table(AGENT_DAY_COLUMNS, days), tmp_path)
    RecomputeMark.objects.all().delete()
    move = roster(
        person(
            "A1",
            name="Alice Agent",
            email="a1@example.com",
            program="care",
            team="care-b",
            role="agent",
            team_since="2026-07-01",
        )
    )
    batch = import_text("roster", move, tmp_path)
    assert problems(batch) == []
    assert dict(Interaction.objects.values_list("external_id", "team__code")) == {
        "june": "care-a",
        "july": "care-b",
    }
    assert dict(AgentDay.objects.values_list("date", "team__code")) == {
        dt.date(2026, 6, 30): "care-a",
        dt.date(2026, 7, 2): "care-b",
    }
    assert list(RecomputeMark.objects.values_list("date", flat=True)) == [dt.date(2026, 7, 2)]


def test_a_roster_finds_an_agent_first_met_in_an_acd_export_by_their_acd_id(
    world: World, tmp_path: Path
) -> None:
    from coachloop.ingest.tests.helpers import contact, contacts
    from coachloop.interactions.models import Interaction

    import_text(
        "interactions",
        contacts(contact("c1", agent="acd-77", started_at="2026-09-02T09:00:00Z")),
        tmp_path,
        mapping='[source]\nname = "acd"\n',
        create_missing_agents=True,
    )
    text = roster(
        person(
            "E77",
            name="Eve Seven",
            program="care",
            team="care-a",
            role="agent",
            team_since="2026-09-01",
            **{"external_id:acd": "acd-77"},
        )
    )
    batch = import_text("roster", text, tmp_path)
    assert problems(batch) == []
    assert counts(batch) == {"read": 1, "new": 0, "updated": 1, "unchanged": 0, "rejected": 0}
    eve = Person.objects.get(name="Eve Seven")
    assert sorted(eve.external_ids.values_list("source", "external_id")) == [
        ("acd", "acd-77"),
        ("canonical", "E77"),
    ]
    assert Interaction.objects.get().team == world.care_a


def test_an_empty_cell_does_not_clear_what_is_known(world: World, tmp_path: Path) -> None:
    text = roster(person("A1", name="Alice Agent", program="care", team="care-a", role="agent"))
    batch = import_text("roster", text, tmp_path)
    assert counts(batch)["unchanged"] == 1
    world.agent.refresh_from_db()
    assert world.agent.email == "a1@example.com"


def test_a_program_manager_cannot_change_a_person_of_another_program(
    world: World, tmp_path: Path
) -> None:
    # C1 works in chat; the care manager names them on a care team with a new name.
    text = roster(person("C1", program="care", team="care-a", role="agent", name="Renamed"))
    batch = import_text("roster", text, tmp_path, by=world.user(world.manager))
    assert batch.status == BatchStatus.REJECTED
    assert problems(batch)[0][:3] == (1, "external_id", "C1")
    world.chat_agent.refresh_from_db()
    assert world.chat_agent.name == "Carl Chat"
    assert world.chat_agent.memberships.get(valid_to__isnull=True).team == world.chat_a
