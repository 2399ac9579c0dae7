"""The diagnosis (issue 6): the measurement model's parts, how a skill stands out from the
agent's profile, and a problem the whole program shares recognised as a program issue, not as
anyone's opportunity."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from coachloop.core.personas import World
from coachloop.insights.diagnosis import (
    Reading,
    _pooled,
    diagnose,
    probability_of,
    program_context,
    shrunk,
    skill_model,
    stand_out,
)
from coachloop.insights.queue import coaching_queue
from coachloop.metrics import services
from coachloop.metrics.tests.factories import contacts
from coachloop.org.models import Person

START = dt.date(2026, 10, 1)
END = dt.date(2026, 10, 28)


def test_a_skill_stands_out_only_when_well_below_the_agents_next_worst_skill() -> None:
    assert _pooled([Reading(1.0, 0.5), Reading(2.0, 0.5)]) == Reading(
        pytest.approx(1.5), pytest.approx(0.5 / 2**0.5)
    )
    clear = {"weak": Reading(2.5, 0.2), "next": Reading(0.5, 0.2), "fine": Reading(0.0, 0.2)}
    assert stand_out("weak", clear) > 0.99 and stand_out("next", clear) < 0.01
    # Behind on two skills alike: neither stands out.
    level = {"a": Reading(1.5, 0.2), "b": Reading(1.4, 0.2)}
    assert stand_out("a", level) < 0.05
    assert probability_of(0.0) == pytest.approx(0.5)


def test_a_noisy_reading_is_pulled_toward_the_agents_level_more_than_a_precise_one() -> None:
    beliefs = shrunk(
        {"noisy": Reading(2.0, 1.0), "precise": Reading(1.8, 0.1), "fine": Reading(0.0, 0.1)},
        specific_variance=0.6,
    )
    # Read from a handful of answers, the bigger gap is no longer the first.
    assert beliefs["precise"].gap > beliefs["noisy"].gap
    assert beliefs["noisy"].error < 1.0
    assert shrunk({"a": Reading(1.0, 1.0)}, None) == {"a": Reading(1.0, 1.0)}


def test_a_metric_reads_the_skill_whose_qa_answers_it_goes_with() -> None:
    """Thirty agents with independent skills: a metric that moves with "calm" reads "calm",
    with a loading near 1, and a metric that moves with both skills alike reads neither."""
    rng = random.Random(7)
    calm = {agent: rng.gauss(0, 1) for agent in range(30)}
    tidy = {agent: rng.gauss(0, 1) for agent in range(30)}
    credits = {}
    for key, skill in (("calms", calm), ("notes", tidy)):
        credits[key] = {}
        for agent, level in skill.items():
            answers = [min(max(0.5 - 0.2 * level + rng.gauss(0, 0.1), 0), 1) for _ in range(20)]
            credits[key][agent] = (20.0, sum(answers), sum(a * a for a in answers))
    model = skill_model(
        credits=credits,
        criterion_skills={"calms": ("calm",), "notes": ("tidy",)},
        metric_readings={
            ("escalation_rate", ""): {a: Reading(calm[a], 0.05) for a in calm},
            ("csat", ""): {a: Reading((calm[a] + tidy[a]) / 2, 0.05) for a in calm},
        },
    )
    skill, loading = model.drivers[("escalation_rate", "")]
    assert skill == "calm" and loading == pytest.approx(1.0, abs=0.3)
    assert ("csat", "") not in model.drivers
    worst = max(calm, key=lambda agent: calm[agent])
    assert model.estimates[worst]["calm"].gap > 1.5


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


@pytest.mark.django_db
def test_a_longer_team_costs_the_queue_no_more_queries(world: World) -> None:
    """The agents' KPIs are read together and only a significant top opportunity is given its
    evidence: no query per agent (the guard against N+1 as teams grow)."""
    for agent in (world.agent, world.agent2):
        for offset in range(28):
            day = START + dt.timedelta(days=offset)
            contacts(6, program=world.care, day=day, agent=agent, call_type="billing")
    services.rollups_rebuild()

    def queries_for(agents: list[Person]) -> int:
        with CaptureQueriesContext(connection) as captured:
            rows = coaching_queue(team=world.care_a, agents=agents, start=START, end=END, today=END)
        assert [row.agent for row in rows if row.top_opportunity] == []
        return len(captured.captured_queries)

    queries_for([world.agent])  # builds and keeps the program's context
    assert queries_for([world.agent]) == queries_for([world.agent, world.agent2])
