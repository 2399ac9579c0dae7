"""The organization the simulator builds: programs, teams, leads, skills, lives."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date

import pytest

from coachloop.simulator.model import build_world, program_sizes, team_sizes
from coachloop.simulator.tests.conftest import Run


def test_120_agents_make_teams_of_10_to_16_each_with_one_lead() -> None:
    world = build_world(seed=1, start=date(2026, 1, 5), days=90, agents=120)
    at_start = Counter(a.team_start for a in world.agents if a.hire_day <= 0)
    assert sum(at_start.values()) == 120
    assert set(at_start) == {t.key for t in world.teams}
    assert all(10 <= size <= 16 for size in at_start.values())
    leads = Counter(s.team for s in world.staff if s.role == "lead")
    assert leads == Counter({t.key: 1 for t in world.teams})
    for program in range(3):
        roles = Counter(s.role for s in world.staff if s.program == program)
        assert roles["qa"] == 1 and roles["manager"] == 1


def test_team_moves_keep_every_team_between_10_and_16_in_the_roster(
    simulated: Callable[..., Run],
) -> None:
    run = simulated(agents=120, days=30)
    # Agents employed at the start, counted in the team the roster names now (a snapshot).
    members = Counter(
        r["team"] for r in run.roster if r["role"] == "agent" and r["hire_date"] <= "2026-01-05"
    )
    assert all(10 <= size <= 16 for size in members.values()), members
    moved = [
        r
        for r in run.roster
        if r["role"] == "agent"
        and r["hire_date"] < r["team_since"]
        and r["team_since"] > "2026-01-05"
    ]
    assert moved, "some agents change team mid-period"


@pytest.mark.parametrize("agents", [10, 11, 17, 25, 31, 47, 120, 1000])
def test_any_agent_count_gives_every_program_teams_and_none_empty(agents: int) -> None:
    sizes = program_sizes(agents)
    assert sum(sizes) == agents and min(sizes) >= 1
    for size in sizes:
        teams = team_sizes(size)
        assert sum(teams) == size and min(teams) >= 1 and max(teams) <= 16
        if size >= 20:
            assert min(teams) >= 10


def test_ten_agents_over_a_few_days_still_make_a_complete_folder(
    simulated: Callable[..., Run],
) -> None:
    run = simulated(agents=10, days=3)
    agents = [r for r in run.roster if r["role"] == "agent"]
    assert len([r for r in agents if r["hire_date"] <= "2026-01-05"]) == 10
    assert {r["program"] for r in agents} == {"care", "chat", "billing"}
    assert run.interactions
    assert run.rows("evaluations.csv")


def test_new_hires_and_leavers_have_plausible_dates() -> None:
    world = build_world(seed=2, start=date(2025, 1, 1), days=365, agents=300)
    initial = [a for a in world.agents if a.replaces is None]
    assert len(initial) == 300
    years = sum(min(a.end_day, 365) - max(a.hire_day, 0) for a in world.agents) / 365
    rate = sum(a.end_day < 365 for a in world.agents) / years
    assert 0.25 <= rate <= 0.55  # BPO range, CONTRACTS reference figures 30-45%
    leavers = [a for a in world.agents if a.end_day < 365]
    early = sum(a.end_day - a.hire_day < 90 for a in leavers)
    assert early / len(leavers) > 0.15  # much of it in the first 90 days
    for a in world.agents:
        assert a.hire_day < a.end_day
        assert all(a.hire_day <= s.day < a.end_day for s in a.sessions)


def test_leads_coach_weak_agents_more_often_and_mostly_on_their_weakest_skill() -> None:
    world = build_world(seed=4, start=date(2025, 1, 1), days=180, agents=300)
    weak = [a for a in world.agents if a.weakest is not None]
    other = [a for a in world.agents if a.weakest is None]

    def per_agent(group: list) -> float:
        return sum(len(a.sessions) for a in group) / len(group)

    assert per_agent(weak) > 1.5 * per_agent(other)
    focus = [s.skill == a.weakest for a in weak for s in a.sessions]
    assert 0.5 < sum(focus) / len(focus) < 0.95  # usually right, not always
