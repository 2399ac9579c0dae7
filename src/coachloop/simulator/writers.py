"""The canonical files, with exactly the headers of CONTRACTS.md "Canonical files".

The two big files (interactions, agent-days) are formatted column by column from numpy arrays and
written one program-day at a time: no csv module per row (too slow at ten million rows) and no
quoting needed, because every value we put in them is a code, a number or a timestamp. The small
files go through the csv module, which quotes the free text they carry.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

import numpy as np

from coachloop.ingest.fields import canonical_header
from coachloop.simulator.catalog import CALL_TYPES, CHANNELS, PROGRAMS, SKILLS
from coachloop.simulator.clock import iso_one, iso_utc, local_to_epoch
from coachloop.simulator.contacts import ProgramDay
from coachloop.simulator.model import World, session_focus_metric
from coachloop.simulator.people import acd_id, agent_id, wfm_id

ROSTER_HEADER = (*canonical_header("roster"), "external_id:acd", "external_id:wfm")
INTERACTION_HEADER = canonical_header("interactions")
AGENT_DAY_HEADER = canonical_header("agent-days")
SESSION_HEADER = (
    "session_id",
    "agent",
    "lead",
    "started_at",
    "type",
    "focus_skill",
    "focus_metric",
    "notes",
)
FILES = (
    "roster.csv",
    "interactions.csv",
    "agent_days.csv",
    "transcripts.jsonl",
    "scorecard.json",
    "evaluations.csv",
    "sessions.csv",
    "truth.json",
)
BOOL = np.array(["false", "true"], dtype=object)
RECORDINGS = "https://recordings.example"


def open_text(path: Path) -> IO[str]:
    # newline="" so "\n" is written as is on every platform (CONTRACTS: "\n" line endings).
    return path.open("w", encoding="utf-8", newline="")


def write_json(path: Path, document: Any) -> None:
    with open_text(path) as f:
        f.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def write_roster(path: Path, world: World) -> int:
    team_site = {t.key: t.site for t in world.teams}
    rows = 0
    with open_text(path) as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(ROSTER_HEADER)
        for s in world.staff:
            out.writerow(
                (
                    s.external_id,
                    s.name,
                    s.email,
                    PROGRAMS[s.program].key,
                    s.site,
                    s.team,
                    s.role,
                    s.team_since.isoformat() if s.team_since else "",
                    s.hire_date.isoformat(),
                    "",
                    "",
                    "",
                    "",
                )
            )
            rows += 1
        for a in world.agents:
            left = a.end_day < world.days
            out.writerow(
                (
                    agent_id(a.number),
                    a.name,
                    a.email,
                    PROGRAMS[a.program].key,
                    team_site[a.team],
                    a.team,
                    "agent",
                    world.date(a.team_since_day).isoformat(),
                    world.date(a.hire_day).isoformat(),
                    world.date(a.end_day).isoformat() if left else "",
                    a.termination_reason if left else "",
                    acd_id(a.number),
                    wfm_id(a.number),
                )
            )
            rows += 1
    return rows


def write_sessions(path: Path, world: World) -> int:
    with open_text(path) as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(SESSION_HEADER)
        for number, s in enumerate(world.sessions, start=1):
            agent = world.agents[s.agent]
            tz = ZoneInfo(PROGRAMS[agent.program].timezone)
            epoch = int(local_to_epoch(tz, world.date(s.day), np.array([s.local_s]))[0])
            skill = SKILLS[s.skill]
            metric = session_focus_metric(s.skill)
            out.writerow(
                (
                    f"S{number:06d}",
                    agent_id(agent.number),
                    s.lead,
                    iso_one(epoch),
                    s.type,
                    skill.key,
                    metric,
                    f"Reviewed {metric.replace('_', ' ')} with examples; agreed to practise "
                    f"{skill.name.lower()} before the next session.",
                )
            )
    return len(world.sessions)


class ContactWriter:
    """interactions.csv and agent_days.csv, appended one program-day at a time."""

    def __init__(self, interactions: IO[str], agent_days: IO[str], world: World) -> None:
        self.interactions = interactions
        self.agent_days = agent_days
        self.world = world
        self.interaction_rows = 0
        self.agent_day_rows = 0
        # Index -1 (no agent: abandoned) picks the trailing "".
        self.agent_ids = np.array([agent_id(a.number) for a in world.agents] + [""], dtype=object)
        self.channels = np.array(CHANNELS, dtype=object)
        interactions.write(",".join(INTERACTION_HEADER) + "\n")
        agent_days.write(",".join(AGENT_DAY_HEADER) + "\n")

    def write(self, pd: ProgramDay) -> list[str]:
        """Write one program-day; returns the rows' external ids (QA refers to them)."""
        spec = PROGRAMS[pd.program]
        n = pd.n
        ids = [f"{spec.prefix}-{i:08d}" for i in range(pd.first_number, pd.first_number + n)]
        if n:
            self._write_interactions(pd, ids)
        self._write_agent_days(pd)
        return ids

    def _write_interactions(self, pd: ProgramDay, ids: list[str]) -> None:
        spec = PROGRAMS[pd.program]
        n = pd.n
        channel = self.channels[pd.channel].tolist()
        queues = np.array([q.key for q in spec.queues], dtype=object)
        call_types = np.array([c.key for c in CALL_TYPES], dtype=object)
        customers = [
            f"{spec.key}-{c:07d}" if k else ""
            for c, k in zip(pd.customer.tolist(), pd.known.tolist(), strict=True)
        ]
        answered = pd.answered
        if spec.gives_resolved_flag:
            resolved = np.where(answered, BOOL[pd.resolved.astype(np.int64)], "").tolist()
        else:
            resolved = [""] * n
        csat = [str(v) if v >= 0 else "" for v in pd.csat.tolist()]
        scale = [spec.csat_scale if v >= 0 else "" for v in pd.csat.tolist()]
        nps = [str(v) if v >= 0 else "" for v in pd.nps.tolist()]
        recorded = (answered & (pd.channel == 0)).tolist()
        recording = [
            f"{RECORDINGS}/{spec.key}/{i}.wav" if r else ""
            for i, r in zip(ids, recorded, strict=True)
        ]
        columns = (
            ids,
            channel,
            [spec.key] * n,
            queues[pd.queue].tolist(),
            call_types[pd.call_type].tolist(),
            self.agent_ids[pd.agent].tolist(),
            customers,
            iso_utc(pd.epoch),
            BOOL[answered.astype(np.int64)].tolist(),
            _ints(pd.wait_s),
            _ints(pd.talk_s),
            _ints(pd.hold_s),
            _ints(pd.acw_s),
            BOOL[pd.transferred.astype(np.int64)].tolist(),
            BOOL[pd.escalated.astype(np.int64)].tolist(),
            resolved,
            csat,
            scale,
            nps,
            recording,
        )
        self.interactions.write("\n".join(map(",".join, zip(*columns, strict=True))) + "\n")
        self.interaction_rows += n

    def _write_agent_days(self, pd: ProgramDay) -> None:
        m = len(pd.day_agents)
        if not m:
            return
        day = self.world.date(pd.day).isoformat()
        scheduled = [str(self.world.agents[a].scheduled_s) for a in pd.day_agents.tolist()]
        columns = (
            self.agent_ids[pd.day_agents].tolist(),
            [day] * m,
            scheduled,
            _ints(pd.logged_in_s),
            _ints(pd.productive_s),
            _ints(pd.adherent_s),
            BOOL[pd.day_absent.astype(np.int64)].tolist(),
        )
        self.agent_days.write("\n".join(map(",".join, zip(*columns, strict=True))) + "\n")
        self.agent_day_rows += m


def _ints(values: np.ndarray) -> list[str]:
    return list(map(str, values.tolist()))
