"""Agent days from the WFM system: one row per agent and date, attributed to the team and
program the agent was on that day."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from coachloop.core.personas import World
from coachloop.ingest.tests.helpers import (
    AGENT_DAY_COLUMNS,
    counts,
    import_text,
    problems,
    table,
)
from coachloop.interactions.models import AgentDay, RecomputeMark
from coachloop.org import services as org

pytestmark = pytest.mark.django_db


def day(agent: str, date: str, **fields: object) -> dict[str, object]:
    return {
        "agent": agent,
        "date": date,
        "scheduled_s": 28800,
        "logged_in_s": 27000,
        "productive_s": 20000,
        "adherent_s": 26000,
        **fields,
    }


@pytest.mark.usefixtures("marks_kept")
def test_agent_days_are_stored_once_per_agent_and_date(world: World, tmp_path: Path) -> None:
    text = table(AGENT_DAY_COLUMNS, [day("A1", "2026-06-01"), day("C1", "2026-06-01", absent="y")])
    first = import_text("agent-days", text, tmp_path)
    assert problems(first) == []
    assert counts(first) == {"read": 2, "new": 2, "updated": 0, "unchanged": 0, "rejected": 0}
    again = import_text("agent-days", text, tmp_path)
    assert counts(again) == {"read": 2, "new": 0, "updated": 0, "unchanged": 2, "rejected": 0}
    stored = {
        d.agent.external_id: (
            d.program.code,
            d.team.code if d.team else None,
            d.scheduled_s,
            d.absent,
        )
        for d in AgentDay.objects.select_related("agent", "program", "team")
    }
    assert stored == {
        "A1": ("care", "care-a", 28800.0, False),
        "C1": ("chat", "chat-a", 28800.0, True),
    }
    assert sorted(RecomputeMark.objects.values_list("program__code", "date")) == [
        ("care", dt.date(2026, 6, 1)),
        ("chat", dt.date(2026, 6, 1)),
    ]


def test_a_changed_day_is_updated_in_place(world: World, tmp_path: Path) -> None:
    import_text("agent-days", table(AGENT_DAY_COLUMNS, [day("A1", "2026-06-01")]), tmp_path)
    batch = import_text(
        "agent-days", table(AGENT_DAY_COLUMNS, [day("A1", "2026-06-01", adherent_s=1)]), tmp_path
    )
    assert counts(batch)["updated"] == 1
    assert AgentDay.objects.get().adherent_s == 1.0


def test_the_team_is_the_one_the_agent_was_on_that_day(world: World, tmp_path: Path) -> None:
    org.membership_move(person=world.agent, team=world.care_b, on=dt.date(2026, 7, 1), by=None)
    text = table(AGENT_DAY_COLUMNS, [day("A1", "2026-06-30"), day("A1", "2026-07-01")])
    import_text("agent-days", text, tmp_path)
    teams = dict(AgentDay.objects.values_list("date", "team__code"))
    assert teams == {dt.date(2026, 6, 30): "care-a", dt.date(2026, 7, 1): "care-b"}


def test_a_person_without_an_agent_role_and_a_repeated_day_are_errors(
    world: World, tmp_path: Path
) -> None:
    text = table(
        AGENT_DAY_COLUMNS,
        [
            day("A1", "2026-06-01"),
            day("M1", "2026-06-01"),
            day("A1", "2026-06-01"),
            day("A1", "01/06/2026"),
            day("A1", "2026-06-02", scheduled_s="-5"),
        ],
    )
    batch = import_text("agent-days", text, tmp_path, on_error="skip")
    assert problems(batch) == [
        (2, "agent", "M1", "an agent of a program (this person has no agent role)"),
        (3, "agent, date", "A1 2026-06-01", "one row per agent and date (row 1 has the same)"),
        (4, "date", "01/06/2026", "a date as YYYY-MM-DD"),
        (5, "scheduled_s", "-5", "a duration from 0 to 86,400 seconds"),
    ]
    assert AgentDay.objects.count() == 1


def test_a_program_manager_imports_agent_days_of_their_programs_only(
    world: World, tmp_path: Path
) -> None:
    text = table(AGENT_DAY_COLUMNS, [day("A1", "2026-06-01"), day("C1", "2026-06-01")])
    batch = import_text("agent-days", text, tmp_path, by=world.user(world.manager), on_error="skip")
    assert problems(batch) == [(2, "agent", "C1", "an agent of a program you may import for")]
    assert list(AgentDay.objects.values_list("agent__external_id", flat=True)) == ["A1"]
