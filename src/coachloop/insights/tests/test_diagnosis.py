"""The first cut of the diagnosis (issue 6): how evidence is combined, and a problem the whole
program shares recognised as a program issue, not as anyone's opportunity."""

from __future__ import annotations

import datetime as dt

import pytest

from coachloop.core.personas import World
from coachloop.insights.diagnosis import (
    Side,
    _estimate,
    _stand_out,
    diagnose,
    probability_of,
    program_context,
)
from coachloop.insights.queue import coaching_queue
from coachloop.metrics import services
from coachloop.metrics.tests.factories import contacts

START = dt.date(2026, 10, 1)
END = dt.date(2026, 10, 28)


def side(effect: float, error: float) -> Side:
    return Side("fcr", None, None, 100, effect, error)


def test_a_skill_stands_out_only_when_well_below_the_agents_next_worst_skill() -> None:
    assert _estimate((None, None)) is None
    mean, error = _estimate((side(1.0, 0.5), side(2.0, 0.5)))  # type: ignore[misc]
    assert (mean, error) == (pytest.approx(1.5), pytest.approx(0.5 / 2**0.5))
    clear = {"weak": (2.5, 0.2), "next": (0.5, 0.2), "fine": (0.0, 0.2)}
    assert _stand_out("weak", clear) > 0.99 and _stand_out("next", clear) < 0.01
    # Behind on two skills alike: neither stands out.
    level = {"a": (1.5, 0.2), "b": (1.4, 0.2)}
    assert _stand_out("a", level) < 0.05
    assert probability_of(0.0) == pytest.approx(0.5)


@pytest.mark.django_db
def test_a_drop_the_whole_program_shares_is_a_program_issue_not_an_opportunity(
    world: World,
) -> None:
    agents = (world.agent, world.agent2, world.care_b_agent)
    for offset in range(28):
        day = START + dt.timedelta(days=offset)
        broken = offset >= 14  # the billing process breaks half-way through for everyone
        for agent in agents:
            contacts(
                6,
                program=world.care,
                day=day,
                agent=agent,
                call_type="billing",
                resolved=not broken,
            )
            contacts(
                2, program=world.care, day=day, agent=agent, call_type="billing", resolved=broken
            )
            contacts(8, program=world.care, day=day, agent=agent, call_type="outage", resolved=True)
    services.rollups_rebuild()
    context = program_context(program=world.care, start=START, end=END)
    issues = {(issue.metric, issue.call_type) for issue in context.issues}
    assert ("fcr", "billing") in issues and ("fcr", "outage") not in issues
    issue = next(i for i in context.issues if (i.metric, i.call_type) == ("fcr", "billing"))
    assert issue.gap_kind == "not_controllable" and issue.skill is None
    assert "whole program" in issue.statement
    result = diagnose(agent=world.agent, program=world.care, start=START, end=END, context=context)
    assert not any(o.call_type == "billing" and o.metric == "fcr" for o in result.opportunities)
    assert [i.key for i in result.program_issues] == [i.key for i in context.issues]


def resolved_days(world: World, first: dt.date, days: int, resolved: int, unresolved: int) -> None:
    for offset in range(days):
        day = first + dt.timedelta(days=offset)
        contacts(
            resolved,
            program=world.care,
            day=day,
            agent=world.agent,
            call_type="billing",
            resolved=True,
        )
        contacts(
            unresolved,
            program=world.care,
            day=day,
            agent=world.agent,
            call_type="billing",
            resolved=False,
        )


@pytest.mark.django_db
def test_a_real_improvement_since_the_previous_window_is_a_win_to_open_with(
    world: World,
) -> None:
    resolved_days(world, START - dt.timedelta(days=28), 28, resolved=5, unresolved=5)  # 50%
    resolved_days(world, START, 28, resolved=9, unresolved=1)  # 90%
    services.rollups_rebuild()
    result = diagnose(agent=world.agent, program=world.care, start=START, end=END)
    wins = {w["metric"]: w for w in result.strengths if w["kind"] == "improvement"}
    assert wins["fcr"]["previous"] == pytest.approx(0.5) and wins["fcr"]["value"] == pytest.approx(
        0.9
    )
    assert "improved from 50.0% to 90.0%" in wins["fcr"]["statement"]
    assert not result.dips


@pytest.mark.django_db
def test_a_drop_in_the_last_two_weeks_is_a_dip_that_raises_the_agent_in_the_queue(
    world: World,
) -> None:
    resolved_days(world, START, 14, resolved=9, unresolved=1)
    resolved_days(world, START + dt.timedelta(days=14), 14, resolved=4, unresolved=6)
    services.rollups_rebuild()
    result = diagnose(agent=world.agent, program=world.care, start=START, end=END)
    assert [d["metric"] for d in result.dips] == ["fcr"]
    assert result.dips[0]["value"] == pytest.approx(0.4)
    rows = coaching_queue(
        team=world.care_a, agents=[world.agent, world.agent2], start=START, end=END, today=END
    )
    assert rows[0].agent == world.agent and "dipped to 40.0%" in rows[0].reason
