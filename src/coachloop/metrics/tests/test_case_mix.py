"""Case mix (indirect standardization): an agent's figure is compared with what their own mix of
call types would give at the peers' value for each type. An agent who only takes the hard calls
is slow and unresolved on paper, and exactly as expected once the mix is accounted for."""

from __future__ import annotations

import datetime as dt

import pytest

from coachloop.core.personas import World
from coachloop.metrics.tests.factories import contacts, kpi, more_agents, rebuild

DAY = dt.date(2026, 10, 7)
START, END = dt.date(2026, 10, 1), dt.date(2026, 10, 31)


@pytest.fixture
def mixed(world: World) -> World:
    """Everyone takes "easy" calls of 300 s resolved 9 times in 10, and "hard" ones of 880 or
    920 s (900 on average) resolved half the time. Alice takes only hard calls, at 900 s, half
    resolved; Aaron takes 10 easy and 30 hard ones, like the peers."""
    care = world.care
    peers = [world.care_b_agent, *more_agents(world, 3, hire_date=dt.date(2026, 1, 5))]
    for peer in peers:
        contacts(36, program=care, agent=peer, day=DAY, call_type="easy", resolved=True)
        contacts(4, program=care, agent=peer, day=DAY, call_type="easy", resolved=False)
        for talk in (880, 920):
            for resolved in (True, False):
                contacts(
                    5,
                    program=care,
                    agent=peer,
                    day=DAY,
                    call_type="hard",
                    talk_s=talk,
                    resolved=resolved,
                )
    for resolved in (True, False):
        contacts(
            20,
            program=care,
            agent=world.agent,
            day=DAY,
            call_type="hard",
            talk_s=900,
            resolved=resolved,
        )
    contacts(10, program=care, agent=world.agent2, day=DAY, call_type="easy", resolved=True)
    for resolved in (True, False):
        contacts(
            15,
            program=care,
            agent=world.agent2,
            day=DAY,
            call_type="hard",
            talk_s=900,
            resolved=resolved,
        )
    rebuild()
    return world


def test_an_agent_on_hard_calls_is_expected_the_peers_aht_on_hard_calls(mixed: World) -> None:
    alice = kpi(agent=mixed.agent, program=mixed.care, start=START, end=END, metric="aht")
    program = kpi(program=mixed.care, start=START, end=END, metric="aht")
    assert (alice.value, alice.n) == (900.0, 40)
    # Program: 4 peers x (40 easy x 300 + 20 hard x 900) + Alice 40 x 900 + Aaron 10 x 300
    # + 30 x 900 over 4 x 60 + 40 + 40 contacts.
    assert program.value == pytest.approx((4 * (12_000 + 18_000) + 36_000 + 30_000) / 320)
    assert alice.value - program.value > 300  # far above the program on the raw figure
    assert alice.expected == pytest.approx(900.0)
    assert alice.adjusted_gap == pytest.approx(0.0, abs=1e-9)
    assert alice.as_api()["adjusted"] == {"expected": 900.0, "gap": 0.0}


def test_an_agent_on_hard_calls_is_expected_the_peers_fcr_on_hard_calls(mixed: World) -> None:
    alice = kpi(agent=mixed.agent, program=mixed.care, start=START, end=END, metric="fcr")
    program = kpi(program=mixed.care, start=START, end=END, metric="fcr")
    assert (alice.value, alice.n) == (0.5, 40)
    # 4 x (36 + 10) + 20 + (10 + 15) resolved of 320.
    assert program.value == pytest.approx((4 * 46 + 20 + 25) / 320)
    assert program.value - alice.value > 0.15
    assert alice.expected == pytest.approx(0.5)
    assert alice.adjusted_gap == pytest.approx(0.0, abs=1e-9)


def test_an_agent_with_a_mix_is_expected_the_mix_weighted_peer_values(mixed: World) -> None:
    aaron = kpi(agent=mixed.agent2, program=mixed.care, start=START, end=END, metric="aht")
    # Peers: easy 300 s, hard 900 s; Aaron's 10 easy and 30 hard calls expect 750 s.
    assert aaron.expected == pytest.approx((10 * 300 + 30 * 900) / 40)
    assert aaron.value == pytest.approx(750.0)
    fcr = kpi(agent=mixed.agent2, program=mixed.care, start=START, end=END, metric="fcr")
    # Easy calls are resolved 9 in 10 by everyone but Aaron (all 10): 46 of 50 overall.
    easy = (4 * 36 + 10) / (4 * 40 + 10)
    assert fcr.expected == pytest.approx((10 * easy + 30 * 0.5) / 40)
    assert fcr.value == pytest.approx(25 / 40)


def test_a_team_is_adjusted_for_its_mix_and_the_program_is_not(mixed: World) -> None:
    care_a = kpi(team=mixed.care_a, program=mixed.care, start=START, end=END, metric="aht")
    program = kpi(program=mixed.care, start=START, end=END, metric="aht")
    # care-a: Alice, Aaron and two peers (P1, P3): 90 easy and 110 hard calls.
    assert care_a.n == 200
    assert care_a.expected == pytest.approx((90 * 300 + 110 * 900) / 200)
    assert care_a.adjusted_gap == pytest.approx(0.0, abs=1e-9)
    assert program.expected is None
    assert program.as_api()["adjusted"] is None


def test_a_metric_without_case_mix_has_no_expected_value(mixed: World) -> None:
    alice = kpi(agent=mixed.agent, program=mixed.care, start=START, end=END, metric="acw")
    assert alice.expected is None
    assert alice.adjusted_gap is None
