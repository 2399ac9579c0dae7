"""``simulate``: write a synthetic contact center with known ground truth into a folder.

The latent world is planned first (model.py); then the days are generated one by one and each
program-day is written as soon as it exists, so memory stays bounded by one day's contacts plus
the customers due to call back within the next six days, whatever the period.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from coachloop.simulator.catalog import (
    PROBLEM_PROGRAM,
    PROGRAM_INDEX,
    PROGRAMS,
    SKILLS,
    scorecard_document,
)
from coachloop.simulator.contacts import AgentArrays, ProgramState, simulate_program_day
from coachloop.simulator.model import Session, World, build_world
from coachloop.simulator.quality import QualityDesk
from coachloop.simulator.truth import build_truth, problem_start_day
from coachloop.simulator.writers import (
    ContactWriter,
    open_text,
    write_json,
    write_roster,
    write_sessions,
)

MIN_AGENTS = 3  # one per program; teams of 10-16 need about 30 and more
MAX_DAYS = 3660


class SimulationError(ValueError):
    """Arguments the simulator cannot honour."""


@dataclass(frozen=True)
class SimulationSummary:
    out: Path
    start: date
    days: int
    seed: int
    rows: dict[str, int] = field(default_factory=dict)  # file name -> data rows / lines
    seconds: float = 0.0

    def lines(self) -> list[str]:
        end = self.start + timedelta(days=self.days - 1)
        out = [f"Simulated {self.start} to {end} (seed {self.seed}) into {self.out}:"]
        out += [
            f"  {name:<18} {count:>12,} {_UNITS.get(name, 'rows')}"
            for name, count in self.rows.items()
        ]
        out.append(f"  in {self.seconds:.1f} s")
        return out


def default_start(days: int, now: datetime | None = None) -> date:
    """The first day of a period of ``days`` ending yesterday.

    "Yesterday" is taken in every program's time zone and the earliest wins, so the last local
    day of every program is over: no contact is ever in the future when the files are written.
    """
    moment = now or datetime.now(ZoneInfo("UTC"))
    today = min(moment.astimezone(ZoneInfo(p.timezone)).date() for p in PROGRAMS)
    return today - timedelta(days=days)


def simulate(
    *,
    out: Path,
    agents: int,
    days: int,
    start: date | None,
    seed: int,
    coaching_effect: float,
    program_problem: bool,
) -> SimulationSummary:
    if agents < MIN_AGENTS:
        raise SimulationError(f"--agents must be at least {MIN_AGENTS} (one per program)")
    if not 1 <= days <= MAX_DAYS:
        raise SimulationError(f"--days must be from 1 to {MAX_DAYS}")
    if seed < 0:
        raise SimulationError("--seed must be 0 or more")
    if not -5.0 <= coaching_effect <= 5.0:
        raise SimulationError("--coaching-effect must be within -5 and 5 SD")
    began = time.perf_counter()
    first_day = start or default_start(days)
    world = build_world(seed=seed, start=first_day, days=days, agents=agents)
    out.mkdir(parents=True, exist_ok=True)

    rows: dict[str, int] = {"roster.csv": write_roster(out / "roster.csv", world)}
    write_json(out / "scorecard.json", scorecard_document())
    rows["scorecard.json"] = sum(len(s["criteria"]) for s in scorecard_document()["sections"])
    rows["sessions.csv"] = write_sessions(out / "sessions.csv", world)
    rows.update(
        _generate_days(world, out, coaching_effect=coaching_effect, program_problem=program_problem)
    )
    write_json(
        out / "truth.json",
        build_truth(world, coaching_effect=coaching_effect, program_problem=program_problem),
    )
    rows["truth.json"] = len(world.agents)
    ordered = {name: rows[name] for name in _FILE_ORDER}
    return SimulationSummary(
        out=out,
        start=first_day,
        days=days,
        seed=seed,
        rows=ordered,
        seconds=time.perf_counter() - began,
    )


_UNITS = {
    "transcripts.jsonl": "transcripts",
    "scorecard.json": "criteria",
    "evaluations.csv": "rows (one per answer)",
    "truth.json": "agents",
}
_FILE_ORDER = (
    "roster.csv",
    "interactions.csv",
    "agent_days.csv",
    "transcripts.jsonl",
    "scorecard.json",
    "evaluations.csv",
    "sessions.csv",
    "truth.json",
)


def _generate_days(
    world: World, out: Path, *, coaching_effect: float, program_problem: bool
) -> dict[str, int]:
    arrays = AgentArrays.of(world)
    gains = np.zeros((len(world.agents), len(SKILLS)))
    sessions_on: dict[int, list[Session]] = {}
    for s in world.sessions:
        sessions_on.setdefault(s.day, []).append(s)
    evaluations_on: dict[tuple[int, int], list[int]] = {}
    for a in world.agents:
        for day in a.eval_days:
            evaluations_on.setdefault((a.program, day), []).append(a.index)
    states = [
        ProgramState(index=p, members=np.flatnonzero(arrays.program == p))
        for p in range(len(PROGRAMS))
    ]
    problem_program = PROGRAM_INDEX[PROBLEM_PROGRAM] if program_problem else None
    problem_day = problem_start_day(world.days)

    with (
        open_text(out / "interactions.csv") as interactions,
        open_text(out / "agent_days.csv") as agent_days,
        open_text(out / "evaluations.csv") as evaluations,
        open_text(out / "transcripts.jsonl") as transcripts,
    ):
        writer = ContactWriter(interactions, agent_days, world)
        desk = QualityDesk(world, evaluations, transcripts)
        for day in range(world.days):
            # A session lifts the targeted skill from its own day on.
            for s in sessions_on.get(day, []):
                gains[s.agent, s.skill] += coaching_effect
            for state in states:
                program_day = simulate_program_day(
                    world=world,
                    arrays=arrays,
                    state=state,
                    day=day,
                    gains=gains,
                    problem_from=problem_day if state.index == problem_program else None,
                    evaluate=sorted(evaluations_on.get((state.index, day), [])),
                )
                ids = writer.write(program_day)
                desk.evaluate_day(program_day, ids)
    return {
        "interactions.csv": writer.interaction_rows,
        "agent_days.csv": writer.agent_day_rows,
        "transcripts.jsonl": desk.transcript_count,
        "evaluations.csv": desk.answer_rows,
    }
