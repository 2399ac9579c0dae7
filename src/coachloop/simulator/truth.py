"""truth.json: what the simulator planted, in the CONTRACTS shape, so analytics can be checked."""

from __future__ import annotations

from typing import Any

import numpy as np

from coachloop.simulator.catalog import (
    PROBLEM_CALL_TYPE,
    PROBLEM_PROGRAM,
    PROBLEM_RESOLUTION_EFFECT,
    PROGRAM_INDEX,
    PROGRAMS,
    REPEAT_IF_RESOLVED,
    REPEAT_IF_UNRESOLVED,
    SKILL_KEYS,
    SKILLS,
)
from coachloop.simulator.model import (
    BASE_DAILY_HAZARD,
    NEW_HIRE_HAZARD_FACTOR,
    RECENT_COACHING_DAYS,
    STRUGGLE_HAZARD_COACHED,
    STRUGGLE_HAZARD_UNCOACHED,
    World,
    learning_deficit,
    session_focus_metric,
)
from coachloop.simulator.outcomes import expected_metrics
from coachloop.simulator.people import agent_id

METRIC_ORDER = ("fcr", "aht", "acw", "hold", "transfer_rate", "escalation_rate", "csat", "qa_score")
SECONDS_METRICS = {"aht", "acw", "hold"}
MAX_SESSIONS_FOR_ESTIMATE = 3000  # an even sample of sessions beyond this: it is an estimate


def problem_start_day(days: int) -> int:
    """The planted problem starts a third of the way in: both a before/after and a program-wide
    contrast are visible."""
    return days // 3


def build_truth(world: World, *, coaching_effect: float, program_problem: bool) -> dict[str, Any]:
    return {
        "seed": world.seed,
        "start": world.start.isoformat(),
        "days": world.days,
        "skills": [{"key": s.key, "kind": s.kind, "call_type": s.call_type} for s in SKILLS],
        "agents": {
            agent_id(a.number): {
                "weakest_skill": SKILL_KEYS[a.weakest] if a.weakest is not None else None,
                "skills": {key: float(v) for key, v in zip(SKILL_KEYS, a.skills, strict=True)},
            }
            for a in world.agents
        },
        "coaching_effect": {
            "unit": "skill_sd",
            "value": coaching_effect,
            "per_metric": per_metric(world, coaching_effect),
        },
        "program_problems": _problems(world, program_problem),
        "attrition": _attrition(world),
    }


def per_metric(world: World, effect: float) -> dict[str, float]:
    """Expected change of a metric per coaching session, over the sessions that named it.

    For each session (in time order) the coached agent's expected metric is computed from the
    outcome model with their skills just before the session (settled skill, earlier sessions'
    gains, learning deficit) and again with the targeted skill raised by ``effect``; the
    difference for the session's focus_metric is averaged over the sessions with that
    focus_metric. FCR is the platform's FCR: the flag where the program gives one, else derived
    from repeats (so a resolution gain counts at REPEAT_IF_UNRESOLVED - REPEAT_IF_RESOLVED).
    """
    sessions = world.sessions
    step = max(1, -(-len(sessions) // MAX_SESSIONS_FOR_ESTIMATE))
    gains = np.zeros((len(world.agents), len(SKILLS)))
    changes: dict[str, list[float]] = {}
    for number, s in enumerate(sessions):
        agent = world.agents[s.agent]
        if number % step == 0:
            before = agent.skills + gains[s.agent] - learning_deficit(s.day - agent.hire_day)
            after = before.copy()
            after[s.skill] += effect
            metric = session_focus_metric(s.skill)
            old = expected_metrics(before, agent.program, agent.channel)[metric]
            new = expected_metrics(after, agent.program, agent.channel)[metric]
            changes.setdefault(metric, []).append(new - old)
        gains[s.agent, s.skill] += effect
    return {
        metric: round(float(np.mean(changes[metric])), 2 if metric in SECONDS_METRICS else 4)
        for metric in METRIC_ORDER
        if metric in changes
    }


def _problems(world: World, program_problem: bool) -> list[dict[str, Any]]:
    if not program_problem:
        return []
    program = PROGRAMS[PROGRAM_INDEX[PROBLEM_PROGRAM]]
    # The planted change is to the chance of resolving; the FCR the platform measures moves by
    # that much where the program flags resolution, and diluted by the repeat gap where FCR is
    # derived from repeats.
    dilution = 1.0 if program.gives_resolved_flag else REPEAT_IF_UNRESOLVED - REPEAT_IF_RESOLVED
    return [
        {
            "program": PROBLEM_PROGRAM,
            "call_type": PROBLEM_CALL_TYPE,
            "metric": "fcr",
            "effect": round(PROBLEM_RESOLUTION_EFFECT * dilution, 4),
            "resolution_effect": PROBLEM_RESOLUTION_EFFECT,
            "start": world.date(problem_start_day(world.days)).isoformat(),
        }
    ]


def _attrition(world: World) -> dict[str, Any]:
    exposure = sum(max(0, min(a.end_day, world.days) - max(a.hire_day, 0)) for a in world.agents)
    leavers = [a for a in world.agents if a.end_day < world.days]
    return {
        "annual_rate": round(len(leavers) / exposure * 365, 4) if exposure else 0.0,
        "leavers": len(leavers),
        "agent_years": round(exposure / 365, 2),
        "model": {
            "base_annual_rate": round(1 - (1 - BASE_DAILY_HAZARD) ** 365, 4),
            "new_hire_factor": NEW_HIRE_HAZARD_FACTOR,
            "new_hire_days": 90,
            "struggle_log_hazard_uncoached": STRUGGLE_HAZARD_UNCOACHED,
            "struggle_log_hazard_coached": STRUGGLE_HAZARD_COACHED,
            "recent_coaching_days": RECENT_COACHING_DAYS,
        },
        "left": [
            {
                "agent": agent_id(a.number),
                "date": world.date(a.end_day).isoformat(),
                "reason": a.termination_reason,
                "tenure_days": a.end_day - a.hire_day,
                "weakest_skill": SKILL_KEYS[a.weakest] if a.weakest is not None else None,
                "coached_lately": any(
                    0 <= a.end_day - s.day <= RECENT_COACHING_DAYS for s in a.sessions
                ),
            }
            for a in leavers
        ],
        "hired": [
            {
                "agent": agent_id(a.number),
                "date": world.date(a.hire_day).isoformat(),
                "replaces": agent_id(a.replaces),
            }
            for a in world.agents
            if a.replaces is not None
        ],
    }
