"""Running totals serve any window's per-agent and per-team sums with two rows per agent; they
must give exactly what summing the days gives, also after an incremental rebuild."""

from __future__ import annotations

import datetime as dt

import pytest

from coachloop.core.personas import World
from coachloop.interactions.models import RecomputeMark
from coachloop.metrics import selectors, services
from coachloop.metrics.models import CallTypeRunningTotal, RunningTotal
from coachloop.metrics.tests.factories import contacts, rebuild

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 10, 1)


def _window_by_days(world: World, key: str, start: dt.date, end: dt.date) -> dict[int, float]:
    """The handled contacts per agent or team, summed straight from the daily rollup."""
    rows = selectors.grouped_sums(
        selectors.AgentDaily,
        {"program_id": world.care.pk, "date__gte": start, "date__lte": end},
        [key],
        ["handled"],
    )
    return {dims[key]: sums["handled"] for dims, sums in rows if sums["handled"]}


def _window_by_running_totals(
    world: World, key: str, start: dt.date, end: dt.date
) -> dict[int, float]:
    sums = selectors.window_sums_by(
        key, program=world.care, start=start, end=end, measures=["handled"]
    )
    return {pk: row["handled"] for pk, row in sums.items() if row["handled"]}


def test_running_totals_give_each_window_the_sums_of_its_days(world: World) -> None:
    # Given contacts on scattered days for three agents on two teams
    for offset, agent, count in [
        (0, world.agent, 3),
        (2, world.agent2, 5),
        (2, world.agent, 1),
        (9, world.care_b_agent, 4),
        (15, world.agent, 2),
    ]:
        contacts(count, program=world.care, day=DAY + dt.timedelta(days=offset), agent=agent)
    rebuild()

    # Then every window, including ones starting before the data and ending after it
    for start_offset, end_offset in [(0, 0), (0, 20), (1, 9), (2, 2), (3, 8), (-5, 30), (16, 40)]:
        start, end = DAY + dt.timedelta(days=start_offset), DAY + dt.timedelta(days=end_offset)
        for key in ("agent_id", "team_id"):
            assert _window_by_running_totals(world, key, start, end) == _window_by_days(
                world, key, start, end
            ), (key, start_offset, end_offset)


def test_an_import_of_an_earlier_day_carries_forward_into_later_totals(world: World) -> None:
    # Given totals built over two days
    contacts(2, program=world.care, day=DAY, agent=world.agent)
    contacts(3, program=world.care, day=DAY + dt.timedelta(days=5), agent=world.agent)
    rebuild()
    # When a contact arrives for a day in between, and only its day is marked and rebuilt
    contacts(4, program=world.care, day=DAY + dt.timedelta(days=2), agent=world.agent)
    RecomputeMark.objects.create(program=world.care, date=DAY + dt.timedelta(days=2))
    services.rollups_apply_marks()

    # Then the last day's running total holds all nine contacts, and windows still add up
    last = RunningTotal.objects.get(
        program=world.care, agent=world.agent, date=DAY + dt.timedelta(days=5)
    )
    assert last.handled == 9
    end = DAY + dt.timedelta(days=5)
    assert _window_by_running_totals(world, "agent_id", DAY + dt.timedelta(days=1), end) == {
        world.agent.pk: 7.0
    }


def test_a_full_rebuild_after_every_fact_is_gone_leaves_no_running_total(world: World) -> None:
    contacts(2, program=world.care, day=DAY, agent=world.agent)
    rebuild()
    assert RunningTotal.objects.filter(program=world.care).exists()

    from coachloop.interactions.models import Interaction

    Interaction.objects.all().delete()
    rebuild()

    assert not RunningTotal.objects.filter(program=world.care).exists()
    assert not CallTypeRunningTotal.objects.filter(program=world.care).exists()
    assert _window_by_running_totals(world, "agent_id", DAY, DAY) == {}


def _per_call_type_by_days(
    world: World, key: str, start: dt.date, end: dt.date
) -> dict[tuple[int, str], float]:
    rows = selectors.grouped_sums(
        selectors.DailyRollup,
        {
            "program_id": world.care.pk,
            "excluded": False,
            f"{key}__isnull": False,
            "date__gte": start,
            "date__lte": end,
        },
        [key, "call_type"],
        ["handled"],
    )
    return {(d[key], d["call_type"]): s["handled"] for d, s in rows if s["handled"]}


def _per_call_type_by_running_totals(
    world: World, key: str, start: dt.date, end: dt.date, ids: list[int]
) -> dict[tuple[int, str], float]:
    rows = selectors.call_type_window_rows(
        key, program=world.care, start=start, end=end, measures=["handled"], ids=ids
    )
    return {
        (id_, dims["call_type"]): sums["handled"]
        for id_, found in rows.items()
        for dims, sums in found
        if sums["handled"]
    }


def test_call_type_running_totals_give_each_window_the_sums_of_its_days_per_call_type(
    world: World,
) -> None:
    # Given contacts of two call types on scattered days, one day marked again later
    for offset, agent, count, call_type in [
        (0, world.agent, 3, "billing"),
        (2, world.agent2, 5, "tech"),
        (2, world.agent, 1, "tech"),
        (9, world.care_b_agent, 4, "billing"),
        (15, world.agent, 2, "billing"),
    ]:
        contacts(
            count,
            program=world.care,
            day=DAY + dt.timedelta(days=offset),
            agent=agent,
            call_type=call_type,
        )
    rebuild()
    contacts(6, program=world.care, day=DAY + dt.timedelta(days=5), agent=world.agent2)
    RecomputeMark.objects.create(program=world.care, date=DAY + dt.timedelta(days=5))
    services.rollups_apply_marks()

    # Then every window gives what summing its days per call type gives
    agents = [world.agent.pk, world.agent2.pk, world.care_b_agent.pk]
    teams = [world.care_a.pk, world.care_b.pk]
    for start_offset, end_offset in [(0, 0), (0, 20), (1, 9), (2, 2), (3, 8), (-5, 30), (16, 40)]:
        start, end = DAY + dt.timedelta(days=start_offset), DAY + dt.timedelta(days=end_offset)
        for key, ids in (("agent_id", agents), ("team_id", teams)):
            assert _per_call_type_by_running_totals(
                world, key, start, end, ids
            ) == _per_call_type_by_days(world, key, start, end), (key, start_offset, end_offset)
