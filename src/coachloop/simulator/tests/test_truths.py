"""What truth.json says was planted can be found again in the raw files."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date
from statistics import mean

from coachloop.simulator.model import learning_deficit
from coachloop.simulator.tests.conftest import Run


def resolution(run: Run, rows: list[dict[str, str]]) -> float:
    """The share resolved: the flag where the program gives one, else derived from repeats."""
    outcomes = []
    for r in rows:
        if r["resolved"]:
            outcomes.append(r["resolved"] == "true")
        elif r["customer_ref"]:
            outcomes.append(not run.repeated[r["external_id"]])
    return mean(outcomes)


def handled(run: Run, **match: str) -> list[dict[str, str]]:
    return [
        r
        for r in run.interactions
        if r["answered"] == "true" and all(r[k] == v for k, v in match.items())
    ]


def test_agents_weak_in_billing_knowledge_resolve_fewer_billing_contacts(
    simulated: Callable[..., Run],
) -> None:
    run = simulated(agents=60, days=30)
    weak = {a for a, t in run.truth["agents"].items() if t["weakest_skill"] == "billing-knowledge"}
    assert weak, "the run should plant some billing-knowledge weaknesses"
    billing = handled(run, call_type="billing")
    weak_rate = resolution(run, [r for r in billing if r["agent"] in weak])
    other_rate = resolution(run, [r for r in billing if r["agent"] not in weak])
    assert weak_rate < other_rate - 0.15
    # ... and not on the call types billing knowledge does not drive.
    others = [r for r in handled(run) if r["call_type"] != "billing" and r["program"] != "care"]
    weak_elsewhere = resolution(run, [r for r in others if r["agent"] in weak])
    assert weak_elsewhere > weak_rate + 0.1


def test_every_knowledge_weakness_shows_on_its_own_call_type(sim: Run) -> None:
    call_type_of = {s["key"]: s["call_type"] for s in sim.truth["skills"]}
    by_agent: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    for r in handled(sim):
        by_agent[(r["agent"], r["call_type"])].append(r)
    pooled = {
        (program, call_type): resolution(sim, handled(sim, program=program, call_type=call_type))
        for program in ("care", "chat", "billing")
        for call_type in {r["call_type"] for r in handled(sim, program=program)}
    }
    program_of = {r["agent"]: r["program"] for r in handled(sim)}
    # Coaching may have fixed a weakness: look at contacts before any session on that skill.
    coached_from: dict[tuple[str, str], str] = {}
    for s in sim.rows("sessions.csv"):
        coached_from.setdefault((s["agent"], s["focus_skill"]), s["started_at"])
    lower = checked = 0
    for agent, truth in sim.truth["agents"].items():
        call_type = call_type_of.get(truth["weakest_skill"] or "")
        until = coached_from.get((agent, truth["weakest_skill"] or ""), "9999")
        rows = [r for r in by_agent.get((agent, call_type or ""), []) if r["started_at"] < until]
        if call_type is None or len(rows) < 30:
            continue
        checked += 1
        lower += resolution(sim, rows) < pooled[(program_of[agent], call_type)]
    assert checked >= 3
    assert lower == checked


def test_the_program_problem_lowers_care_billing_resolution_program_wide(
    simulated: Callable[..., Run],
) -> None:
    with_problem = simulated()
    without = simulated(program_problem=False)
    problem = with_problem.truth["program_problems"]
    assert problem == [
        {
            "program": "care",
            "call_type": "billing",
            "metric": "fcr",
            "effect": problem[0]["effect"],
            "resolution_effect": -0.2,
            "start": "2026-01-20",
        }
    ]
    assert -0.2 < problem[0]["effect"] < -0.1
    assert without.truth["program_problems"] == []

    def care_billing(run: Run) -> float:
        rows = handled(run, program="care", call_type="billing")
        return resolution(run, [r for r in rows if r["started_at"] >= "2026-01-21"])

    def care_other(run: Run) -> float:
        rows = [r for r in handled(run, program="care") if r["call_type"] != "billing"]
        return resolution(run, [r for r in rows if r["started_at"] >= "2026-01-21"])

    drop = care_billing(without) - care_billing(with_problem)
    assert 0.08 < drop < 0.25
    assert abs(care_other(without) - care_other(with_problem)) < 0.03
    # Every care team is hit, not one agent: the problem is program-wide.
    team_of = {r["external_id"]: r["team"] for r in with_problem.roster if r["role"] == "agent"}
    per_team: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in handled(with_problem, program="care", call_type="billing"):
        if r["started_at"] >= "2026-01-21":
            per_team[team_of[r["agent"]]].append(r)
    before = [
        r for r in handled(with_problem, program="care", call_type="billing")
        if r["started_at"] < "2026-01-20"
    ]  # fmt: skip
    for rows in per_team.values():
        assert resolution(with_problem, rows) < resolution(with_problem, before)


def test_unresolved_contacts_are_repeated_within_168_hours_far_more_often(sim: Run) -> None:
    last_week = "2026-02-11"  # repeats of the last week's contacts fall outside the period
    rows = [
        r
        for r in handled(sim)
        if r["customer_ref"] and r["resolved"] and r["started_at"] < last_week
    ]
    resolved = [sim.repeated[r["external_id"]] for r in rows if r["resolved"] == "true"]
    unresolved = [sim.repeated[r["external_id"]] for r in rows if r["resolved"] == "false"]
    assert mean(unresolved) > 0.6
    assert mean(resolved) < 0.15


def test_placebo_and_effect_runs_differ_only_in_how_contacts_turn_out(
    simulated: Callable[..., Run],
) -> None:
    placebo = simulated(coaching_effect=0.0)
    effect = simulated(coaching_effect=1.0)
    for name in ("roster.csv", "sessions.csv", "scorecard.json"):
        assert (placebo.out / name).read_bytes() == (effect.out / name).read_bytes()
    assert placebo.truth["agents"] == effect.truth["agents"]
    assert placebo.truth["coaching_effect"]["value"] == 0.0
    assert set(placebo.truth["coaching_effect"]["per_metric"].values()) == {0.0}
    assert effect.truth["coaching_effect"]["value"] == 1.0
    assert effect.truth["coaching_effect"]["per_metric"]["fcr"] > 0.01


def test_coaching_raises_the_targeted_outcome_only_when_it_has_an_effect(
    simulated: Callable[..., Run],
) -> None:
    placebo = simulated(coaching_effect=0.0)
    effect = simulated(coaching_effect=1.0)
    call_type_of = {s["key"]: s["call_type"] for s in placebo.truth["skills"]}
    first_session: dict[tuple[str, str], str] = {}
    for s in placebo.rows("sessions.csv"):
        call_type = call_type_of[s["focus_skill"]]
        if call_type:
            first_session.setdefault((s["agent"], call_type), s["started_at"])

    def after_coaching(run: Run) -> float:
        rows = [
            r
            for r in handled(run)
            if (r["agent"], r["call_type"]) in first_session
            and r["started_at"] > first_session[(r["agent"], r["call_type"])]
        ]
        assert len(rows) > 300
        return resolution(run, rows)

    assert after_coaching(effect) > after_coaching(placebo) + 0.05

    def uncoached(run: Run) -> float:
        coached = {agent for agent, _ in first_session}
        return resolution(run, [r for r in handled(run) if r["agent"] not in coached])

    assert abs(uncoached(effect) - uncoached(placebo)) < 0.02


def test_agents_in_their_first_month_resolve_less_than_veterans(
    simulated: Callable[..., Run],
) -> None:
    run = simulated(agents=120, days=30)
    hired = {r["external_id"]: date.fromisoformat(r["hire_date"]) for r in run.roster}
    fresh: list[dict[str, str]] = []
    veteran: list[dict[str, str]] = []
    for r in handled(run):
        tenure = (date.fromisoformat(r["started_at"][:10]) - hired[r["agent"]]).days
        if tenure < 30:
            fresh.append(r)
        elif tenure > 365:
            veteran.append(r)
    assert len({r["agent"] for r in fresh}) >= 3
    assert resolution(run, fresh) < resolution(run, veteran) - 0.05
    assert learning_deficit(0) > 1.0 > 0.1 > learning_deficit(90)


def test_attrition_is_reported_with_who_left_and_who_replaced_them(
    simulated: Callable[..., Run],
) -> None:
    run = simulated(agents=120, days=30)
    attrition = run.truth["attrition"]
    roster_left = {r["external_id"] for r in run.roster if r["termination_date"]}
    assert roster_left
    assert {x["agent"] for x in attrition["left"]} == roster_left
    assert attrition["leavers"] == len(roster_left)
    new = {
        r["external_id"]
        for r in run.roster
        if r["role"] == "agent" and r["hire_date"] > "2026-01-05"
    }
    assert new and {x["agent"] for x in attrition["hired"]} == new
    team_of = {r["external_id"]: r["team"] for r in run.roster if r["role"] == "agent"}
    for hire in attrition["hired"]:
        assert hire["replaces"] in roster_left
        # Replacements join the team the leaver was in when they left (a mover's new team).
        assert team_of[hire["agent"]] == team_of[hire["replaces"]]
