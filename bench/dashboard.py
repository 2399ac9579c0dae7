"""Dashboard and KPI API speed on a year of contacts, next to the raw SQL for the same numbers.

Builds a contact center in a fresh database (SQLite and PostgreSQL): by default 10,000,000
interactions over 365 days for 1,000 active agents in 3 programs (teams of about 12 with a lead
each; several queues, call types and channels; about 15% unanswered), a roster of 5,000 people
(the others left, or sit on teams with no contacts) and the active agents' WFM days. The org goes
in through the ORM, the facts through PostgreSQL COPY / SQLite executemany (import speed is
bench/ingest.py's business), then `coachloop recompute --all` builds the rollups (timed: the
cost of a full rebuild). Then, in a process per database with Django's test client in-process
and a logged-in user of the right role, server time p50/p95 over --requests requests per page,
cycling over subjects and windows (this week, 4 weeks, 13 weeks, 365 days, random custom ones):

    team dashboard  GET /teams/<id>/?period=...                the team's lead
    agent page      GET /agents/<id>/?period=...               the lead of the agent's team
    program page    GET /programs/<id>/?period=...             the program's manager
    KPI API agent   GET /api/v1/agents/<id>/kpis?start=&end=   the program's manager
    KPI API team    GET /api/v1/teams/<id>/kpis?start=&end=    the program's manager

next to the raw SQL over interactions_interaction (no rollups) that computes the same sums, timed
the same way on the same database. The KPI API's AHT, FCR, CSAT and transfer rate are checked
against that SQL. Targets: PostgreSQL p95 <= 150 ms (team, agent, API), <= 300 ms (program page);
SQLite at most twice that.

    .venv/bin/python bench/dashboard.py                            # full size, both databases
    .venv/bin/python bench/dashboard.py --interactions 200000 --agents 100 --roster 500 \\
        --requests 50                                              # a quick run
    .venv/bin/python bench/dashboard.py --keep --workdir /tmp/dash   # keep what it built ...
    .venv/bin/python bench/dashboard.py --reuse --workdir /tmp/dash  # ... and measure it again

PostgreSQL: a server on 127.0.0.1:5432 with trust auth (BENCH_POSTGRES_ADMIN overrides the
admin URL); the database coachloop_bench_dash is created and dropped. SQLite: a file in a
temporary folder. Both are removed at the end unless --keep; the SQLite file goes as soon as its
run ends, so the full size needs about 10 GB of free disk (1M interactions: 0.63 GB in
PostgreSQL, 0.41 GB in SQLite, rollups included).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
COACHLOOP = [sys.executable, "-m", "coachloop.cli"]
PG_ADMIN_URL = os.environ.get("BENCH_POSTGRES_ADMIN", "postgres://postgres@127.0.0.1:5432/postgres")
PG_DB = "coachloop_bench_dash"
TEAM_SIZE = 12
UNANSWERED_SHARE = 0.15
CSAT_SHARE = 0.15
CHUNK_ROWS = 500_000
DAY_LOAD = np.array([1.15, 1.0, 1.0, 1.0, 0.9, 0.55, 0.4])  # Monday .. Sunday
TALK_MU = {"voice": 5.55, "chat": 6.2, "email": 5.3, "sms": 4.9, "social": 4.9}
WINDOWS = ("week", "4w", "13w", "365d", "custom")
TARGET_MS = {"team": 150.0, "agent": 150.0, "program": 300.0, "api_agent": 150.0, "api_team": 150.0}
PAGE_LABELS = {
    "team": "team dashboard",
    "agent": "agent page",
    "program": "program page",
    "api_agent": "KPI API agent",
    "api_team": "KPI API team",
}


# --- the contact center ------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueSpec:
    name: str
    channel: str
    call_types: tuple[str, ...]
    weight: float


@dataclass(frozen=True)
class ProgramSpec:
    code: str
    name: str
    client: str
    timezone: str
    first_weekday: int
    share: float  # of the teams
    csat_scale: str
    flag_share: float  # handled contacts whose source gives a resolved flag
    nps_share: float
    wait_mean: float
    queues: tuple[QueueSpec, ...]


PROGRAMS = (
    ProgramSpec(
        code="bench-energy",
        name="Energy care",
        client="Northwind Energy",
        timezone="America/New_York",
        first_weekday=0,
        share=0.5,
        csat_scale="1-5",
        flag_share=1.0,
        nps_share=0.0,
        wait_mean=28.0,
        queues=(
            QueueSpec("billing", "voice", ("bill query", "payment plan", "refund", "debit"), 4),
            QueueSpec("moves", "voice", ("moving in", "moving out", "meter read"), 2),
            QueueSpec("outage", "voice", ("outage", "safety"), 1),
            QueueSpec("web-chat", "chat", ("bill query", "meter read", "tariff"), 2),
            QueueSpec("mailbox", "email", ("complaint", "refund", "general"), 1),
        ),
    ),
    ProgramSpec(
        code="bench-telco",
        name="Telco support",
        client="Contoso Mobile",
        timezone="Europe/London",
        first_weekday=0,
        share=0.3,
        csat_scale="0-10",
        flag_share=0.0,
        nps_share=0.12,
        wait_mean=35.0,
        queues=(
            QueueSpec("support", "voice", ("no signal", "broadband down", "device"), 4),
            QueueSpec("sales", "voice", ("upgrade", "new line", "retention"), 2),
            QueueSpec("chat", "chat", ("device", "roaming", "bill query"), 3),
            QueueSpec("email", "email", ("complaint", "porting"), 1),
        ),
    ),
    ProgramSpec(
        code="bench-retail",
        name="Retail orders",
        client="Fabrikam Stores",
        timezone="America/Chicago",
        first_weekday=6,
        share=0.2,
        csat_scale="percent",
        flag_share=0.4,
        nps_share=0.0,
        wait_mean=22.0,
        queues=(
            QueueSpec("orders", "voice", ("where is my order", "return", "exchange"), 3),
            QueueSpec("chat", "chat", ("where is my order", "product question", "return"), 3),
            QueueSpec("email", "email", ("return", "complaint"), 1),
            QueueSpec("sms", "sms", ("delivery slot",), 1),
            QueueSpec("social", "social", ("complaint", "product question"), 1),
        ),
    ),
)

# fmt: off
FACT_ARRAYS = (
    "started", "day", "program", "agent", "team", "queue", "call_type", "answered", "customer",
    "wait", "talk", "hold", "acw", "transferred", "escalated", "resolved", "fcr_derived",
    "fcr_provisional", "csat", "nps",
)
# fmt: on
DAY_ARRAYS = ("agent", "day", "team", "scheduled", "logged_in", "productive", "adherent", "absent")


def allocate(total: int, shares: list[float]) -> np.ndarray:
    """``total`` items split by ``shares`` (each part at least 1 when total allows)."""
    raw = np.array(shares) / sum(shares) * total
    counts = np.floor(raw).astype(int)
    if total >= len(shares):
        counts = np.maximum(counts, 1)
    while counts.sum() < total:
        counts[int(np.argmax(raw - counts))] += 1
    while counts.sum() > total:
        counts[int(np.argmax(counts))] -= 1
    return np.repeat(np.arange(len(shares)), counts)


def generate(folder: Path, options: argparse.Namespace) -> dict[str, Any]:
    """The org as JSON and the facts as .npy arrays under ``folder``; returns the org."""
    rng = np.random.default_rng(options.seed)
    n_days, n_agents, total = options.days, options.agents, options.interactions
    last = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    first = last - dt.timedelta(days=n_days - 1)
    epoch_day0 = (first - dt.date(1970, 1, 1)).days
    weekday = (np.arange(n_days) + first.weekday()) % 7
    n_programs = len(PROGRAMS)
    shares = [p.share for p in PROGRAMS]

    # Queues and call types, numbered across programs.
    queue_program, queue_channel, queue_names, queue_types = [], [], [], []
    call_types: list[str] = []
    for p, spec in enumerate(PROGRAMS):
        for queue in spec.queues:
            queue_program.append(p)
            queue_channel.append(queue.channel)
            queue_names.append(queue.name)
            indexes = []
            for name in queue.call_types:
                if name not in call_types:
                    call_types.append(name)
                indexes.append(call_types.index(name))
            queue_types.append(indexes)
    queue_program_arr = np.array(queue_program)

    # Teams with contacts, then the other teams (people on them have no contacts).
    n_teams = max(n_programs, round(n_agents / TEAM_SIZE))
    team_program = allocate(n_teams, shares)
    others = max(options.roster - n_agents, 0)
    leavers = round(others * 0.6)
    others_current = others - leavers
    n_other_teams = math.ceil(others_current / TEAM_SIZE) if others_current else 0
    other_team_program = allocate(n_other_teams, shares) if n_other_teams else np.array([], int)
    all_team_program = np.concatenate([team_program, other_team_program]).astype(int)
    teams = [
        {
            "code": f"{PROGRAMS[p].code}-{'t' if i < n_teams else 'o'}{i + 1:04d}",
            "name": f"{'Team' if i < n_teams else 'Back office'} {i + 1}",
            "program": int(p),
            "active": i < n_teams,
        }
        for i, p in enumerate(all_team_program)
    ]

    # Active agents: contiguous blocks of about TEAM_SIZE per team; some hired during the year,
    # some moved to another team of their program (KPIs go to the team at the time).
    agent_team = (np.arange(n_agents) * n_teams) // n_agents
    agent_program = team_program[agent_team]
    hired_late = rng.random(n_agents) < 0.15
    hire_idx = np.where(hired_late, rng.integers(0, max(int(n_days * 0.8), 1), n_agents), 0)
    hire_before = rng.integers(30, 2500, n_agents)
    hire_dates = [
        first + dt.timedelta(days=int(hire_idx[a]) if hired_late[a] else -int(hire_before[a]))
        for a in range(n_agents)
    ]
    move_idx = np.full(n_agents, n_days + 1)
    new_team = agent_team.copy()
    teams_of_program = [np.flatnonzero(team_program == p) for p in range(n_programs)]
    for a in np.flatnonzero(rng.random(n_agents) < 0.05):
        choices = teams_of_program[agent_program[a]]
        low, high = int(hire_idx[a]) + 30, n_days - 14
        if len(choices) < 2 or low >= high:
            continue
        move_idx[a] = rng.integers(low, high)
        new_team[a] = rng.choice(choices[choices != agent_team[a]])

    # Schedules: two days off a week, absences, contacts only on days present.
    off = rng.integers(0, 7, n_agents)
    scheduled = (
        (weekday[None, :] != off[:, None])
        & (weekday[None, :] != ((off + 1) % 7)[:, None])
        & (np.arange(n_days)[None, :] >= hire_idx[:, None])
    )
    absent = scheduled & (rng.random((n_agents, n_days)) < 0.04)
    slot_agent, slot_day = np.nonzero(scheduled & ~absent)
    productivity = rng.lognormal(0.0, 0.25, n_agents)
    speed = rng.lognormal(0.0, 0.15, n_agents)
    acw_factor = rng.lognormal(0.0, 0.2, n_agents)
    fcr_p = np.clip(rng.normal(0.74, 0.06, n_agents), 0.3, 0.97)
    csat_p = np.clip(rng.normal(0.78, 0.07, n_agents), 0.3, 0.98)
    transfer_p = np.clip(rng.normal(0.08, 0.025, n_agents), 0.005, 0.3)
    shift_start = rng.integers(6, 14, n_agents)

    # Each agent works one to three of the program's queues, the first most.
    skills = np.zeros((n_agents, 3), dtype=np.int64)
    n_skills = rng.choice([1, 2, 3], size=n_agents, p=[0.3, 0.45, 0.25])
    for a in range(n_agents):
        mine = np.flatnonzero(queue_program_arr == agent_program[a])
        weights = np.array([PROGRAMS[agent_program[a]].queues[i].weight for i in range(len(mine))])
        k = min(int(n_skills[a]), len(mine))
        n_skills[a] = k
        picked = rng.choice(mine, size=k, replace=False, p=weights / weights.sum())
        skills[a, :k] = picked
        skills[a, k:] = picked[0]

    n_unanswered = round(total * UNANSWERED_SHARE)
    n_answered = total - n_unanswered
    weights = productivity[slot_agent] * DAY_LOAD[weekday[slot_day]]
    pick = rng.choice(len(weights), size=n_answered, p=weights / weights.sum())
    a_agent, a_day = slot_agent[pick], slot_day[pick]
    del pick, weights
    k = np.minimum((rng.random(n_answered) ** 1.8 * n_skills[a_agent]).astype(np.int64), 2)
    k = np.minimum(k, n_skills[a_agent] - 1)
    a_queue = skills[a_agent, k]
    a_seconds = shift_start[a_agent] * 3600 + rng.integers(0, int(8.5 * 3600), n_answered)
    a_program = agent_program[a_agent]
    moved = a_day >= move_idx[a_agent]
    a_team = np.where(moved, new_team[a_agent], agent_team[a_agent])

    # Unanswered contacts: the program's share of the answered ones, on its queues.
    per_program = np.bincount(a_program, minlength=n_programs)
    u_counts = allocate(n_unanswered, list(per_program + 1e-9))
    u_program = np.sort(u_counts)
    u_queue = np.empty(n_unanswered, dtype=np.int64)
    for p in range(n_programs):
        mask = u_program == p
        mine = np.flatnonzero(queue_program_arr == p)
        w = np.array([q.weight for q in PROGRAMS[p].queues])
        u_queue[mask] = rng.choice(mine, size=int(mask.sum()), p=w / w.sum())
    day_p = DAY_LOAD[weekday] / DAY_LOAD[weekday].sum()
    u_day = rng.choice(n_days, size=n_unanswered, p=day_p)
    u_seconds = np.clip(rng.normal(13.5 * 3600, 3.3 * 3600, n_unanswered), 0, 86399).astype(int)

    answered = np.concatenate([np.ones(n_answered, bool), np.zeros(n_unanswered, bool)])
    agent = np.concatenate([a_agent, np.full(n_unanswered, -1)]).astype(np.int32)
    team = np.concatenate([a_team, np.full(n_unanswered, -1)]).astype(np.int32)
    day = np.concatenate([a_day, u_day]).astype(np.int32)
    program = np.concatenate([a_program, u_program]).astype(np.int8)
    queue = np.concatenate([a_queue, u_queue]).astype(np.int16)
    seconds = np.concatenate([a_seconds, u_seconds])
    del a_agent, a_day, a_queue, a_seconds, a_team, moved, u_day, u_queue, u_seconds

    # Local times to UTC with each program's offset on that day (DST included).
    offsets = np.zeros((n_programs, n_days), dtype=np.int64)
    for p, spec in enumerate(PROGRAMS):
        zone = zoneinfo.ZoneInfo(spec.timezone)
        for d in range(n_days):
            noon = dt.datetime.combine(first + dt.timedelta(days=d), dt.time(12), tzinfo=zone)
            offsets[p, d] = int(noon.utcoffset().total_seconds())  # type: ignore[union-attr]
    started = (epoch_day0 + day).astype(np.int64) * 86400 + seconds - offsets[program, day]
    del seconds

    call_type = np.empty(total, dtype=np.int16)
    for q, types in enumerate(queue_types):
        mask = queue == q
        w = 1.0 / np.arange(1, len(types) + 1) ** 0.8
        call_type[mask] = rng.choice(types, size=int(mask.sum()), p=w / w.sum())
    call_type[rng.random(total) < 0.03] = -1  # no call type: derived FCR matches on the queue
    channel_of = np.array([list(TALK_MU).index(c) for c in queue_channel])
    channel = channel_of[queue]
    mu = np.array(list(TALK_MU.values()))[channel]
    safe_agent = np.maximum(agent, 0)

    nan = np.float32(np.nan)
    talk = np.where(answered, np.round(rng.lognormal(mu, 0.55) * speed[safe_agent]), nan)
    talk[answered & (rng.random(total) < 0.004)] = nan  # handled, talk time missing
    is_voice = channel == 0
    hold = np.where(
        is_voice & (rng.random(total) < 0.38), np.round(rng.lognormal(3.7, 0.8, total)), 0.0
    )
    hold = np.where(answered, hold, nan)
    acw = np.where(answered, np.round(rng.lognormal(3.3, 0.6, total) * acw_factor[safe_agent]), nan)
    wait_mean = np.array([spec.wait_mean for spec in PROGRAMS])[program]
    wait = np.where(
        answered,
        np.round(rng.exponential(wait_mean)),
        np.round(rng.lognormal(4.0, 0.9, total)),
    )
    del mu, safe_agent
    transferred = answered & (rng.random(total) < transfer_p[np.maximum(agent, 0)])
    escalated = answered & (rng.random(total) < 0.025)
    pool = max(total // 3 // n_programs, 1000)
    known = rng.random(total) < 0.92
    customer_id = rng.integers(1, pool, total).astype(np.uint64) + program.astype(np.uint64) * (
        np.uint64(pool)
    )
    customer = np.where(
        known, ((customer_id * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(1)).astype(np.int64), 0
    )
    del customer_id
    fcr_agent = fcr_p[np.maximum(agent, 0)]
    flag_share = np.array([spec.flag_share for spec in PROGRAMS])[program]
    has_flag = answered & (rng.random(total) < flag_share)
    resolved = np.where(has_flag, (rng.random(total) < fcr_agent).astype(np.int8), -1)
    fcr_derived = np.where(
        answered & known, (rng.random(total) < fcr_agent - 0.04).astype(np.int8), -1
    ).astype(np.int8)
    del fcr_agent, flag_share, has_flag
    surveyed = answered & (rng.random(total) < CSAT_SHARE)
    top = rng.random(total) < csat_p[np.maximum(agent, 0)]
    csat = np.full(total, -1, dtype=np.int16)
    for p, spec in enumerate(PROGRAMS):
        mask = surveyed & (program == p)
        size = int(mask.sum())
        t = top[mask]
        if spec.csat_scale == "1-5":
            values = np.where(t, 4 + (rng.random(size) < 0.6), rng.integers(1, 4, size))
        elif spec.csat_scale == "0-10":
            values = np.where(t, 9 + (rng.random(size) < 0.5), rng.integers(0, 9, size))
        else:
            values = np.where(t, rng.integers(80, 101, size), rng.integers(0, 80, size))
        csat[mask] = values
    nps_share = np.array([spec.nps_share for spec in PROGRAMS])[program]
    nps_values = rng.choice(11, size=total, p=np.array([1, 1, 1, 1, 2, 3, 4, 7, 12, 14, 14]) / 60)
    nps = np.where(answered & (rng.random(total) < nps_share), nps_values, -1).astype(np.int8)
    del top, surveyed, nps_share, nps_values

    # Contacts within 168 h of the program's latest contact are provisional.
    provisional = np.zeros(total, dtype=bool)
    for p in range(n_programs):
        mask = program == p
        if mask.any():
            provisional |= mask & (started > started[mask].max() - 168 * 3600)
    provisional &= answered & known

    # In time order, as daily imports would write them.
    order = np.argsort(started, kind="stable")
    facts = {
        "started": started,
        "day": day,
        "program": program,
        "agent": agent,
        "team": team,
        "queue": queue,
        "call_type": call_type,
        "answered": answered,
        "customer": customer,
        "wait": wait.astype(np.float32),
        "talk": talk.astype(np.float32),
        "hold": hold.astype(np.float32),
        "acw": acw.astype(np.float32),
        "transferred": transferred,
        "escalated": escalated,
        "resolved": resolved.astype(np.int8),
        "fcr_derived": fcr_derived,
        "fcr_provisional": provisional,
        "csat": csat,
        "nps": nps,
    }
    (folder / "facts").mkdir(parents=True, exist_ok=True)
    for name in FACT_ARRAYS:
        np.save(folder / "facts" / f"{name}.npy", facts.pop(name)[order])
    del order

    # WFM days of the active agents.
    day_agent, day_day = np.nonzero(scheduled)
    day_team = np.where(day_day >= move_idx[day_agent], new_team[day_agent], agent_team[day_agent])
    part_time = rng.random(n_agents) < 0.15
    sched_s = np.where(part_time[day_agent], 21600.0, 28800.0)
    day_absent = absent[day_agent, day_day]
    size = len(day_agent)
    logged = np.where(
        day_absent, 0.0, np.round(sched_s * np.clip(rng.normal(1, 0.04, size), 0.8, 1.1))
    )
    productive = np.round(logged * np.clip(rng.normal(0.82, 0.05, size), 0.5, 0.98))
    adherent = np.where(
        day_absent, 0.0, np.round(sched_s * np.clip(rng.normal(0.91, 0.04, size), 0.6, 1.0))
    )
    days = {
        "agent": day_agent.astype(np.int32),
        "day": day_day.astype(np.int32),
        "team": day_team.astype(np.int32),
        "scheduled": sched_s,
        "logged_in": logged,
        "productive": productive,
        "adherent": adherent,
        "absent": day_absent,
    }
    (folder / "days").mkdir(parents=True, exist_ok=True)
    for name in DAY_ARRAYS:
        np.save(folder / "days" / f"{name}.npy", days[name])

    # People: active agents, then the rest of the roster, then leads, managers, one admin.
    people: list[dict[str, Any]] = []
    memberships: list[tuple[int, int, str, str | None]] = []
    roles: list[tuple[int, str, int | None, int | None, str | None]] = []
    for a in range(n_agents):
        people.append(person(f"A{a + 1:05d}", f"Agent {a + 1}", hire_dates[a]))
        p = int(agent_program[a])
        roles.append((a, "agent", p, None, None))
        if move_idx[a] <= n_days:
            moved_on = (first + dt.timedelta(days=int(move_idx[a]))).isoformat()
            memberships.append((a, int(agent_team[a]), hire_dates[a].isoformat(), moved_on))
            memberships.append((a, int(new_team[a]), moved_on, None))
        else:
            memberships.append((a, int(agent_team[a]), hire_dates[a].isoformat(), None))
    all_teams = n_teams + n_other_teams
    for j in range(others):
        index = n_agents + j
        number = index + 1
        if j < leavers:
            left = first - dt.timedelta(days=int(rng.integers(1, 380)))
            hired = left - dt.timedelta(days=int(rng.integers(60, 2000)))
            t = int(rng.integers(0, all_teams))
            people.append(person(f"A{number:05d}", f"Former agent {number}", hired, left))
            roles.append((index, "agent", int(all_team_program[t]), None, left.isoformat()))
            memberships.append((index, t, hired.isoformat(), left.isoformat()))
        else:
            hired = first - dt.timedelta(days=int(rng.integers(30, 2500)))
            t = n_teams + ((j - leavers) * n_other_teams) // others_current
            people.append(person(f"A{number:05d}", f"Back-office agent {number}", hired))
            roles.append((index, "agent", int(all_team_program[t]), None, None))
            memberships.append((index, t, hired.isoformat(), None))
    staff_hired = first - dt.timedelta(days=900)
    leads = []
    for t in range(all_teams):
        index = len(people)
        people.append(person(f"L{t + 1:04d}", f"Lead {t + 1}", staff_hired))
        roles.append((index, "lead", int(all_team_program[t]), t, None))
        leads.append(index)
    managers = []
    for p, spec in enumerate(PROGRAMS):
        index = len(people)
        people.append(person(f"M{p + 1:02d}", f"Manager {spec.name}", staff_hired))
        roles.append((index, "manager", p, None, None))
        managers.append(index)
    admin = len(people)
    people.append(person("ADMIN", "Org admin", staff_hired))
    roles.append((admin, "admin", None, None, None))

    org = {
        "first": first.isoformat(),
        "last": last.isoformat(),
        "days": n_days,
        "interactions": total,
        "agent_days": int(size),
        "agents": n_agents,
        "queues": [
            {"name": n, "channel": c, "program": p}
            for n, c, p in zip(queue_names, queue_channel, queue_program, strict=True)
        ],
        "call_types": call_types,
        "teams": teams,
        "people": people,
        "memberships": memberships,
        "roles": roles,
        "leads": leads,
        "managers": managers,
        "admin": admin,
        "current_team": [int(t) for t in new_team],
    }
    (folder / "org.json").write_text(json.dumps(org))
    return org


def person(
    external_id: str, name: str, hired: dt.date, left: dt.date | None = None
) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "name": name,
        "email": f"{external_id.lower()}@bench.example",
        "hire_date": hired.isoformat(),
        "termination_date": left.isoformat() if left else None,
    }


# --- stage: load (a child process with Django set up on one database) --------------------------


def django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coachloop.settings")
    import django

    django.setup()


def is_postgres() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"


def create_org(org: dict[str, Any]) -> dict[str, Any]:
    """Programs, sites and teams through the services; people, roles and memberships in bulk."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    from coachloop.org import services
    from coachloop.org.models import ExternalId, Membership, Person, RoleAssignment

    organization = services.organization_get()
    programs = [
        services.program_create(
            code=spec.code,
            name=spec.name,
            client=spec.client,
            channels=sorted({q.channel for q in spec.queues}),
            timezone=spec.timezone,
            first_weekday=spec.first_weekday,
            by=None,
        )
        for spec in PROGRAMS
    ]
    sites = [
        services.site_create(code=f"bench-site-{n}", name=f"Site {n}", by=None) for n in (1, 2)
    ]
    teams = [
        services.team_create(
            program=programs[team["program"]],
            code=team["code"],
            name=team["name"],
            site=sites[i % 2],
            by=None,
        )
        for i, team in enumerate(org["teams"])
    ]
    people = Person.objects.bulk_create(
        [
            Person(
                organization=organization,
                external_id=p["external_id"],
                name=p["name"],
                email=p["email"],
                hire_date=dt.date.fromisoformat(p["hire_date"]),
                termination_date=(
                    dt.date.fromisoformat(p["termination_date"]) if p["termination_date"] else None
                ),
                termination_reason="resigned" if p["termination_date"] else "",
            )
            for p in org["people"]
        ],
        batch_size=2000,
    )
    ExternalId.objects.bulk_create(
        [ExternalId(person=p, source="canonical", external_id=p.external_id) for p in people],
        batch_size=2000,
    )
    staff = [*org["leads"], *org["managers"], org["admin"]]
    user_model = get_user_model()
    unusable = make_password(None)
    users = user_model.objects.bulk_create(
        [user_model(username=people[i].external_id.lower(), password=unusable) for i in staff]
    )
    for index, user in zip(staff, users, strict=True):
        people[index].user = user
    Person.objects.bulk_update([people[i] for i in staff], ["user"], batch_size=1000)
    RoleAssignment.objects.bulk_create(
        [
            RoleAssignment(
                person=people[i],
                role=role,
                program=programs[p] if p is not None else None,
                team=teams[t] if t is not None else None,
                ended_on=dt.date.fromisoformat(ended) if ended else None,
            )
            for i, role, p, t, ended in org["roles"]
        ],
        batch_size=2000,
    )
    Membership.objects.bulk_create(
        [
            Membership(
                person=people[i],
                team=teams[t],
                valid_from=dt.date.fromisoformat(start),
                valid_to=dt.date.fromisoformat(end) if end else None,
            )
            for i, t, start, end in org["memberships"]
        ],
        batch_size=2000,
    )
    return {
        "programs": [p.pk for p in programs],
        "teams": [t.pk for t in teams],
        "people": [p.pk for p in people],
        "lead_users": [people[i].user_id for i in org["leads"]],
        "manager_users": [people[i].user_id for i in org["managers"]],
        "admin_user": people[org["admin"]].user_id,
    }


@contextmanager
def bulk_load_mode(table: str) -> Iterator[None]:
    """Load as pg_restore does: without the table's plain indexes and, on PostgreSQL, without
    its unique and foreign-key constraints; afterwards every one is built again exactly as it
    was (re-adding a constraint checks every row, so nothing goes in unchecked)."""
    from django.db import connection

    with connection.cursor() as cursor:
        constraints: list[tuple[str, str]] = []
        if is_postgres():
            cursor.execute(
                "SELECT c.relname, pg_get_indexdef(c.oid) FROM pg_index x "
                "JOIN pg_class c ON c.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
                "WHERE t.relname = %s AND NOT EXISTS "
                "(SELECT 1 FROM pg_constraint k WHERE k.conindid = c.oid)",
                [table],
            )
            indexes = cursor.fetchall()
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = %s::regclass AND contype IN ('u', 'f') ORDER BY contype DESC",
                [table],
            )
            constraints = cursor.fetchall()
            for name, _ in constraints:
                cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        else:
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s "
                "AND sql IS NOT NULL",
                [table],
            )
            indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for _, sql in indexes:
                cursor.execute(sql)
            for name, definition in constraints:
                cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')


def prefetched(items: Iterator[Any]) -> Iterator[Any]:
    """The items, each made in a thread while the one before is written."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(next, items, None)
        while (item := future.result()) is not None:
            future = pool.submit(next, items, None)
            yield item


def load_frames(table: str, text_columns: tuple[str, ...], frames: Iterator[Any]) -> None:
    """Write polars frames into ``table`` (its columns named as the frame's), a transaction per
    frame: COPY of CSV on PostgreSQL, executemany on SQLite."""
    from django.db import connection, transaction

    postgres = is_postgres()

    def encoded() -> Iterator[tuple[list[str], Any]]:
        import io

        for frame in frames:
            if postgres:
                buffer = io.BytesIO()
                frame.write_csv(
                    buffer, include_header=False, null_value="", quote_style="non_numeric"
                )
                yield frame.columns, buffer.getvalue()
            else:
                yield frame.columns, frame

    for columns, payload in prefetched(encoded()):
        names = ", ".join(f'"{n}"' for n in columns)
        with transaction.atomic(), connection.cursor() as cursor:
            if postgres:
                not_null = ", ".join(f'"{n}"' for n in text_columns)
                force = f", FORCE_NOT_NULL ({not_null})" if text_columns else ""
                with cursor.copy(
                    f"COPY {table} ({names}) FROM STDIN WITH (FORMAT csv{force})"
                ) as copy:
                    copy.write(payload)
            else:
                # The sqlite3 connection itself, inside Django's transaction: Django's wrapper
                # would add a per-row cost to executemany.
                marks = ", ".join(["?"] * len(columns))
                connection.connection.executemany(
                    f"INSERT INTO {table} ({names}) VALUES ({marks})", payload.iter_rows()
                )


def interaction_frames(
    folder: Path, org: dict[str, Any], ids: dict[str, Any], postgres: bool
) -> Iterator[Any]:
    import polars as pl

    arrays = {n: np.load(folder / "facts" / f"{n}.npy", mmap_mode="r") for n in FACT_ARRAYS}
    program_pk = np.array(ids["programs"])
    person_pk = np.array(ids["people"])
    team_pk = np.array(ids["teams"])
    queues = org["queues"]
    queue_names = pl.Series([q["name"] for q in queues])
    queue_channels = pl.Series([q["channel"] for q in queues])
    call_types = pl.Series(org["call_types"])
    first = dt.date.fromisoformat(org["first"])
    scales = pl.Series([spec.csat_scale for spec in PROGRAMS])
    low = {"1-5": 1.0, "0-10": 0.0, "percent": 0.0}
    high = {"1-5": 5.0, "0-10": 10.0, "percent": 100.0}
    cut = {"1-5": 4.0, "0-10": 9.0, "percent": 80.0}
    scale_low = np.array([low[s.csat_scale] for s in PROGRAMS])
    scale_high = np.array([high[s.csat_scale] for s in PROGRAMS])
    scale_cut = np.array([cut[s.csat_scale] for s in PROGRAMS])
    stamp = "%Y-%m-%d %H:%M:%S+00" if postgres else "%Y-%m-%d %H:%M:%S"
    total = len(arrays["started"])
    for start in range(0, total, CHUNK_ROWS):
        part = {n: np.asarray(a[start : start + CHUNK_ROWS]) for n, a in arrays.items()}
        rows = len(part["started"])
        program = part["program"].astype(np.int64)
        agent, team = part["agent"], part["team"]
        call_type = part["call_type"].astype(np.int64)
        csat = part["csat"].astype(np.float64)
        has_csat = csat >= 0
        norm = 1 + (csat - scale_low[program]) * 4 / (scale_high[program] - scale_low[program])
        queue_names_part = queue_names.gather(part["queue"].astype(np.int64))
        call_type_part = call_types.gather(np.maximum(call_type, 0)).set(
            pl.Series(call_type < 0), ""
        )
        frame = pl.DataFrame(
            {
                "program_id": program_pk[program],
                "source": pl.repeat("canonical", rows, eager=True),
                "external_id": pl.Series(np.arange(start, start + rows)).cast(pl.String),
                "channel": queue_channels.gather(part["queue"].astype(np.int64)),
                "queue": queue_names_part,
                "call_type": call_type_part,
                "agent_id": np.where(agent >= 0, person_pk[np.maximum(agent, 0)], -1),
                "team_id": np.where(team >= 0, team_pk[np.maximum(team, 0)], -1),
                "customer_hash": pl.Series(part["customer"]).cast(pl.String),
                "started_at": pl.from_epoch(pl.Series(part["started"]), time_unit="s"),
                "local_date": pl.Series(
                    (first - dt.date(1970, 1, 1)).days + part["day"].astype(np.int32)
                ).cast(pl.Date),
                "answered": part["answered"],
                "wait_s": part["wait"].astype(np.float64),
                "talk_s": part["talk"].astype(np.float64),
                "hold_s": part["hold"].astype(np.float64),
                "acw_s": part["acw"].astype(np.float64),
                "transferred": part["transferred"],
                "escalated": part["escalated"],
                "resolved": part["resolved"],
                "fcr_derived": part["fcr_derived"],
                "fcr_provisional": part["fcr_provisional"],
                "csat_raw": np.where(has_csat, csat, np.nan),
                "csat_scale": scales.gather(program).set(pl.Series(~has_csat), ""),
                "csat_norm": np.where(has_csat, norm, np.nan),
                "csat_top2": np.where(has_csat, (csat >= scale_cut[program]).astype(np.int8), -1),
                "nps": part["nps"],
                "recording_url": pl.repeat("", rows, eager=True),
            }
        )
        frame = frame.with_columns(
            ("B" + pl.col("external_id").str.zfill(10)).alias("external_id"),
            pl.when(pl.col("call_type") == "")
            .then(pl.col("queue"))
            .otherwise(pl.col("call_type"))
            .alias("fcr_topic"),
            pl.when(pl.col("customer_hash") == "0")
            .then(pl.lit(""))
            .otherwise(pl.col("customer_hash"))
            .alias("customer_hash"),
            pl.col("started_at").dt.strftime(stamp),
            *[
                pl.when(pl.col(c) < 0).then(None).otherwise(pl.col(c)).alias(c)
                for c in ("agent_id", "team_id", "nps")
            ],
            *[
                pl.when(pl.col(c) < 0).then(None).otherwise(pl.col(c) == 1).alias(c)
                for c in ("resolved", "fcr_derived", "csat_top2")
            ],
            *[
                pl.col(c).fill_nan(None)
                for c in ("wait_s", "talk_s", "hold_s", "acw_s", "csat_raw", "csat_norm")
            ],
        )
        if not postgres:
            frame = frame.with_columns(pl.col("local_date").dt.strftime("%Y-%m-%d"))
        yield frame


def agent_day_frames(folder: Path, org: dict[str, Any], ids: dict[str, Any]) -> Iterator[Any]:
    import polars as pl

    arrays = {n: np.load(folder / "days" / f"{n}.npy") for n in DAY_ARRAYS}
    person_pk = np.array(ids["people"])
    team_pk = np.array(ids["teams"])
    program_pk = np.array(ids["programs"])
    team_program = np.array([t["program"] for t in org["teams"]])
    first = dt.date.fromisoformat(org["first"])
    dates = pl.Series((first - dt.date(1970, 1, 1)).days + arrays["day"]).cast(pl.Date)
    frame = pl.DataFrame(
        {
            "agent_id": person_pk[arrays["agent"]],
            "date": dates.dt.strftime("%Y-%m-%d"),
            "program_id": program_pk[team_program[arrays["team"]]],
            "team_id": team_pk[arrays["team"]],
            "scheduled_s": arrays["scheduled"],
            "logged_in_s": arrays["logged_in"],
            "productive_s": arrays["productive"],
            "adherent_s": arrays["adherent"],
            "absent": arrays["absent"],
        }
    )
    for start in range(0, frame.height, CHUNK_ROWS):
        yield frame.slice(start, CHUNK_ROWS)


INTERACTION_TEXT = (
    "source",
    "external_id",
    "channel",
    "queue",
    "call_type",
    "fcr_topic",
    "customer_hash",
    "csat_scale",
    "recording_url",
)


def stage_load(folder: Path, database: str) -> dict[str, Any]:
    django_setup()
    from django.db import connection

    org = json.loads((folder / "org.json").read_text())
    timings: dict[str, Any] = {}
    started = time.perf_counter()
    ids = create_org(org)
    timings["org_s"] = time.perf_counter() - started
    (folder / f"ids-{database}.json").write_text(json.dumps(ids))
    postgres = is_postgres()
    with connection.cursor() as cursor:
        if postgres:
            cursor.execute("SET maintenance_work_mem = '1GB'")
        else:
            # A bulk load: the app's own settings (WAL, synchronous=NORMAL) apply again after.
            cursor.execute("PRAGMA synchronous = OFF")
            cursor.execute("PRAGMA cache_size = -1000000")

    started = time.perf_counter()
    index_started = 0.0
    with bulk_load_mode("interactions_interaction"):
        load_frames(
            "interactions_interaction",
            INTERACTION_TEXT,
            interaction_frames(folder, org, ids, postgres),
        )
        index_started = time.perf_counter()
    timings["interactions_s"] = index_started - started
    timings["interaction_indexes_s"] = time.perf_counter() - index_started
    started = time.perf_counter()
    with bulk_load_mode("interactions_agentday"):
        load_frames("interactions_agentday", (), agent_day_frames(folder, org, ids))
    timings["agent_days_s"] = time.perf_counter() - started
    started = time.perf_counter()
    with connection.cursor() as cursor:
        if postgres:
            cursor.execute("VACUUM ANALYZE interactions_interaction")
            cursor.execute("VACUUM ANALYZE interactions_agentday")
        else:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    timings["vacuum_analyze_s"] = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM interactions_interaction")
        timings["interactions"] = cursor.fetchone()[0]
        cursor.execute("SELECT COUNT(*) FROM interactions_agentday")
        timings["agent_days"] = cursor.fetchone()[0]
    return timings


# --- stage: measure ----------------------------------------------------------------------------

SUMS = (
    "COUNT(*) AS contacts, "
    "SUM(CASE WHEN answered THEN 1 ELSE 0 END) AS handled, "
    "SUM(CASE WHEN answered AND talk_s IS NOT NULL THEN 1 ELSE 0 END) AS aht_n, "
    "SUM(CASE WHEN answered AND talk_s IS NOT NULL "
    "THEN talk_s + COALESCE(hold_s, 0) + COALESCE(acw_s, 0) ELSE 0 END) AS aht_sum, "
    "SUM(CASE WHEN answered AND COALESCE(resolved, fcr_derived) IS NOT NULL THEN 1 ELSE 0 END) "
    "AS fcr_n, "
    "SUM(CASE WHEN answered AND COALESCE(resolved, fcr_derived) THEN 1 ELSE 0 END) "
    "AS fcr_resolved, "
    "SUM(CASE WHEN csat_norm IS NOT NULL THEN 1 ELSE 0 END) AS csat_n, "
    "SUM(CASE WHEN csat_top2 THEN 1 ELSE 0 END) AS csat_top2, "
    "SUM(CASE WHEN answered AND transferred THEN 1 ELSE 0 END) AS transferred"
)
SUM_NAMES = (
    "contacts",
    "handled",
    "aht_n",
    "aht_sum",
    "fcr_n",
    "fcr_resolved",
    "csat_n",
    "csat_top2",
    "transferred",
)
# metric slug: (numerator, denominator) among SUM_NAMES
CHECKED = {
    "aht": ("aht_sum", "aht_n"),
    "fcr": ("fcr_resolved", "fcr_n"),
    "csat": ("csat_top2", "csat_n"),
    "transfer_rate": ("transferred", "handled"),
}


def week_sql(postgres: bool, first_weekday: int) -> str:
    """The first day of local_date's week (weeks start on the program's first weekday)."""
    if postgres:
        return f"local_date - ((EXTRACT(ISODOW FROM local_date)::int + {6 - first_weekday}) %% 7)"
    return (
        "date(local_date, '-' || ((CAST(strftime('%%w', local_date) AS INTEGER) + "
        f"{13 - first_weekday}) %% 7) || ' days')"
    )


@dataclass
class Planned:
    url: str
    user_id: int
    window: str
    sql: str
    params: list[Any]


def window_for(
    kind: str, latest: dt.date, first_weekday: int, days: int, rng: np.random.Generator
) -> tuple[str, dt.date, dt.date]:
    """(page query string, start, end) of a window ending at the program's latest day."""
    if kind == "week":
        start = latest - dt.timedelta(days=(latest.weekday() - first_weekday) % 7)
        return "period=week", start, latest
    if kind == "4w":
        return "period=4w", latest - dt.timedelta(days=27), latest
    if kind == "13w":
        return "period=13w", latest - dt.timedelta(days=90), latest
    if kind == "365d":
        start = latest - dt.timedelta(days=364)
    else:
        length = int(rng.integers(7, 121))
        end = latest - dt.timedelta(days=int(rng.integers(0, days - length)))
        start, latest = end - dt.timedelta(days=length - 1), end
    return f"period=custom&start={start.isoformat()}&end={latest.isoformat()}", start, latest


def plan(
    page: str, org: dict[str, Any], ids: dict[str, Any], latest: dict[int, dt.date], count: int
) -> list[Planned]:
    """``count`` requests of one page, cycling over windows, with random subjects."""
    rng = np.random.default_rng(list(PAGE_LABELS).index(page) + 100)
    postgres = is_postgres()
    n_agents = org["agents"]
    active_teams = [i for i, t in enumerate(org["teams"]) if t["active"]]
    current = org["current_team"]
    members: dict[int, list[int]] = {t: [] for t in active_teams}
    for a in range(n_agents):
        members[current[a]].append(ids["people"][a])
    planned = []
    for i in range(count):
        kind = WINDOWS[i % len(WINDOWS)]
        if page in ("team", "api_team"):
            t = int(rng.choice(active_teams))
            p = org["teams"][t]["program"]
        elif page in ("agent", "api_agent"):
            a = int(rng.integers(0, n_agents))
            t = current[a]
            p = org["teams"][t]["program"]
        else:
            p = i // len(WINDOWS) % len(PROGRAMS)
        spec = PROGRAMS[p]
        program_pk = ids["programs"][p]
        query, start, end = window_for(kind, latest[p], spec.first_weekday, org["days"], rng)
        window = [start, end]
        if page == "team":
            agents = members[t] or [-1]
            marks = ", ".join(["%s"] * len(agents))
            item = Planned(
                f"/teams/{ids['teams'][t]}/?{query}",
                ids["lead_users"][t],
                kind,
                f"SELECT agent_id, {SUMS} FROM interactions_interaction WHERE program_id = %s "
                f"AND agent_id IN ({marks}) AND local_date BETWEEN %s AND %s GROUP BY agent_id",
                [program_pk, *agents, *window],
            )
        elif page == "agent":
            item = Planned(
                f"/agents/{ids['people'][a]}/?{query}",
                ids["lead_users"][t],
                kind,
                f"SELECT {week_sql(postgres, spec.first_weekday)} AS week, {SUMS} "
                "FROM interactions_interaction WHERE agent_id = %s AND program_id = %s "
                "AND local_date BETWEEN %s AND %s GROUP BY 1",
                [ids["people"][a], program_pk, *window],
            )
        elif page == "program":
            item = Planned(
                f"/programs/{program_pk}/?{query}",
                ids["manager_users"][p],
                kind,
                f"SELECT team_id, {SUMS} FROM interactions_interaction WHERE program_id = %s "
                "AND local_date BETWEEN %s AND %s GROUP BY team_id",
                [program_pk, *window],
            )
        elif page == "api_agent":
            item = Planned(
                f"/api/v1/agents/{ids['people'][a]}/kpis?start={start}&end={end}",
                ids["manager_users"][p],
                kind,
                f"SELECT {SUMS} FROM interactions_interaction WHERE agent_id = %s "
                "AND program_id = %s AND local_date BETWEEN %s AND %s",
                [ids["people"][a], program_pk, *window],
            )
        else:
            item = Planned(
                f"/api/v1/teams/{ids['teams'][t]}/kpis?start={start}&end={end}",
                ids["manager_users"][p],
                kind,
                f"SELECT {SUMS} FROM interactions_interaction WHERE program_id = %s "
                "AND team_id = %s AND local_date BETWEEN %s AND %s",
                [program_pk, ids["teams"][t], *window],
            )
        planned.append(item)
    return planned


def profile(get: Any, items: list[Planned]) -> str:
    """Where the time of a few requests goes: the top functions by cumulative time."""
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    for item in items:
        get(item)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(r"coachloop", 25)
    return out.getvalue()


def short_sql(sql: str) -> str:
    """SQL with its long lists of measure sums and selected columns folded."""
    sql = " ".join(sql.split())
    sql = re.sub(r'(SUM\([^)]*\) AS "m__\w+", )*SUM\([^)]*\) AS "m__\w+"', "SUM(...)", sql)
    return re.sub(r'SELECT ("\w+"\."\w+", ){3,}"\w+"\."\w+"', "SELECT ...", sql)


def percentiles(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    return float(np.percentile(values, 50)), float(np.percentile(values, 95))


def compare(payload: Any, sums: dict[str, float]) -> list[str]:
    """Differences between the API's KPIs and the raw sums."""
    problems = []
    metrics = {m.get("metric"): m for m in (payload or {}).get("metrics", [])}
    for slug, (numerator, denominator) in CHECKED.items():
        metric = metrics.get(slug)
        if metric is None:
            problems.append(f"{slug}: missing from the answer")
            continue
        n = float(sums[denominator] or 0)
        expected = float(sums[numerator] or 0) / n if n else None
        if metric.get("n") != round(n):
            problems.append(f"{slug}: n {metric.get('n')} != {round(n)}")
        value = metric.get("value")
        if expected is None:
            if value is not None:
                problems.append(f"{slug}: value {value} where n is 0")
        elif value is None or abs(value - expected) > max(
            abs(expected) * 1e-3, 0.051 if slug == "aht" else 5e-4
        ):
            problems.append(f"{slug}: value {value} != {expected:.4f}")
    return problems


def stage_measure(folder: Path, database: str, options: argparse.Namespace) -> dict[str, Any]:
    django_setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from coachloop.metrics.models import AgentDaily, DailyRollup, PeerPrior, ProgramDaily
    from coachloop.metrics.selectors import latest_day
    from coachloop.org.models import Program

    # Failures are counted and shown below; the request log would repeat each one.
    logging.getLogger("django.request").setLevel(logging.CRITICAL)
    logging.getLogger("django.security").setLevel(logging.CRITICAL)
    org = json.loads((folder / "org.json").read_text())
    ids = json.loads((folder / f"ids-{database}.json").read_text())
    result: dict[str, Any] = {"pages": {}}
    started = time.perf_counter()
    if is_postgres():
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE metrics_dailyrollup, metrics_agentdaily, metrics_programdaily")
    result["analyze_rollups_s"] = time.perf_counter() - started
    result["rollups"] = {
        model.__name__: model.objects.count()
        for model in (DailyRollup, AgentDaily, ProgramDaily, PeerPrior)
    }
    latest: dict[int, dt.date] = {}
    for p, pk in enumerate(ids["programs"]):
        day = latest_day(Program.objects.get(pk=pk))
        latest[p] = day or dt.date.fromisoformat(org["last"])
    user_model = get_user_model()
    clients: dict[int, Client] = {}

    def client_for(user_id: int) -> Client:
        if user_id not in clients:
            client = Client(HTTP_HOST="localhost")
            client.force_login(user_model.objects.get(pk=user_id))
            clients[user_id] = client
        return clients[user_id]

    def get(item: Planned) -> tuple[float, int, str, Any]:
        client = client_for(item.user_id)
        began = time.perf_counter()
        try:
            response = client.get(item.url)
        except Exception as exc:
            return time.perf_counter() - began, 0, f"{type(exc).__name__}: {exc}"[:300], None
        elapsed = time.perf_counter() - began
        body = None
        if response.status_code == 200 and item.url.startswith("/api/"):
            try:
                body = json.loads(response.content)
            except ValueError:
                body = None
        text = "" if response.status_code == 200 else response.content.decode()[:300]
        return elapsed, response.status_code, text, body

    for page in options.pages.split(","):
        planned = plan(page, org, ids, latest, options.requests)
        print(f"  {database}: {PAGE_LABELS[page]} x {len(planned)}", file=sys.stderr, flush=True)
        for item in planned[:3]:  # warm-up: templates, URL resolvers, the database's caches
            get(item)
        times, failures, bodies = [], [], {}
        by_window: dict[str, list[float]] = {kind: [] for kind in WINDOWS}
        raw_count = min(options.raw_requests, len(planned))
        for index, item in enumerate(planned):
            elapsed, status, text, body = get(item)
            if status == 200:
                times.append(elapsed)
                by_window[item.window].append(elapsed)
                if index < raw_count:
                    bodies[index] = body
            else:
                failures.append({"status": status, "url": item.url, "text": text})
        # Queries per request, on a 365-day window: how many, and the slowest three.
        sample = next((item for item in planned if item.window == "365d"), planned[0])
        with CaptureQueriesContext(connection) as captured:
            get(sample)
        slowest = sorted(captured.captured_queries, key=lambda q: -float(q["time"]))[:3]
        raw_times, mismatches = [], []
        with connection.cursor() as cursor:
            for index, item in enumerate(planned[:raw_count]):
                began = time.perf_counter()
                cursor.execute(item.sql, item.params)
                rows = cursor.fetchall()
                raw_times.append(time.perf_counter() - began)
                if page.startswith("api_") and bodies.get(index) is not None:
                    sums = dict(zip(SUM_NAMES, rows[0], strict=True))
                    problems = compare(bodies[index], sums)
                    if problems:
                        mismatches.append({"url": item.url, "problems": problems})
        p50, p95 = percentiles(times)
        raw50, raw95 = percentiles(raw_times)
        result["pages"][page] = {
            "requests": len(planned),
            "ok": len(times),
            "p50_ms": p50 * 1000 if p50 is not None else None,
            "p95_ms": p95 * 1000 if p95 is not None else None,
            "raw_p50_ms": raw50 * 1000 if raw50 is not None else None,
            "raw_p95_ms": raw95 * 1000 if raw95 is not None else None,
            "raw_requests": len(raw_times),
            "windows": {
                kind: [None if v is None else v * 1000 for v in percentiles(values)]
                for kind, values in by_window.items()
            },
            "queries": len(captured.captured_queries),
            "queries_url": sample.url,
            "slowest": [{"ms": float(q["time"]) * 1000, "sql": q["sql"][:5000]} for q in slowest],
            "profile": profile(get, planned[:5]) if options.profile else "",
            "failures": failures,
            "checked": len([b for b in bodies.values() if b is not None]),
            "mismatches": mismatches,
        }
    return result


# --- the parent: build, run the stages per database, print -------------------------------------


def run(env: dict[str, str], *args: str, quiet: bool = True) -> float:
    started = time.perf_counter()
    completed = subprocess.run(
        list(args), env=env, capture_output=quiet, text=True, check=False, cwd=ROOT
    )
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        output = f"{completed.stdout or ''}\n{completed.stderr or ''}"[-4000:]
        raise RuntimeError(f"{' '.join(args[1:])} failed:\n{output}")
    return elapsed


def postgres_admin(statement: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as connection:
        connection.execute(statement)


def database_env(database: str, folder: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "COACHLOOP_HOME": str(folder / f"home-{database}"),
        "DJANGO_SETTINGS_MODULE": "coachloop.settings",
        "COACHLOOP_LOG_LEVEL": "WARNING",
    }
    env.pop("DATABASE_URL", None)
    if database == "postgresql":
        env["DATABASE_URL"] = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{PG_DB}"
    return env


def bench_database(database: str, folder: Path, options: argparse.Namespace) -> dict[str, Any]:
    env = database_env(database, folder)
    home = Path(env["COACHLOOP_HOME"])
    if not options.reuse:
        shutil.rmtree(home, ignore_errors=True)
    if database == "postgresql" and not options.reuse:
        postgres_admin(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        postgres_admin(f"CREATE DATABASE {PG_DB}")
    me = [sys.executable, str(Path(__file__).resolve())]
    common = ["--workdir", str(folder), "--database", database]
    phases: dict[str, Any] = {}
    print(f"{database}: migrate, collectstatic", file=sys.stderr, flush=True)
    phases["migrate_s"] = run(env, *COACHLOOP, "migrate", "--noinput")
    run(env, *COACHLOOP, "collectstatic", "--noinput")
    if not options.reuse:
        print(f"{database}: loading the org and the facts", file=sys.stderr, flush=True)
        run(env, *me, "--stage", "load", *common, quiet=False)
    phases.update(json.loads((folder / f"load-{database}.json").read_text()))
    print(f"{database}: coachloop recompute --all", file=sys.stderr, flush=True)
    phases["recompute_s"] = run(env, *COACHLOOP, "recompute", "--all")
    print(f"{database}: measuring", file=sys.stderr, flush=True)
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    run(
        env,
        *me,
        "--stage",
        "measure",
        *common,
        "--requests",
        str(options.requests),
        "--raw-requests",
        str(options.raw_requests),
        "--pages",
        options.pages,
        *(["--profile"] if options.profile else []),
        quiet=False,
    )
    phases["measure_s"] = time.perf_counter() - started
    phases["load_average"] = (load_before, os.getloadavg()[0])
    measured = json.loads((folder / f"measure-{database}.json").read_text())
    if database == "sqlite":
        size = (home / "coachloop.sqlite3").stat().st_size
    else:
        import psycopg

        with psycopg.connect(env["DATABASE_URL"]) as connection:
            row = connection.execute("SELECT pg_database_size(current_database())").fetchone()
            size = int(row[0]) if row else 0
    phases["database_gb"] = size / 1e9
    return {"phases": phases, **measured}


def ms(value: float | None) -> str:
    return f"{value:.1f}" if value is not None else "n/a"


def report(results: dict[str, dict[str, Any]], build_s: float, org: dict[str, Any]) -> None:
    print()
    print(
        f"dataset: {org['interactions']:,} interactions, {org['agent_days']:,} agent-days, "
        f"{org['agents']:,} active agents of {len(org['people']):,} people, "
        f"{sum(t['active'] for t in org['teams'])} teams with contacts "
        f"({len(org['teams'])} in all), {org['first']}..{org['last']}; built in {build_s:.1f} s"
    )
    for database, result in results.items():
        ph = result["phases"]
        print(
            f"{database}: migrate {ph['migrate_s']:.1f} s; org {ph['org_s']:.1f} s; "
            f"interactions {ph['interactions_s']:.1f} s + indexes and constraints "
            f"{ph['interaction_indexes_s']:.1f} s "
            f"({ph['interactions'] / max(ph['interactions_s'], 1e-9):,.0f} rows/s); "
            f"agent-days {ph['agent_days_s']:.1f} s; "
            f"vacuum/analyze {ph['vacuum_analyze_s']:.1f} s; "
            f"recompute --all {ph['recompute_s']:.1f} s; measuring {ph['measure_s']:.1f} s; "
            f"database {ph['database_gb']:.2f} GB"
        )
        before, after = ph["load_average"]
        print(
            f"{database}: 1-minute load average before/after measuring {before:.1f}/{after:.1f} "
            f"on {os.cpu_count()} CPUs (other work on the machine skews the timings)"
        )
        counts = ", ".join(f"{name} {count:,}" for name, count in result["rollups"].items())
        print(f"{database}: rollup rows: {counts}")
    print()
    header = (
        f"{'database':<10} {'page':<15} {'p50 ms':>8} {'p95 ms':>8} {'target':>7} "
        f"{'raw SQL p50/p95 ms':>19} {'queries':>8} {'ok/req':>8}  met?"
    )
    print(header)
    for database, result in results.items():
        factor = 1.0 if database == "postgresql" else 2.0
        for page, row in result["pages"].items():
            target = TARGET_MS[page] * factor
            if row["ok"] < row["requests"]:
                met = f"FAILED ({row['requests'] - row['ok']} errors)"
            elif row["p95_ms"] is not None and row["p95_ms"] <= target:
                met = "met"
            else:
                met = "MISSED"
            if row["mismatches"]:
                met += f", {len(row['mismatches'])} wrong numbers"
            raw = f"{ms(row['raw_p50_ms'])}/{ms(row['raw_p95_ms'])}"
            print(
                f"{database:<10} {PAGE_LABELS[page]:<15} {ms(row['p50_ms']):>8} "
                f"{ms(row['p95_ms']):>8} {target:>7.0f} {raw:>19} {row['queries']:>8} "
                f"{row['ok']:>3}/{row['requests']:<4}  {met}"
            )
    print()
    print(f"{'p50/p95 ms by window':<26} " + " ".join(f"{kind:>13}" for kind in WINDOWS))
    for database, result in results.items():
        for page, row in result["pages"].items():
            cells = [f"{ms(p50)}/{ms(p95)}" for p50, p95 in row["windows"].values()]
            print(f"{database:<10} {PAGE_LABELS[page]:<15} " + " ".join(f"{c:>13}" for c in cells))
    for database, result in results.items():
        for page, row in result["pages"].items():
            label = f"{database} {PAGE_LABELS[page]}"
            if row["failures"]:
                print(f"\n{label}: {len(row['failures'])} failed requests, e.g.:")
                seen = set()
                for failure in row["failures"]:
                    key = (failure["status"], failure["text"][:80])
                    if key in seen or len(seen) >= 3:
                        continue
                    seen.add(key)
                    text = " ".join(failure["text"].split())[:200]
                    print(f"  {failure['status']} {failure['url']}  {text}")
            if row["mismatches"]:
                print(f"\n{label}: {len(row['mismatches'])} of {row['checked']} answers differ:")
                for mismatch in row["mismatches"][:3]:
                    print(f"  {mismatch['url']}: {'; '.join(mismatch['problems'])}")
            if row["ok"] and row["slowest"]:
                print(f"\n{label}: {row['queries']} queries ({row['queries_url']}); slowest:")
                for query in row["slowest"]:
                    print(f"  {query['ms']:8.1f} ms  {short_sql(query['sql'])[:700]}")
            if row.get("profile"):
                print(f"\n{label}: profile of 5 requests\n{row['profile']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interactions", type=int, default=10_000_000)
    parser.add_argument("--agents", type=int, default=1_000, help="active agents (with contacts)")
    parser.add_argument("--roster", type=int, default=5_000, help="people on the roster in all")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--requests", type=int, default=200, help="requests per page")
    parser.add_argument("--raw-requests", type=int, default=30, help="raw SQL runs per page")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument(
        "--pages", default=",".join(PAGE_LABELS), help="of " + ",".join(PAGE_LABELS)
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="profile 5 requests per page")
    parser.add_argument("--workdir", type=Path, help="default: a new temporary folder")
    parser.add_argument("--keep", action="store_true", help="keep the databases and the folder")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure the databases a --keep run left in --workdir again: migrate, recompute "
        "--all with this code, measure (the load phases shown are the kept run's)",
    )
    parser.add_argument("--stage", choices=("load", "measure"), help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    options = parser.parse_args()

    if options.stage:
        if options.stage == "load":
            result = stage_load(options.workdir, options.database)
        else:
            result = stage_measure(options.workdir, options.database, options)
        path = options.workdir / f"{options.stage}-{options.database}.json"
        path.write_text(json.dumps(result, default=str))
        return

    databases = [
        "postgresql" if d.strip() in ("postgres", "postgresql") else d.strip()
        for d in options.databases.split(",")
    ]
    unknown = (set(databases) - {"sqlite", "postgresql"}) | (
        set(options.pages.split(",")) - set(PAGE_LABELS)
    )
    if unknown:
        parser.error(f"unknown: {', '.join(sorted(unknown))}")
    if options.days < 130:
        parser.error("--days: at least 130 (windows go back 13 weeks and a year)")
    if options.reuse and options.workdir is None:
        parser.error("--reuse needs the --workdir of a --keep run")
    if options.reuse:
        options.keep = True
    created = options.workdir is None
    folder = options.workdir or Path(tempfile.mkdtemp(prefix="coachloop-dash-"))
    folder.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, Any]] = {}
    try:
        print(
            f"generating {options.interactions:,} interactions in {folder}",
            file=sys.stderr,
            flush=True,
        )
        started = time.perf_counter()
        if options.reuse:
            org = json.loads((folder / "org.json").read_text())
        else:
            org = generate(folder, options)
        build_s = time.perf_counter() - started
        for database in databases:
            results[database] = bench_database(database, folder, options)
            if not options.keep and database == "sqlite":
                shutil.rmtree(folder / "home-sqlite", ignore_errors=True)
        report(results, build_s, org)
    finally:
        if not options.keep:
            if "postgresql" in databases:
                postgres_admin(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
            if created:
                shutil.rmtree(folder, ignore_errors=True)
            else:
                for name in ("facts", "days", "home-sqlite", "home-postgresql"):
                    shutil.rmtree(folder / name, ignore_errors=True)
        else:
            kept = f" and the PostgreSQL database {PG_DB}" if "postgresql" in databases else ""
            print(f"\nkept: {folder}{kept}")


if __name__ == "__main__":
    main()
