"""One program-day of contacts: who handled what, when, and how it went.

Each present agent gets a number of contact slots; customers whose earlier contact was not
resolved come back into some of those slots (repeat contacts); the rest are new customers. Each
agent works the slots back to back through their shift (two chats at once), with idle time in
between, so timestamps, occupancy and the hour-of-day volume all follow from the rota.

Four random streams per program-day (slots, outcomes, repeats, QA) keep a placebo run and an
effect run on the same random numbers wherever the effect does not change the number of draws.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import numpy as np

from coachloop.simulator import randomness
from coachloop.simulator.catalog import (
    CALL_TYPE_INDEX,
    CHANNEL_INDEX,
    CHANNEL_PROFILES,
    CHANNELS,
    PROBLEM_CALL_TYPE,
    PROBLEM_RESOLUTION_EFFECT,
    PROCESS,
    PROGRAMS,
    REPEAT_DELAY_DAYS,
    REPEAT_DELAY_WEIGHTS,
    REPEAT_IF_RESOLVED,
    REPEAT_IF_UNRESOLVED,
    Queue,
)
from coachloop.simulator.clock import local_to_epoch
from coachloop.simulator.model import BREAK_S, World, learning_deficit
from coachloop.simulator.outcomes import Outcomes, draw_outcomes, nps_value, survey_value

CONTACTS_PER_DAY = np.array([CHANNEL_PROFILES[c].contacts_per_day for c in CHANNELS])
CONCURRENCY = np.array([CHANNEL_PROFILES[c].concurrency for c in CHANNELS])
ABANDON_RATE = np.array([CHANNEL_PROFILES[c].abandon_rate for c in CHANNELS])
EMAIL = CHANNEL_INDEX["email"]
NEW_HIRE_VOLUME_DEFICIT = 0.4  # a first-day agent takes 40% fewer contacts


@dataclass
class AgentArrays:
    """Per-agent constants as arrays, indexed like World.agents."""

    program: np.ndarray
    channel: np.ndarray
    productivity: np.ndarray
    scheduled_s: np.ndarray
    shift_start_s: np.ndarray
    hire_day: np.ndarray
    skills: np.ndarray  # settled skills, agents x skills

    @classmethod
    def of(cls, world: World) -> AgentArrays:
        agents = world.agents
        return cls(
            program=np.array([a.program for a in agents]),
            channel=np.array([a.channel for a in agents]),
            productivity=np.array([a.productivity for a in agents]),
            scheduled_s=np.array([a.scheduled_s for a in agents], dtype=np.float64),
            shift_start_s=np.array([a.shift_start_s for a in agents], dtype=np.float64),
            hire_day=world.hire_days,
            skills=world.skill_matrix,
        )


@dataclass
class ProgramState:
    """What carries from one day to the next: id counters and customers due to come back."""

    index: int
    members: np.ndarray  # agent indices of this program
    next_contact: int = 1
    next_customer: int = 1
    pending: dict[int, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = field(
        default_factory=dict
    )
    tz: ZoneInfo = field(init=False)
    mix_types: np.ndarray = field(init=False)
    mix_cum: np.ndarray = field(init=False)
    problem_type: int = field(init=False)

    def __post_init__(self) -> None:
        spec = PROGRAMS[self.index]
        self.tz = ZoneInfo(spec.timezone)
        self.mix_types = np.array([CALL_TYPE_INDEX[k] for k, _ in spec.call_type_mix])
        weights = np.array([w for _, w in spec.call_type_mix])
        self.mix_cum = np.cumsum(weights / weights.sum())
        self.problem_type = CALL_TYPE_INDEX[PROBLEM_CALL_TYPE]

    def draw_call_types(self, rng: np.random.Generator, n: int) -> np.ndarray:
        pick = np.searchsorted(self.mix_cum, rng.random(n), side="right")
        return np.asarray(self.mix_types[np.minimum(pick, len(self.mix_types) - 1)])


@dataclass
class ProgramDay:
    """Rows of one program-day in file order (by start time), plus agent activity."""

    program: int
    day: int
    first_number: int
    epoch: np.ndarray
    channel: np.ndarray
    queue: np.ndarray
    call_type: np.ndarray
    agent: np.ndarray  # agent index, -1 when abandoned
    customer: np.ndarray
    known: np.ndarray
    answered: np.ndarray
    wait_s: np.ndarray
    talk_s: np.ndarray
    hold_s: np.ndarray
    acw_s: np.ndarray
    transferred: np.ndarray
    escalated: np.ndarray
    resolved: np.ndarray
    csat: np.ndarray  # -1 = no response
    nps: np.ndarray
    skills: np.ndarray  # effective skills of the handling agent per row (abandoned: zeros)
    day_agents: np.ndarray  # scheduled agents
    day_absent: np.ndarray
    logged_in_s: np.ndarray
    productive_s: np.ndarray
    adherent_s: np.ndarray
    evaluated_rows: list[int]

    @property
    def n(self) -> int:
        return len(self.epoch)


def effective_skills(
    arrays: AgentArrays, gains: np.ndarray, agents: np.ndarray, day: int
) -> np.ndarray:
    """Settled skill + coaching gains so far - the new-hire learning deficit."""
    deficit = learning_deficit(day - arrays.hire_day[agents])
    return np.asarray(arrays.skills[agents] + gains[agents] - deficit[:, None])


def simulate_program_day(
    *,
    world: World,
    arrays: AgentArrays,
    state: ProgramState,
    day: int,
    gains: np.ndarray,
    problem_from: int | None,
    evaluate: list[int],
) -> ProgramDay:
    p = state.index
    spec = PROGRAMS[p]
    seed = world.seed
    rng = randomness.stream(seed, randomness.DAY, p, day, 0)
    rng_outcome = randomness.stream(seed, randomness.DAY, p, day, 1)
    rng_repeat = randomness.stream(seed, randomness.DAY, p, day, 2)
    rng_qa = randomness.stream(seed, randomness.DAY, p, day, 3)

    members = state.members
    scheduled = members[world.scheduled[members, day]]
    present = members[world.present[members, day]]
    n_agents = len(present)

    # --- slots: how many contacts each present agent takes today ---
    tenure = day - arrays.hire_day[present]
    ramp = 1.0 - NEW_HIRE_VOLUME_DEFICIT * np.exp(-np.maximum(tenure, 0) / 30.0)
    channel_of_agent = arrays.channel[present]
    expected = (
        CONTACTS_PER_DAY[channel_of_agent]
        * arrays.productivity[present]
        * arrays.scheduled_s[present]
        / 28800.0
        * ramp
    )
    per_agent = rng.poisson(expected) if n_agents else np.zeros(0, dtype=np.int64)
    owner = np.repeat(np.arange(n_agents), per_agent)
    n = len(owner)
    channel = channel_of_agent[owner]
    call_type = state.draw_call_types(rng, n)
    known = rng.random(n) < spec.known_customer_rate

    # --- repeat contacts take some of today's slots ---
    due = state.pending.pop(day, [])
    new = np.ones(n, dtype=bool)
    customer = np.zeros(n, dtype=np.int64)
    if due and n:
        due_customer = np.concatenate([d[0] for d in due])
        due_type = np.concatenate([d[1] for d in due])
        due_known = np.concatenate([d[2] for d in due])
        take = min(len(due_customer), n)  # on a thin day the rest give up
        slots = rng_repeat.choice(n, size=take, replace=False)
        new[slots] = False
        customer[slots] = due_customer[:take]
        call_type[slots] = due_type[:take]
        known[slots] = due_known[:take]
    n_new = int(new.sum())
    customer[new] = state.next_customer + np.arange(n_new)
    state.next_customer += n_new
    queue = _queues(rng, spec.queues, channel, call_type)

    # --- outcomes ---
    day_skills = effective_skills(arrays, gains, present, day)
    slot_skills = day_skills[owner] if n else np.zeros((0, arrays.skills.shape[1]))
    problem = np.where(
        (problem_from is not None and day >= problem_from) & (call_type == state.problem_type),
        PROBLEM_RESOLUTION_EFFECT,
        0.0,
    )
    outcome = draw_outcomes(rng_outcome, slot_skills, call_type, channel, problem)

    # --- timing: work the slots back to back through the shift ---
    local_s, logged_in, busy_total, late = _timeline(rng, arrays, present, owner, outcome, channel)
    wait = _answered_wait(rng, channel)
    csat, nps = _surveys(rng, spec.csat_response_rate, spec.csat_scale, spec.gives_nps, outcome)

    # --- abandoned contacts: callers who hung up in the queue (not for email) ---
    live = np.flatnonzero(channel != EMAIL)
    n_abandoned = int(rng.poisson(float(ABANDON_RATE[channel[live]].sum()))) if len(live) else 0
    ref = live[rng.integers(0, len(live), n_abandoned)] if n_abandoned else live[:0]
    ab_local = np.clip(local_s[ref] + rng.normal(0.0, 900.0, n_abandoned), 0, 86399)
    ab_type = state.draw_call_types(rng, n_abandoned)
    ab_known = rng.random(n_abandoned) < spec.known_customer_rate
    ab_wait = np.clip(
        np.rint(np.exp(np.log(50.0) + 0.8 * rng.standard_normal(n_abandoned))), 3, 1800
    )
    ab_customer = state.next_customer + np.arange(n_abandoned)
    state.next_customer += n_abandoned

    # --- customers who will come back ---
    _schedule_repeats(
        rng_repeat, state, world.days, day, outcome.resolved, customer, call_type, known
    )

    # --- agent activity (WFM) ---
    adherent = _adherence(rng, arrays, scheduled, present, day_skills, late)
    activity_logged = np.zeros(len(scheduled), dtype=np.int64)
    activity_productive = np.zeros(len(scheduled), dtype=np.int64)
    position = np.searchsorted(scheduled, present)
    activity_logged[position] = np.rint(logged_in).astype(np.int64)
    activity_productive[position] = np.rint(busy_total).astype(np.int64)
    absent = np.ones(len(scheduled), dtype=bool)
    absent[position] = False

    # --- assemble rows in time order ---
    epoch = local_to_epoch(state.tz, world.date(day), np.concatenate([local_s, ab_local]))
    order = np.argsort(epoch, kind="stable")
    total = n + n_abandoned
    answered = np.arange(total) < n

    def rows(handled: np.ndarray, abandoned: np.ndarray) -> np.ndarray:
        return np.asarray(np.concatenate([handled, abandoned])[order])

    zeros = np.zeros(n_abandoned, dtype=np.int64)
    falses = np.zeros(n_abandoned, dtype=bool)
    row_of = np.empty(total, dtype=np.int64)
    row_of[order] = np.arange(total)
    evaluated = _pick_evaluated(rng_qa, present, owner, evaluate)
    result = ProgramDay(
        program=p,
        day=day,
        first_number=state.next_contact,
        epoch=epoch[order],
        channel=rows(channel, channel[ref]),
        queue=rows(queue, queue[ref]),
        call_type=rows(call_type, ab_type),
        agent=rows(present[owner], zeros - 1),
        customer=rows(customer, ab_customer),
        known=rows(known, ab_known),
        answered=answered[order],
        wait_s=rows(wait, ab_wait.astype(np.int64)),
        talk_s=rows(outcome.talk_s, zeros),
        hold_s=rows(outcome.hold_s, zeros),
        acw_s=rows(outcome.acw_s, zeros),
        transferred=rows(outcome.transferred, falses),
        escalated=rows(outcome.escalated, falses),
        resolved=rows(outcome.resolved, falses),
        csat=rows(csat, zeros - 1),
        nps=rows(nps, zeros - 1),
        skills=np.concatenate([slot_skills, np.zeros((n_abandoned, slot_skills.shape[1]))])[order],
        day_agents=scheduled,
        day_absent=absent,
        logged_in_s=activity_logged,
        productive_s=activity_productive,
        adherent_s=adherent,
        evaluated_rows=[int(row_of[slot]) for slot in evaluated],
    )
    state.next_contact += total
    return result


def _queues(
    rng: np.random.Generator,
    queues: tuple[Queue, ...],
    channel: np.ndarray,
    call_type: np.ndarray,
) -> np.ndarray:
    """Pick each contact's queue among those that take its channel and call type, by weight."""
    weights = np.zeros((len(channel), len(queues)))
    for q_index, q in enumerate(queues):
        fits = np.ones(len(channel), dtype=bool)
        if q.channel is not None:
            fits &= channel == CHANNEL_INDEX[q.channel]
        if q.call_types:
            fits &= np.isin(call_type, [CALL_TYPE_INDEX[c] for c in q.call_types])
        weights[:, q_index] = np.where(fits, q.weight, 0.0)
    weights[weights.sum(axis=1) == 0, 0] = 1.0
    cumulative = np.cumsum(weights, axis=1) / weights.sum(axis=1, keepdims=True)
    draw = rng.random(len(channel))
    return np.asarray(np.minimum((draw[:, None] > cumulative).sum(axis=1), len(queues) - 1))


def _timeline(
    rng: np.random.Generator,
    arrays: AgentArrays,
    present: np.ndarray,
    owner: np.ndarray,
    outcome: Outcomes,
    channel: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Local start second of each slot, and each agent's logged-in and busy seconds.

    Idle time (logged in, no contact) is split between the slots at random, so an agent's day
    is a sequence: gap, contact, gap, contact ... with a break in the middle of the shift.
    """
    n_agents, n = len(present), len(owner)
    scheduled = arrays.scheduled_s[present]
    aux = rng.uniform(0.07, 0.15, n_agents) * scheduled  # meetings, training, personal time
    late = rng.exponential(240.0, n_agents) * (rng.random(n_agents) < 0.25)
    handle = (outcome.talk_s + outcome.hold_s + outcome.acw_s).astype(np.float64)
    busy = handle / CONCURRENCY[channel]
    busy_total = np.bincount(owner, weights=busy, minlength=n_agents)
    counts = np.bincount(owner, minlength=n_agents)
    logged_in = np.maximum(scheduled - aux - late, busy_total + 20.0 * counts)
    gap_draw = rng.exponential(1.0, n)
    tail = rng.exponential(1.0, n_agents)
    gap_total = np.bincount(owner, weights=gap_draw, minlength=n_agents) + tail
    gap = gap_draw * ((logged_in - busy_total) / gap_total)[owner]
    step = gap + busy
    before = np.cumsum(step) - step  # global exclusive running total
    first_slot = np.cumsum(counts) - counts
    group_base = np.zeros(n_agents)
    has = counts > 0
    group_base[has] = before[first_slot[has]]
    offset = before - group_base[owner] + gap
    offset = offset + np.where(offset > logged_in[owner] / 2, BREAK_S, 0.0)
    local = arrays.shift_start_s[present][owner] + late[owner] + offset
    return np.clip(np.rint(local), 0, 86399), logged_in, busy_total, late


def _answered_wait(rng: np.random.Generator, channel: np.ndarray) -> np.ndarray:
    """Voice and chat: most answered at once, the rest within a minute or so. Emails wait about
    half an hour, capped at 4 h: the importer's default plausibility limit, so a demo import is
    free of warnings about waits."""
    n = len(channel)
    instant = rng.random(n) < 0.45
    queued = np.exp(np.log(14.0) + 1.0 * rng.standard_normal(n))
    email_wait = np.exp(np.log(1800.0) + 0.9 * rng.standard_normal(n))
    wait = np.where(channel == EMAIL, np.clip(email_wait, 60, 14400), np.where(instant, 0, queued))
    return np.clip(np.rint(wait), 0, 86400).astype(np.int64)


def _surveys(
    rng: np.random.Generator, rate: float, scale: str, gives_nps: bool, outcome: Outcomes
) -> tuple[np.ndarray, np.ndarray]:
    n = len(outcome.resolved)
    responds = rng.random(n) < rate
    answers_nps = responds & (rng.random(n) < 0.75) & gives_nps
    noise = rng.standard_normal(n)
    csat = np.where(responds, survey_value(outcome.satisfaction, scale), -1)
    nps = np.where(answers_nps, nps_value(outcome.satisfaction, noise), -1)
    return csat.astype(np.int64), nps.astype(np.int64)


def _schedule_repeats(
    rng: np.random.Generator,
    state: ProgramState,
    days: int,
    day: int,
    resolved: np.ndarray,
    customer: np.ndarray,
    call_type: np.ndarray,
    known: np.ndarray,
) -> None:
    """Unresolved customers mostly come back on the same call type within 1-6 days (inside the
    168 h window derived FCR looks at); resolved ones rarely do."""
    n = len(resolved)
    chance = np.where(resolved, REPEAT_IF_RESOLVED, REPEAT_IF_UNRESOLVED)
    returns = rng.random(n) < chance
    delay = np.array(REPEAT_DELAY_DAYS)[
        np.searchsorted(np.cumsum(REPEAT_DELAY_WEIGHTS), rng.random(n) * sum(REPEAT_DELAY_WEIGHTS))
    ]
    target = day + delay
    for when in np.unique(target[returns & (target < days)]).tolist():
        chosen = returns & (target == when)
        state.pending.setdefault(int(when), []).append(
            (customer[chosen], call_type[chosen], known[chosen])
        )


def _adherence(
    rng: np.random.Generator,
    arrays: AgentArrays,
    scheduled: np.ndarray,
    present: np.ndarray,
    day_skills: np.ndarray,
    late: np.ndarray,
) -> np.ndarray:
    """Seconds in adherence: lateness plus breaks and lunches at the wrong time; sloppier with
    low process adherence."""
    adherent = np.zeros(len(scheduled), dtype=np.int64)
    if not len(present):
        return adherent
    planned = arrays.scheduled_s[present]
    sloppiness = (
        0.02 + 0.03 * rng.random(len(present)) + 0.02 * np.maximum(0, -day_skills[:, PROCESS])
    )
    value = np.clip(planned * (1 - sloppiness) - late, 0, planned)
    adherent[np.searchsorted(scheduled, present)] = np.rint(value).astype(np.int64)
    return adherent


def _pick_evaluated(
    rng: np.random.Generator, present: np.ndarray, owner: np.ndarray, evaluate: list[int]
) -> list[int]:
    """For each agent due an evaluation today, one of their handled contacts (slot index)."""
    picks: list[int] = []
    for agent in evaluate:
        local = np.searchsorted(present, agent)
        if local >= len(present) or present[local] != agent:
            continue
        slots = np.flatnonzero(owner == local)
        draw = int(rng.integers(0, 1 << 30))
        if len(slots):
            picks.append(int(slots[draw % len(slots)]))
    return picks
