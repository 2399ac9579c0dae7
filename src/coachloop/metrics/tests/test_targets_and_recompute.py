"""Targets apply from their date on, most specific first (team, then tenure band, then the
program); the rollups are brought up to date by ``coachloop recompute`` and by every import."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.db import connection

from coachloop.core.models import Event
from coachloop.core.personas import World
from coachloop.ingest.tests.helpers import (
    AGENT_DAY_COLUMNS,
    ROSTER_COLUMNS,
    import_text,
    problems,
    table,
)
from coachloop.ingest.tests.helpers import contact as csv_contact
from coachloop.ingest.tests.helpers import contacts as csv_contacts
from coachloop.interactions.models import Interaction, RecomputeMark
from coachloop.metrics import selectors, services
from coachloop.metrics.kpis import Status
from coachloop.metrics.models import AgentDaily, DailyRollup, ProgramDaily
from coachloop.metrics.tests.factories import agent_on, contacts, figures, kpi, rebuild, report
from coachloop.org.models import Person, Team

START, END = dt.date(2026, 10, 1), dt.date(2026, 10, 31)
JANUARY = dt.date(2026, 1, 1)


def aht_target(
    world: World,
    *,
    agent: Person | None = None,
    team: Team | None = None,
    team_id: int | None = None,
) -> float | None:
    """The AHT target that applied to the subject over October."""
    item = kpi(
        agent=agent,
        team=team,
        team_id=team_id,
        program=world.care,
        start=START,
        end=END,
        metric="aht",
    )
    return item.target.value if item.target else None


# --- targets ---------------------------------------------------------------------------------


def test_a_target_changed_later_does_not_rewrite_earlier_weeks(world: World) -> None:
    monday = dt.date(2026, 9, 28)
    assert monday.weekday() == world.care.first_weekday == 0
    for week in range(4):
        contacts(
            40,
            program=world.care,
            agent=world.agent,
            day=monday + dt.timedelta(weeks=week),
            talk_s=380,
        )
    rebuild()
    services.target_set(
        program=world.care, metric="aht", value=400, effective_from=dt.date(2026, 9, 1), by=None
    )
    raised_bar = dt.date(2026, 10, 12)  # a Monday
    services.target_set(
        program=world.care, metric="aht", value=350, effective_from=raised_bar, by=None
    )
    found = report(
        agent=world.agent,
        program=world.care,
        start=monday,
        end=monday + dt.timedelta(days=27),
        metrics=["aht"],
        granularity="week",
    )
    assert found.series is not None
    weeks = [
        (begins, item.value, item.target.value if item.target else None, item.status)
        for begins, (item,) in found.series
    ]
    # The same 380 s is on target against the old 400 and below the new 350.
    assert weeks == [
        (dt.date(2026, 9, 28), 380.0, 400.0, Status.ON_TARGET),
        (dt.date(2026, 10, 5), 380.0, 400.0, Status.ON_TARGET),
        (dt.date(2026, 10, 12), 380.0, 350.0, Status.BELOW_TARGET),
        (dt.date(2026, 10, 19), 380.0, 350.0, Status.BELOW_TARGET),
    ]
    assert found.by_slug()["aht"].as_api()["target"] == 350.0
    september = report(
        agent=world.agent,
        program=world.care,
        start=dt.date(2026, 9, 1),
        end=dt.date(2026, 9, 30),
        metrics=["aht"],
    )
    assert september.by_slug()["aht"].as_api()["target"] == 400.0


def test_a_team_target_beats_the_program_target_for_that_team(world: World) -> None:
    services.target_set(
        program=world.care, metric="aht", value=400, effective_from=JANUARY, by=None
    )
    services.target_set(
        program=world.care,
        metric="aht",
        value=450,
        effective_from=JANUARY,
        team=world.care_b,
        by=world.user(world.manager),
    )
    # A newer program-wide target does not override the team's own.
    services.target_set(
        program=world.care, metric="aht", value=380, effective_from=dt.date(2026, 6, 1), by=None
    )
    assert aht_target(world, team=world.care_b) == 450
    assert aht_target(world, team=world.care_a) == 380
    assert aht_target(world, agent=world.care_b_agent, team_id=world.care_b.pk) == 450
    assert aht_target(world, agent=world.agent, team_id=world.care_a.pk) == 380
    dashboard = selectors.team_dashboard(
        team=world.care_b,
        agents=[world.care_b_agent],
        start=START,
        end=END,
        definitions=selectors.definitions_for(world.care, ["aht"]),
    )
    assert dashboard.total["aht"].as_api()["target"] == 450
    assert dashboard.rows[0].kpis["aht"].as_api()["target"] == 450


def test_a_tenure_band_target_applies_to_new_hires_only(world: World) -> None:
    services.target_set(
        program=world.care, metric="aht", value=400, effective_from=JANUARY, by=None
    )
    services.target_set(
        program=world.care,
        metric="aht",
        value=500,
        effective_from=JANUARY,
        tenure_min_days=0,
        tenure_max_days=90,
        by=None,
    )
    new_hire = agent_on(world.care_a, "N1", hire_date=END - dt.timedelta(days=30))
    ninety_days = agent_on(world.care_a, "N2", hire_date=END - dt.timedelta(days=90))
    assert aht_target(world, agent=new_hire) == 500
    assert aht_target(world, agent=ninety_days) == 400  # the band's end is exclusive
    assert aht_target(world, agent=world.agent) == 400  # hired 200 days before today
    assert aht_target(world, team=world.care_a) == 400  # a team has no tenure


def test_setting_a_target_writes_an_event(world: World) -> None:
    manager = world.user(world.manager)
    target = services.target_set(
        program=world.care, metric="fcr", value=0.75, effective_from=JANUARY, by=manager
    )
    event = Event.objects.get(verb="target.set")
    assert (event.actor, event.program, event.target_id) == (manager, world.care, target.pk)
    assert event.params == {"metric": "fcr", "value": 0.75, "effective_from": "2026-01-01"}
    assert target.created_by == manager


def test_a_lead_may_not_set_a_target_and_nothing_changes(
    world: World, counts: Callable[[], dict[str, int]]
) -> None:
    before = counts()
    with pytest.raises(PermissionDenied):
        services.target_set(
            program=world.care,
            metric="aht",
            value=999,
            effective_from=JANUARY,
            team=world.care_a,
            by=world.user(world.lead),
        )
    assert counts() == before


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"metric": "speed"}, "metric"),
        ({"metric": "aht", "team": "chat_a"}, "team"),
        ({"metric": "occupancy", "value": 0.9, "upper": 0.8}, "upper"),
    ],
    ids=["unknown-metric", "team-of-another-program", "range-upside-down"],
)
def test_a_target_that_cannot_apply_is_refused(
    world: World, counts: Callable[[], dict[str, int]], fields: dict[str, object], field: str
) -> None:
    given = {"value": 400.0, **fields}
    if given.get("team") == "chat_a":
        given["team"] = world.chat_a
    before = counts()
    with pytest.raises(ValidationError) as raised:
        services.target_set(
            program=world.care,
            effective_from=JANUARY,
            by=world.user(world.manager),
            **given,  # type: ignore[arg-type]
        )
    assert set(raised.value.message_dict) == {field}
    assert counts() == before


# --- recompute -------------------------------------------------------------------------------


D1, D2 = dt.date(2026, 10, 5), dt.date(2026, 10, 20)


def alice_aht(world: World) -> tuple[float | None, float, float, float]:
    return figures(kpi(agent=world.agent, program=world.care, start=START, end=END, metric="aht"))


def team_aht(world: World, team: Team) -> tuple[float | None, float, float, float]:
    return figures(kpi(team=team, program=world.care, start=START, end=END, metric="aht"))


def mark(world: World, *days: dt.date) -> None:
    for day in days:
        RecomputeMark.objects.create(program=world.care, date=day, reason="test")


def marked() -> list[dt.date]:
    return sorted(RecomputeMark.objects.values_list("date", flat=True))


def run(*args: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command("recompute", *args, stdout=out, stderr=err)
    return out.getvalue()


def test_recompute_applies_the_pending_marks(world: World) -> None:
    contacts(3, program=world.care, agent=world.agent, day=D1, talk_s=300)
    contacts(1, program=world.care, agent=world.agent, day=D2, talk_s=700)
    mark(world, D1, D2)
    assert not AgentDaily.objects.exists()
    assert alice_aht(world) == (None, 0, 0, 0)
    output = run()
    assert marked() == []
    assert sorted(AgentDaily.objects.values_list("date", "aht_n")) == [(D1, 3.0), (D2, 1.0)]
    assert alice_aht(world) == (400.0, 4, 1600.0, 4)
    assert output.startswith("Recomputed 2 program days in 2 ranges (1 programs)")


def test_recompute_without_marks_changes_nothing(world: World) -> None:
    contacts(3, program=world.care, agent=world.agent, day=D1, talk_s=300)
    output = run()
    assert not DailyRollup.objects.exists()
    assert output.startswith("Recomputed 0 program days in 0 ranges (0 programs)")


def test_recompute_since_rebuilds_from_that_date_on(world: World) -> None:
    contacts(1, program=world.care, agent=world.agent, day=D1, talk_s=300)
    contacts(1, program=world.care, agent=world.agent, day=D2, talk_s=300)
    rebuild()
    # Facts changed behind the rollups' back (a repair in the database), on both days.
    Interaction.objects.update(talk_s=500)
    mark(world, D1, D2)
    run("--since", D2.isoformat())
    assert sorted(AgentDaily.objects.values_list("date", "aht_sum")) == [(D1, 300.0), (D2, 500.0)]
    assert marked() == [D1]  # a mark before the date waits for the next bare run
    run()
    assert alice_aht(world) == (500.0, 2, 1000.0, 2)


def test_recompute_since_leaves_no_rollup_for_a_day_whose_facts_are_gone(world: World) -> None:
    contacts(1, program=world.care, agent=world.agent, day=D1, talk_s=300)
    contacts(1, program=world.care, agent=world.agent, day=D2, talk_s=700)
    rebuild()
    Interaction.objects.filter(local_date=D2).delete()
    run("--since", D1.isoformat())
    assert alice_aht(world) == (300.0, 1, 300.0, 1)
    assert sorted(ProgramDaily.objects.values_list("date", flat=True).distinct()) == [D1]


def test_recompute_with_a_bad_since_names_the_value(world: World) -> None:
    contacts(1, program=world.care, agent=world.agent, day=D1, talk_s=300)
    mark(world, D1)
    with pytest.raises(CommandError, match="'2026-13-01' is not a date YYYY-MM-DD"):
        run("--since", "2026-13-01")
    assert marked() == [D1]
    assert not DailyRollup.objects.exists()


def test_an_import_leaves_kpis_current_without_a_recompute(world: World, tmp_path: Path) -> None:
    first = csv_contacts(
        csv_contact("c1", started_at="2026-10-05T09:00:00Z", talk_s="300", hold_s="60"),
        csv_contact("c2", started_at="2026-10-06T09:00:00Z", talk_s="400", acw_s="20"),
        csv_contact("c3", started_at="2026-10-06T09:30:00Z", answered="false", agent=""),
    )
    assert problems(import_text("interactions", first, tmp_path)) == []
    assert marked() == []
    assert alice_aht(world) == (390.0, 2, 780.0, 2)
    abandoned = figures(kpi(program=world.care, start=START, end=END, metric="abandon_rate"))
    assert abandoned == (1 / 3, 3, 1, 3)
    # A later file corrects c1 and adds a contact: the KPIs follow at once.
    second = csv_contacts(
        csv_contact("c1", started_at="2026-10-05T09:00:00Z", talk_s="100"),
        csv_contact("c4", started_at="2026-10-07T09:00:00Z", talk_s="500", agent="B1"),
    )
    assert problems(import_text("interactions", second, tmp_path, name="second.csv")) == []
    assert marked() == []
    assert alice_aht(world) == (260.0, 2, 520.0, 2)
    bea = kpi(agent=world.care_b_agent, program=world.care, start=START, end=END, metric="aht")
    assert figures(bea) == (500.0, 1, 500.0, 1)


def test_derived_fcr_from_an_import_is_current_at_once(world: World, tmp_path: Path) -> None:
    text = csv_contacts(
        csv_contact(
            "first", customer_ref="K1", call_type="billing", started_at="2026-10-05T09:00:00Z"
        ),
        csv_contact(
            "repeat", customer_ref="K1", call_type="billing", started_at="2026-10-06T09:00:00Z"
        ),
        csv_contact(
            "other", customer_ref="K2", call_type="billing", started_at="2026-10-06T10:00:00Z"
        ),
        csv_contact("anonymous", customer_ref="", started_at="2026-10-06T11:00:00Z"),
    )
    assert problems(import_text("interactions", text, tmp_path)) == []
    fcr = kpi(agent=world.agent, program=world.care, start=START, end=END, metric="fcr")
    # The first contact was repeated within 7 days; the anonymous one has no outcome.
    assert figures(fcr) == (2 / 3, 3, 2, 3)
    provisional = Interaction.objects.filter(
        answered=True, resolved__isnull=True, fcr_derived__isnull=False, fcr_provisional=True
    ).count()
    # All three are within 168 hours of the program's latest contact: provisional.
    assert fcr.provisional_n == provisional == 3
    assert fcr.as_api()["provisional_n"] == 3


def test_an_agent_days_import_leaves_activity_kpis_current(world: World, tmp_path: Path) -> None:
    days = [
        {"agent": "A1", "date": "2026-10-05", "scheduled_s": "28800", "adherent_s": "21600"},
        {"agent": "A1", "date": "2026-10-06", "scheduled_s": "28800", "absent": "y"},
    ]
    assert problems(import_text("agent-days", table(AGENT_DAY_COLUMNS, days), tmp_path)) == []
    assert marked() == []
    adherence = kpi(agent=world.agent, program=world.care, start=START, end=END, metric="adherence")
    assert figures(adherence) == (21_600 / 57_600, 2, 21_600, 57_600)
    attendance = kpi(
        agent=world.agent, program=world.care, start=START, end=END, metric="attendance"
    )
    assert figures(attendance) == (0.5, 2, 1, 2)


def test_a_roster_move_leaves_team_kpis_current(world: World, tmp_path: Path) -> None:
    text = csv_contacts(
        csv_contact("c1", started_at="2026-10-05T09:00:00Z", talk_s="300"),
        csv_contact("c2", started_at="2026-10-20T09:00:00Z", talk_s="500"),
    )
    assert problems(import_text("interactions", text, tmp_path)) == []
    assert team_aht(world, world.care_a) == (400.0, 2, 800.0, 2)
    move = table(
        ROSTER_COLUMNS,
        [
            {
                "external_id": "A1",
                "name": "Alice Agent",
                "email": "a1@example.com",
                "program": "care",
                "team": "care-b",
                "role": "agent",
                "team_since": "2026-10-15",
            }
        ],
    )
    assert problems(import_text("roster", move, tmp_path, name="roster.csv")) == []
    assert marked() == []
    assert team_aht(world, world.care_a) == (300.0, 1, 300.0, 1)
    assert team_aht(world, world.care_b) == (500.0, 1, 500.0, 1)
    assert alice_aht(world) == (400.0, 2, 800.0, 2)  # the agent keeps all of them


def statistics_rows(table: str = "metrics_dailyrollup") -> int:
    """Rows of the planner's statistics about a table."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'")
            if cursor.fetchone() is None:
                return 0
            cursor.execute("SELECT COUNT(*) FROM sqlite_stat1 WHERE tbl = %s", [table])
        else:
            cursor.execute("SELECT COUNT(*) FROM pg_stats WHERE tablename = %s", [table])
        return int(cursor.fetchone()[0])


def test_a_bulk_rebuild_refreshes_the_planners_statistics_and_one_day_does_not(
    world: World,
) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("ANALYZE sqlite_master")  # creates sqlite_stat1, empty
            cursor.execute("DELETE FROM sqlite_stat1")
    contacts(3, program=world.care, agent=world.agent, day=D1, talk_s=300)
    mark(world, D1)
    run()
    if connection.vendor == "sqlite":  # PostgreSQL may hold statistics from earlier tests
        assert statistics_rows() == 0
    first = D1 - dt.timedelta(days=services.BULK_DAYS)
    contacts(3, program=world.care, agent=world.agent, day=first, talk_s=300)
    for offset in range(services.BULK_DAYS + 1):
        RecomputeMark.objects.get_or_create(
            program=world.care, date=first + dt.timedelta(days=offset), defaults={"reason": "test"}
        )
    run()
    assert statistics_rows() > 0
    assert statistics_rows("interactions_interaction") > 0
