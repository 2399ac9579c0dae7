"""The latent world: organization, agents' true skills and their whole lives in the period.

Everything here is decided before a single contact is drawn, and none of it depends on the
coaching effect size or on the program problem: who works which day, who is coached when and on
what, and who leaves are the same in a placebo run and an effect run with the same seed. The
effect then only changes how contacts turn out (outcomes.py), which makes the comparison clean.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from coachloop.simulator import randomness
from coachloop.simulator.catalog import (
    CHANNEL_INDEX,
    FOCUS_METRIC,
    N_SKILLS,
    PROGRAMS,
    SKILL_KEYS,
    SKILLS,
)
from coachloop.simulator.people import NameBook, team_code

# --- planted parameters (docs/simulator.md lists them) ---
WEAKNESS_SHARE = 0.36
WEAK_KNOWLEDGE_SHARE = 0.5  # else a behaviour; a knowledge gap shows on one call type only
WEAKNESS_DROP = (1.5, 2.5)  # SD taken off the weak skill
WEAKNESS_GAP = 1.0  # a weak skill is at least this far below every other skill
GENERAL_SD = 0.6  # shared "good agent" factor; with SPECIFIC_SD each skill is N(0, 1)
SPECIFIC_SD = 0.8
LEARNING_DEFICIT = 1.2  # SD below their settled skill on a new hire's first day
LEARNING_DAYS = 30.0  # e-folding time: the deficit is ~5% after 90 days
COACHED_SHARE_WEAK = 0.75
COACHED_SHARE_OTHER = 0.45
SESSION_GAP_WEAK = (8, 22)  # days between sessions, drawn afresh each time
SESSION_GAP_OTHER = (16, 41)
FOCUS_ON_WEAKEST = 0.75  # else the lead picks another relevant skill
PERCEPTION_SD = 0.6  # how noisily a lead sees skills
BASE_DAILY_HAZARD = 0.0006
NEW_HIRE_HAZARD_FACTOR = 4.0  # first 90 days
STRUGGLE_HAZARD_UNCOACHED = 0.7  # log-hazard per unit of struggle when not coached lately
STRUGGLE_HAZARD_COACHED = 0.25
RECENT_COACHING_DAYS = 30
TEAM_TARGET = 13
TEAM_MAX = 16
TEAM_MIN = 10
SHIFT_STARTS_H = (7, 8, 8, 8, 9, 9, 9, 10, 11, 12, 13, 14, 15)
BREAK_S = 1800
SESSION_TYPES = ("one_to_one", "side_by_side")


@dataclass
class Team:
    key: str
    program: int
    site: str
    lead_id: str


@dataclass
class Staff:
    """Leads, QA analysts and program managers (roster rows that are not agents)."""

    external_id: str
    name: str
    email: str
    program: int
    site: str
    team: str
    role: str
    team_since: date | None
    hire_date: date


@dataclass
class Session:
    day: int
    agent: int  # index into World.agents
    skill: int
    type: str
    local_s: int  # seconds after local midnight
    lead: str = ""


@dataclass
class Agent:
    index: int
    number: int
    name: str
    email: str
    program: int
    channel: int
    team_start: str  # team on the first simulated day (or at hire)
    team: str  # current team (the roster snapshot)
    move_day: int | None  # day the agent moved from team_start to team
    hire_day: int  # relative to the start; <= 0 for people hired before it
    team_since_day: int  # joined the current team (roster team_since)
    end_day: int  # first day no longer employed; == days when still employed
    termination_reason: str
    shift_start_s: int
    scheduled_s: int
    productivity: float
    weakest: int | None
    skills: np.ndarray  # settled true skills (no learning deficit, no coaching)
    coached: bool
    sessions: list[Session] = field(default_factory=list)
    eval_days: list[int] = field(default_factory=list)
    replaces: int | None = None  # number of the leaver this new hire replaces

    def team_on(self, day: int) -> str:
        if self.move_day is not None and day < self.move_day:
            return self.team_start
        return self.team


@dataclass
class World:
    seed: int
    start: date
    days: int
    teams: list[Team]
    staff: list[Staff]
    agents: list[Agent]
    scheduled: np.ndarray  # agents x days, bool
    present: np.ndarray  # agents x days, bool (scheduled and not absent)
    sessions: list[Session]
    calibrations: list[tuple[int, int]]  # (first day, program index)

    def date(self, day: int) -> date:
        return self.start + timedelta(days=day)

    @property
    def skill_matrix(self) -> np.ndarray:
        return np.stack([a.skills for a in self.agents])

    @property
    def hire_days(self) -> np.ndarray:
        return np.array([a.hire_day for a in self.agents], dtype=np.int64)

    def qa_of(self, program: int) -> str:
        return next(s.external_id for s in self.staff if s.role == "qa" and s.program == program)

    def manager_of(self, program: int) -> str:
        return next(
            s.external_id for s in self.staff if s.role == "manager" and s.program == program
        )


def learning_deficit(tenure_days: np.ndarray | float) -> np.ndarray:
    """How far below their settled skill an agent is at this tenure (0 for veterans)."""
    tenure = np.maximum(np.asarray(tenure_days, dtype=np.float64), 0.0)
    return np.asarray(LEARNING_DEFICIT * np.exp(-tenure / LEARNING_DAYS))


def program_sizes(agents: int) -> list[int]:
    """Split --agents across programs by share, at least one each (largest remainder)."""
    raw = [agents * p.agent_share for p in PROGRAMS]
    sizes = [max(1, math.floor(r)) for r in raw]
    while sum(sizes) < agents:
        gaps = [r - s for r, s in zip(raw, sizes, strict=True)]
        sizes[gaps.index(max(gaps))] += 1
    while sum(sizes) > agents:
        sizes[sizes.index(max(sizes))] -= 1
    return sizes


def team_sizes(n: int) -> list[int]:
    """Teams of 10-16 near 13; fewer and smaller only when n forces it. Never an empty team."""
    fewest = max(1, math.ceil(n / TEAM_MAX))
    k = max(fewest, round(n / TEAM_TARGET))
    if k > fewest and n / k < TEAM_MIN:
        k = fewest
    base, extra = divmod(n, k)
    return [base + (1 if i < extra else 0) for i in range(k)]


def draw_skills(
    rng: np.random.Generator, relevant: tuple[int, ...]
) -> tuple[np.ndarray, int | None]:
    """True skills and the planted weakness, if any.

    A weakness is one skill at least WEAKNESS_GAP below every other skill of the agent (the
    definition in CONTRACTS); agents without one are adjusted so that no skill is that far
    below the rest, so truth.json's null is exact too.
    """
    skills = rng.normal(0.0, GENERAL_SD) + rng.normal(0.0, SPECIFIC_SD, N_SKILLS)
    weak: int | None = None
    if rng.random() < WEAKNESS_SHARE:
        knowledge = [i for i in relevant if SKILLS[i].kind == "knowledge"]
        behaviours = [i for i in relevant if SKILLS[i].kind == "behaviour"]
        pool = knowledge if rng.random() < WEAK_KNOWLEDGE_SHARE else behaviours
        weak = int(pool[int(rng.integers(len(pool)))])
        skills[weak] -= rng.uniform(*WEAKNESS_DROP)
        # The margins (0.01) keep the definition true after rounding to 3 decimals.
        ceiling = np.delete(skills, weak).min() - WEAKNESS_GAP - 0.01
        if skills[weak] > ceiling:
            skills[weak] = ceiling - rng.uniform(0.0, 0.3)
    else:
        order = np.argsort(skills, kind="stable")
        lowest, second = int(order[0]), int(order[1])
        if skills[second] - skills[lowest] >= WEAKNESS_GAP - 0.01:
            skills[lowest] = skills[second] - rng.uniform(0.3, 0.95)
    return np.round(skills, 3), weak


def _tenure_before_start(rng: np.random.Generator) -> int:
    """Days employed before the first day: some recent hires still learning, many veterans."""
    if rng.random() < 0.15:
        return int(rng.integers(0, 120))
    return int(min(3650, 120 + rng.exponential(700)))


@dataclass
class _Builder:
    seed: int
    start: date
    days: int
    teams: list[Team] = field(default_factory=list)
    staff: list[Staff] = field(default_factory=list)
    agents: list[Agent] = field(default_factory=list)
    scheduled_rows: list[np.ndarray] = field(default_factory=list)
    present_rows: list[np.ndarray] = field(default_factory=list)

    def add_agent(
        self,
        *,
        names: NameBook,
        program: int,
        channel: int,
        team: str,
        hire_day: int,
        replaces: int | None = None,
    ) -> Agent:
        number = len(self.agents) + 1
        rng = randomness.stream(self.seed, randomness.AGENT, number)
        relevant = PROGRAMS[program].relevant_skills()
        skills, weak = draw_skills(rng, relevant)
        name, email = names.person()
        coached_share = COACHED_SHARE_WEAK if weak is not None else COACHED_SHARE_OTHER
        agent = Agent(
            index=len(self.agents),
            number=number,
            name=name,
            email=email,
            program=program,
            channel=channel,
            team_start=team,
            team=team,
            move_day=None,
            hire_day=hire_day,
            # Veterans often joined their team some time after being hired.
            team_since_day=(
                hire_day if hire_day >= 0 or rng.random() < 0.5 else int(rng.integers(hire_day, 1))
            ),
            end_day=self.days,
            termination_reason="",
            shift_start_s=int(SHIFT_STARTS_H[int(rng.integers(len(SHIFT_STARTS_H)))] * 3600),
            scheduled_s=28800 if rng.random() < 0.88 else 21600,
            productivity=float(np.exp(rng.normal(0.0, 0.12))),
            weakest=weak,
            skills=skills,
            coached=bool(rng.random() < coached_share),
            replaces=replaces,
        )
        scheduled, present = _live(agent, rng, self.start, self.days)
        self.agents.append(agent)
        self.scheduled_rows.append(scheduled)
        self.present_rows.append(present)
        return agent


def _work_pattern(rng: np.random.Generator) -> np.ndarray:
    """Five working weekdays: most Monday-Friday, some on rotas that cover the weekend."""
    works = np.ones(7, dtype=bool)
    if rng.random() < 0.72:
        works[[5, 6]] = False
    else:
        first_off = int(rng.integers(7))
        works[[first_off, (first_off + 1) % 7]] = False
    return works


def _live(
    agent: Agent, rng: np.random.Generator, start: date, days: int
) -> tuple[np.ndarray, np.ndarray]:
    """Walk one agent through the period: rota, absences, coaching sessions, attrition."""
    works = _work_pattern(rng)
    absence_rate = float(rng.beta(2.0, 36.0))
    relevant = list(PROGRAMS[agent.program].relevant_skills())
    settled_level = float(np.mean(agent.skills[relevant]))
    weak_struggle = 0.8 if agent.weakest is not None else 0.0
    gap_range = SESSION_GAP_WEAK if agent.weakest is not None else SESSION_GAP_OTHER

    scheduled = np.zeros(days, dtype=bool)
    present = np.zeros(days, dtype=bool)
    # Drawn up front: one vector call is much cheaper than a scalar draw per day.
    leave_draws, reason_draws, absent_draws = rng.random((3, days))
    first = max(agent.hire_day, 0)
    next_session = max(first, agent.hire_day + 10) + int(rng.integers(0, gap_range[1]))
    last_session: int | None = None
    absent_yesterday = False
    weekday0 = start.weekday()
    for day in range(first, days):
        tenure = day - agent.hire_day
        # Attrition is decided at the start of the day: a leaver does not work on end_day.
        level = settled_level - LEARNING_DEFICIT * math.exp(-tenure / LEARNING_DAYS)
        struggle = max(0.0, -level) + weak_struggle
        coached_lately = last_session is not None and day - last_session <= RECENT_COACHING_DAYS
        slope = STRUGGLE_HAZARD_COACHED if coached_lately else STRUGGLE_HAZARD_UNCOACHED
        hazard = BASE_DAILY_HAZARD * math.exp(slope * struggle)
        if tenure < 90:
            hazard *= NEW_HIRE_HAZARD_FACTOR
        if leave_draws[day] < hazard and day > agent.hire_day:
            agent.end_day = day
            agent.termination_reason = _reason(float(reason_draws[day]), struggle)
            break
        if not works[(weekday0 + day) % 7]:
            continue
        scheduled[day] = True
        absent = absent_draws[day] < (0.4 if absent_yesterday else absence_rate)
        absent_yesterday = absent
        if absent:
            continue
        present[day] = True
        if agent.coached and day >= next_session:
            agent.sessions.append(_session(agent, rng, day, relevant))
            last_session = day
            next_session = day + int(rng.integers(*gap_range))
    agent.eval_days = _evaluation_days(rng, start, present)
    return scheduled, present


def _reason(draw: float, struggle: float) -> str:
    if draw < 0.08:
        return "end_of_contract"
    if draw < 0.08 + 0.12 + 0.25 * min(struggle, 1.5) / 1.5:
        return "dismissed"
    return "resigned"


def _session(agent: Agent, rng: np.random.Generator, day: int, relevant: list[int]) -> Session:
    """A lead picks a focus from what they perceive: usually the weakest skill, not always.

    The perception uses settled skills, not coaching gains, so the same sessions happen whatever
    the effect size (see the module docstring).
    """
    perceived = agent.skills[relevant] + rng.normal(0.0, PERCEPTION_SD, len(relevant))
    lowest = int(np.argmin(perceived))
    choice_draw, other_draw = rng.random(), int(rng.integers(max(1, len(relevant) - 1)))
    if choice_draw < FOCUS_ON_WEAKEST or len(relevant) == 1:
        skill = relevant[lowest]
    else:
        skill = [s for i, s in enumerate(relevant) if i != lowest][other_draw]
    kind = SESSION_TYPES[0] if rng.random() < 0.7 else SESSION_TYPES[1]
    local_s = agent.shift_start_s + int(rng.integers(15, 180)) * 60
    return Session(day=day, agent=agent.index, skill=skill, type=kind, local_s=local_s)


def _evaluation_days(rng: np.random.Generator, start: date, present: np.ndarray) -> list[int]:
    """3-6 evaluated contacts per calendar month, fewer for part of a month."""
    chosen: list[int] = []
    days = len(present)
    month_days: dict[tuple[int, int], list[int]] = {}
    month_len: dict[tuple[int, int], int] = {}
    for day in range(days):
        d = start + timedelta(days=day)
        key = (d.year, d.month)
        month_len[key] = month_len.get(key, 0) + 1
        if present[day]:
            month_days.setdefault(key, []).append(day)
    for key in sorted(month_days):
        candidates = month_days[key]
        year, month = key
        in_month = (date(year + month // 12, month % 12 + 1, 1) - date(year, month, 1)).days
        wanted = int(rng.integers(3, 7)) * month_len[key] / in_month
        n = min(len(candidates), int(wanted) + (1 if rng.random() < wanted % 1 else 0))
        if n:
            picks = rng.choice(len(candidates), size=n, replace=False)
            chosen.extend(candidates[int(i)] for i in np.sort(picks))
    return chosen


def _spread_channels(program: int, n: int) -> list[int]:
    """Channels for a program's agents in their shares, spread evenly over its teams."""
    mix = PROGRAMS[program].channel_mix
    golden = (math.sqrt(5) - 1) / 2
    channels = []
    for j in range(n):
        position = (j * golden) % 1.0
        cumulative = 0.0
        chosen = mix[-1][0]
        for channel, share in mix:
            cumulative += share
            if position < cumulative:
                chosen = channel
                break
        channels.append(CHANNEL_INDEX[chosen])
    return channels


def build_world(*, seed: int, start: date, days: int, agents: int) -> World:
    """The whole latent world for the period; see the module docstring."""
    world_rng = randomness.stream(seed, randomness.WORLD)
    names = NameBook(world_rng)
    builder = _Builder(seed=seed, start=start, days=days)
    staff_hire = start - timedelta(days=900)

    for p_index, (program, size) in enumerate(zip(PROGRAMS, program_sizes(agents), strict=True)):
        for prefix, role in (("M", "manager"), ("Q", "qa")):
            name, email = names.person()
            hired = staff_hire - timedelta(days=int(world_rng.integers(0, 1500)))
            builder.staff.append(
                Staff(
                    f"{prefix}{p_index + 1:03d}",
                    name,
                    email,
                    p_index,
                    program.sites[0],
                    "",
                    role,
                    None,
                    hired,
                )
            )
        channels = _spread_channels(p_index, size)
        taken = 0
        for t_index, team_size in enumerate(team_sizes(size)):
            key = team_code(program.key, t_index)
            site = program.sites[t_index % len(program.sites)]
            lead_id = f"L{len(builder.teams) + 1:03d}"
            builder.teams.append(Team(key, p_index, site, lead_id))
            name, email = names.person()
            lead_hire = staff_hire - timedelta(days=int(world_rng.integers(0, 2000)))
            since = max(lead_hire, start - timedelta(days=int(world_rng.integers(60, 900))))
            builder.staff.append(
                Staff(lead_id, name, email, p_index, site, key, "lead", since, lead_hire)
            )
            for _ in range(team_size):
                builder.add_agent(
                    names=names,
                    program=p_index,
                    channel=channels[taken],
                    team=key,
                    hire_day=-_tenure_before_start(world_rng),
                )
                taken += 1

    initial = len(builder.agents)
    _plan_moves(builder, world_rng)
    _hire_replacements(builder, names, initial)

    sessions = sorted(
        (s for a in builder.agents for s in a.sessions), key=lambda s: (s.day, s.local_s, s.agent)
    )
    lead_of = {t.key: t.lead_id for t in builder.teams}
    for s in sessions:
        s.lead = lead_of[builder.agents[s.agent].team_on(s.day)]
    calibrations = [(days // 3, 0), (2 * days // 3, 2)] if days >= 6 else [(0, 0)]
    return World(
        seed=seed,
        start=start,
        days=days,
        teams=builder.teams,
        staff=builder.staff,
        agents=builder.agents,
        scheduled=np.stack(builder.scheduled_rows),
        present=np.stack(builder.present_rows),
        sessions=sessions,
        calibrations=calibrations,
    )


def _plan_moves(builder: _Builder, rng: np.random.Generator) -> None:
    """A few agents swap teams inside their program mid-period. Swapping (not moving) keeps every
    team's headcount, so teams stay 10-16 however the moves fall."""
    if builder.days < 5:
        return
    for p_index in range(len(PROGRAMS)):
        members = [a for a in builder.agents if a.program == p_index]
        team_keys = sorted({a.team for a in members})
        if len(team_keys) < 2 or len(members) < 20:
            continue
        for _ in range(max(1, round(0.03 * len(members)))):
            day = int(rng.integers(builder.days // 5, 4 * builder.days // 5 + 1))
            free = [a for a in members if a.move_day is None and a.hire_day <= day < a.end_day]
            first = free[int(rng.integers(len(free)))] if free else None
            if first is None:
                continue
            partners = [a for a in free if a.team != first.team]
            if not partners:
                continue
            second = partners[int(rng.integers(len(partners)))]
            first.move_day = second.move_day = day
            first.team_since_day = second.team_since_day = day
            first.team, second.team = second.team_start, first.team_start


def _hire_replacements(builder: _Builder, names: NameBook, initial: int) -> None:
    """Every leaver is replaced in their team after a recruiting lag; replacements can leave too.

    Candidates are taken in (hire day, leaver number) order so numbering is deterministic."""
    queue: list[tuple[int, int]] = []

    def consider(agent: Agent) -> None:
        if agent.end_day >= builder.days:
            return
        lag = int(randomness.stream(builder.seed, randomness.HIRE, agent.number).integers(10, 36))
        if agent.end_day + lag < builder.days:
            heapq.heappush(queue, (agent.end_day + lag, agent.index))

    for agent in builder.agents[:initial]:
        consider(agent)
    while queue:
        hire_day, leaver_index = heapq.heappop(queue)
        leaver = builder.agents[leaver_index]
        hire = builder.add_agent(
            names=names,
            program=leaver.program,
            channel=leaver.channel,
            team=leaver.team_on(leaver.end_day),
            hire_day=hire_day,
            replaces=leaver.number,
        )
        consider(hire)


def session_focus_metric(skill: int) -> str:
    return FOCUS_METRIC[SKILL_KEYS[skill]]


def skill_name(skill: int) -> str:
    return SKILLS[skill].name
