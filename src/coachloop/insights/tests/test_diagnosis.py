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
