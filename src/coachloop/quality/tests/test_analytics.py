"""Weakest criteria and skills: which behaviours an agent or team fails more than peers."""

from __future__ import annotations

import pytest

from coachloop.core.personas import World
from coachloop.metrics.stats import Posterior
from coachloop.org.models import Person
from coachloop.quality.analytics import (
    probability_greater,
    program_pass_rates,
    weakest,
)
from coachloop.quality.models import Scorecard
from coachloop.quality.tests.factories import (
    DAY,
    answers_for,
    handled_contact,
    small_scorecard,
    submitted_evaluation,
)

pytestmark = pytest.mark.django_db


def evaluations(world: World, scorecard: Scorecard, agent: Person, *, failed: int, of: int) -> None:
    """``of`` evaluations of the agent, of which ``failed`` fail "verifies" (yes/no)."""
    for index in range(of):
        verifies = "no" if index < failed else "yes"
        submitted_evaluation(
            world,
            scorecard=scorecard,
            interaction=handled_contact(world, agent=agent, transcript=False),
            answers={**answers_for(scorecard), "verifies": verifies},
        )


def test_the_criterion_an_agent_fails_far_more_than_peers_comes_first(world: World) -> None:
    scorecard = small_scorecard()
    evaluations(world, scorecard, world.agent, failed=8, of=10)
    evaluations(world, scorecard, world.agent2, failed=1, of=10)
    evaluations(world, scorecard, world.care_b_agent, failed=1, of=10)
    rates = weakest(program=world.care, start=DAY, end=DAY, agent_id=world.agent.pk)
    top = rates[0]
    assert (top.key, top.n, top.failed, top.peer_n, top.peer_failed) == ("verifies", 10, 8, 20, 2)
    assert top.flagged and top.probability_worse is not None and top.probability_worse > 0.95
    assert top.skills == ("verification",) and top.label == "Verifies identity"
    assert not any(rate.flagged for rate in rates[1:])


def test_a_peer_who_fails_as_often_as_everyone_is_not_flagged(world: World) -> None:
    scorecard = small_scorecard()
    for agent in (world.agent, world.agent2, world.care_b_agent):
        evaluations(world, scorecard, agent, failed=2, of=6)
    rates = weakest(program=world.care, start=DAY, end=DAY, agent_id=world.agent2.pk)
    assert not any(rate.flagged for rate in rates)


def test_skills_pool_the_criteria_linked_to_them(world: World) -> None:
    scorecard = small_scorecard()
    evaluations(world, scorecard, world.agent, failed=5, of=5)
    evaluations(world, scorecard, world.care_b_agent, failed=0, of=5)
    skills = {
        r.key: r
        for r in weakest(
            program=world.care, start=DAY, end=DAY, agent_id=world.agent.pk, by_skill=True
        )
    }
    assert set(skills) == {"verification", "empathy"}
    assert (skills["verification"].n, skills["verification"].failed) == (5, 5)
    assert next(iter(skills)) == "verification"


def test_a_teams_weakest_criteria_compare_it_with_the_other_teams(world: World) -> None:
    scorecard = small_scorecard()
    evaluations(world, scorecard, world.agent, failed=6, of=6)
    evaluations(world, scorecard, world.care_b_agent, failed=0, of=6)
    team = weakest(program=world.care, start=DAY, end=DAY, team_id=world.care_a.pk)
    assert team[0].key == "verifies" and (team[0].n, team[0].peer_n) == (6, 6)


def test_program_pass_rates_count_every_answer_but_na(world: World) -> None:
    scorecard = small_scorecard()
    evaluations(world, scorecard, world.agent, failed=1, of=4)
    submitted_evaluation(
        world,
        scorecard=scorecard,
        interaction=handled_contact(world, transcript=False),
        answers={**answers_for(scorecard), "greets": "na"},
    )
    rates = {r.key: r for r in program_pass_rates(program=world.care, start=DAY, end=DAY)}
    assert (rates["verifies"].n, rates["verifies"].failed) == (5, 1)
    assert rates["greets"].n == 4
    assert rates["verifies"].probability_worse is None  # the program is not compared with itself


def test_probability_greater_is_a_half_for_equal_beliefs_and_near_one_when_apart() -> None:
    same = Posterior("beta", 3.0, 7.0)
    assert probability_greater(same, same) == pytest.approx(0.5, abs=1e-3)
    assert probability_greater(Posterior("beta", 80.5, 20.5), Posterior("beta", 2.5, 18.5)) > 0.999
    # Uniform X against a point-like Y at 0.25: P(X > 0.25) = 0.75.
    assert probability_greater(
        Posterior("beta", 1.0, 1.0), Posterior("beta", 2500, 7500)
    ) == pytest.approx(0.75, abs=2e-3)
