"""Which contacts QA evaluates: a program's policy applied to one week of handled contacts.

- **Routine** samples: N per agent, stratified by call type so the sample follows the agent's
  own mix (largest-remainder allocation; the call types an agent handles most get the first
  slots when N is smaller than the number of types), drawn at random within each call type.
- **Targeted** samples: up to M more per agent from contacts that signal trouble: low CSAT
  (1-2 on the 1-5 scale), unresolved (the source flag, else derived FCR), long handle time and
  long hold (above the program's 90th percentile that week). Reasons take turns so one signal
  does not crowd out the others; within a reason the pick is random, not the worst, so the
  sample shows what usually goes wrong rather than the one freak call.

Draws are seeded by program, week and agent: the same data gives the same sample, and filling
a week again only tops it up to the policy.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from coachloop.quality.models import SampleReason

LONG_PERCENTILE = 90.0
LOW_CSAT = 2.0  # on the 1-5 equivalent


@dataclass(frozen=True)
class Candidate:
    interaction_id: int
    agent_id: int
    call_type: str
    csat: float | None
    resolved: bool | None
    handle_s: float | None
    hold_s: float | None


@dataclass(frozen=True)
class Pick:
    interaction_id: int
    agent_id: int
    reason: str


def rng_for(program_id: int, week: dt.date, agent_id: int) -> np.random.Generator:
    digest = hashlib.sha256(f"{program_id}:{week.isoformat()}:{agent_id}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


def allocate(counts: dict[str, int], slots: int) -> dict[str, int]:
    """Slots per call type in proportion to the counts (largest remainder, ties by count then
    name), never more than a type has."""
    total = sum(counts.values())
    if total == 0 or slots <= 0:
        return {}
    slots = min(slots, total)
    exact = {kind: slots * n / total for kind, n in counts.items()}
    given = {kind: int(share) for kind, share in exact.items()}
    order = sorted(counts, key=lambda k: (-(exact[k] - given[k]), -counts[k], k))
    for kind in order[: slots - sum(given.values())]:
        given[kind] += 1
    return {kind: n for kind, n in given.items() if n}


def routine_picks(
    candidates: Sequence[Candidate], slots: int, rng: np.random.Generator
) -> list[Pick]:
    by_type: dict[str, list[Candidate]] = defaultdict(list)
    for candidate in candidates:
        by_type[candidate.call_type].append(candidate)
    picks = []
    for kind, n in sorted(allocate({k: len(v) for k, v in by_type.items()}, slots).items()):
        pool = by_type[kind]
        for index in rng.choice(len(pool), size=n, replace=False):
            picks.append(
                Pick(pool[index].interaction_id, pool[index].agent_id, SampleReason.ROUTINE)
            )
    return picks


@dataclass(frozen=True)
class Thresholds:
    long_handle_s: float | None
    long_hold_s: float | None


def thresholds(candidates: Iterable[Candidate]) -> Thresholds:
    """The week's 90th percentiles of handle time and of hold (where there was any hold)."""
    handles = [c.handle_s for c in candidates if c.handle_s is not None]
    holds = [c.hold_s for c in candidates if c.hold_s]
    return Thresholds(
        float(np.percentile(handles, LONG_PERCENTILE)) if handles else None,
        float(np.percentile(holds, LONG_PERCENTILE)) if holds else None,
    )


def flagged_for(candidate: Candidate, reason: str, limits: Thresholds) -> bool:
    if reason == SampleReason.LOW_CSAT:
        return candidate.csat is not None and candidate.csat <= LOW_CSAT
    if reason == SampleReason.UNRESOLVED:
        return candidate.resolved is False
    if reason == SampleReason.LONG_AHT:
        return (
            limits.long_handle_s is not None
            and candidate.handle_s is not None
            and candidate.handle_s > limits.long_handle_s
        )
    return (
        limits.long_hold_s is not None
        and candidate.hold_s is not None
        and candidate.hold_s > limits.long_hold_s
    )


def targeted_picks(
    candidates: Sequence[Candidate],
    slots: int,
    reasons: Sequence[str],
    limits: Thresholds,
    rng: np.random.Generator,
) -> list[Pick]:
    pools = {
        reason: [c for c in candidates if flagged_for(c, reason, limits)] for reason in reasons
    }
    taken: set[int] = set()
    picks: list[Pick] = []
    while len(picks) < slots:
        progress = False
        for reason in reasons:
            if len(picks) >= slots:
                break
            pool = [c for c in pools[reason] if c.interaction_id not in taken]
            if not pool:
                continue
            chosen = pool[int(rng.integers(len(pool)))]
            taken.add(chosen.interaction_id)
            picks.append(Pick(chosen.interaction_id, chosen.agent_id, reason))
            progress = True
        if not progress:
            break
    return picks
