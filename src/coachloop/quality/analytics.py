"""QA analytics: how often each criterion (and each skill behind the criteria) is failed, by an
agent or a team against their peers, with the same honesty as the KPIs.

An answer fails when its credit is below 0.5 (no; 1-2 on a scale; under half the points),
the line a critical criterion fails at. N/A answers are not counted. Only counted evaluations
feed this (submitted, outside calibration), dated by their contact's local day. Criteria are
matched by key across scorecard versions, so a new version does not reset a history.

The QA score itself (per agent, team or program, over time, with n and an interval) is the
``qa_score`` KPI (``metrics``): this module is the why behind it.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from django.db.models import Count, Q
from scipy import special

from coachloop.metrics import stats
from coachloop.metrics.kpis import FLAG_PROBABILITY
from coachloop.org.models import Program
from coachloop.quality.models import Answer, Criterion, Evaluation
from coachloop.quality.scoring import CRITICAL_PASS

# (agent id, team id at the time, criterion key) -> (answers, failed answers)
Counts = dict[tuple[int, int | None, str], tuple[int, int]]


@dataclass(frozen=True)
class FailRate:
    """One criterion's (or skill's) failures for a subject against its peers in the program."""

    key: str
    label: str
    n: int
    failed: int
    peer_n: int
    peer_failed: int
    # Shrunk toward the peers (beta-binomial), as KPIs are.
    estimate: float | None
    interval: tuple[float, float] | None
    probability_worse: float | None  # P(true fail rate > the peers' true fail rate)
    skills: tuple[str, ...] = ()

    @property
    def fail_rate(self) -> float | None:
        return self.failed / self.n if self.n else None

    @property
    def peer_fail_rate(self) -> float | None:
        return self.peer_failed / self.peer_n if self.peer_n else None

    @property
    def flagged(self) -> bool:
        return self.probability_worse is not None and self.probability_worse >= FLAG_PROBABILITY

    def as_api(self) -> dict[str, object]:
        return {
            "key": self.key,
            "label": self.label,
            "skills": list(self.skills),
            "n": self.n,
            "fail_rate": _round(self.fail_rate),
            "peer_n": self.peer_n,
            "peer_fail_rate": _round(self.peer_fail_rate),
            "estimate": _round(self.estimate),
            "interval": [_round(x) for x in self.interval] if self.interval else None,
            "probability_worse": _round(self.probability_worse),
            "flagged": self.flagged,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def criterion_counts(*, program: Program, start: dt.date, end: dt.date) -> Counts:
    """Answers and failures per agent, team and criterion key in the period: one grouped
    query."""
    rows = (
        Answer.objects.filter(
            evaluation__in=Evaluation.objects.counted().filter(
                program=program, local_date__range=(start, end)
            ),
            credit__isnull=False,
        )
        .values_list("evaluation__agent_id", "evaluation__team_id", "criterion__key")
        .annotate(n=Count("id"), failed=Count("id", filter=Q(credit__lt=CRITICAL_PASS)))
        .order_by()
    )
    return {(agent, team, key): (n, failed) for agent, team, key, n, failed in rows}


def criterion_labels(program: Program) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """Each criterion key's question and skill keys (from the newest version that has it)."""
    labels: dict[str, str] = {}
    skills: dict[str, set[str]] = defaultdict(set)
    rows = Criterion.objects.filter(
        Q(scorecard__programs__isnull=True) | Q(scorecard__programs=program)
    ).order_by("scorecard__version")
    for key, question, skill in rows.values_list("key", "question", "skills__key"):
        labels[key] = question
        if skill:
            skills[key].add(skill)
    return labels, {key: tuple(sorted(values)) for key, values in skills.items()}


def fail_rates(
    counts: Counts,
    *,
    agent_id: int | None = None,
    team_id: int | None = None,
    labels: dict[str, str] | None = None,
    skills: dict[str, tuple[str, ...]] | None = None,
    by_skill: bool = False,
) -> list[FailRate]:
    """Fail rates of the subject (an agent, a team, or the whole program when neither is
    given) per criterion, or per skill when ``by_skill`` (a skill pools the answers of every
    criterion linked to it), weakest first: highest probability of failing more than peers,
    then the largest gap."""
    index = FailRateIndex(counts, labels=labels, skills=skills, by_skill=by_skill)
    return index.rates(agent_id=agent_id, team_id=team_id)


class FailRateIndex:
    """A program's answer counts summed once per criterion (or skill), agent and team, with
    the spread of agents' fail rates per key kept once computed: the fail rates of many agents
    (a team's queue, every agent of a bench) without going through the whole program's counts
    again for each of them. Read it, never change it: it may be shared between requests."""

    def __init__(
        self,
        counts: Counts,
        *,
        labels: dict[str, str] | None = None,
        skills: dict[str, tuple[str, ...]] | None = None,
        by_skill: bool = False,
    ) -> None:
        self.labels, self.skills, self.by_skill = labels or {}, skills or {}, by_skill
        totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        per_agent: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
        # Each agent's and each team's own rows: (agent, team, key, answers, failed).
        self._by_agent: dict[int, list[tuple[int, int | None, str, int, int]]] = defaultdict(list)
        self._by_team: dict[int | None, list[tuple[int, int | None, str, int, int]]] = defaultdict(
            list
        )
        for (agent, team, criterion), (n, failed) in counts.items():
            for key in self.skills.get(criterion, ()) if by_skill else (criterion,):
                totals[key][0] += n
                totals[key][1] += failed
                per_agent[(key, agent)][0] += n
                per_agent[(key, agent)][1] += failed
                self._by_agent[agent].append((agent, team, key, n, failed))
                self._by_team[team].append((agent, team, key, n, failed))
        self._totals = dict(totals)
        self._agents: dict[str, list[list[int]]] = defaultdict(list)
        for (key, _), sums in per_agent.items():
            self._agents[key].append(sums)
        # Filled on first use; a request racing another computes the same value, so sharing the
        # index between threads needs no lock.
        self._between: dict[str, float | None] = {}

    def rates(self, *, agent_id: int | None = None, team_id: int | None = None) -> list[FailRate]:
        """The subject's fail rates against everyone else in the program, weakest first."""
        whole_program = agent_id is None and team_id is None
        mine: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        if whole_program:
            mine.update({key: list(sums) for key, sums in self._totals.items()})
        else:
            if agent_id is not None:
                rows = self._by_agent.get(agent_id, [])
            else:
                rows = self._by_team.get(team_id, [])
            for agent, team, key, n, failed in rows:
                if (agent_id is None or agent == agent_id) and (team_id is None or team == team_id):
                    mine[key][0] += n
                    mine[key][1] += failed
        rates = []
        for key, own in mine.items():
            total = self._totals[key]
            peers = own if whole_program else [total[0] - own[0], total[1] - own[1]]
            compare = not whole_program and own[0] > 0 and peers[0] > 0
            rates.append(
                _fail_rate(
                    key,
                    self.labels.get(key, key) if not self.by_skill else key,
                    own,
                    peers,
                    self._between_of(key) if compare else None,
                    () if self.by_skill else self.skills.get(key, ()),
                    compare=compare,
                )
            )
        return sorted(
            rates,
            key=lambda r: (
                -(r.probability_worse or 0.0),
                -((r.fail_rate or 0.0) - (r.peer_fail_rate or 0.0)),
                r.key,
            ),
        )

    def _between_of(self, key: str) -> float | None:
        """How much agents' true fail rates on the key differ (every agent of the program)."""
        if key not in self._between:
            self._between[key] = stats.between_variance(
                [
                    (f / m, max(f / m * (1 - f / m), 1e-6) / m)
                    for m, f in self._agents.get(key, [])
                    if m > 0
                ]
            )
        return self._between[key]


def _fail_rate(
    key: str,
    label: str,
    mine: list[int],
    peers: list[int],
    between: float | None,
    skills: tuple[str, ...],
    *,
    compare: bool,
) -> FailRate:
    n, failed = mine
    peer_n, peer_failed = peers
    if not compare or n == 0 or peer_n == 0:
        return FailRate(key, label, n, failed, peer_n, peer_failed, None, None, None, skills)
    peer_rate = peer_failed / peer_n
    prior = stats.Prior(peer_rate, between) if between is not None else None
    posterior = stats.rate_posterior(successes=failed, trials=n, prior=prior)
    # The peers' rate is uncertain too (a criterion may have been answered a dozen times):
    # compare with their posterior, not with a point.
    peer_posterior = stats.rate_posterior(successes=peer_failed, trials=peer_n, prior=None)
    worse = probability_greater(posterior, peer_posterior)
    low, high = posterior.interval()
    return FailRate(
        key,
        label,
        n,
        failed,
        peer_n,
        peer_failed,
        posterior.mean,
        (low, high),
        worse if math.isfinite(worse) else None,
        skills,
    )


GRID = np.linspace(0.0, 1.0, 2001)


def probability_greater(first: stats.Posterior, second: stats.Posterior) -> float:
    """P(X > Y) for independent Beta X and Y: the sum of P(Y < x) over small steps of X's
    distribution (CDF increments, so the density's poles at 0 and 1 do no harm)."""
    first_cdf = special.betainc(first.a, first.b, GRID)
    middle = (GRID[1:] + GRID[:-1]) / 2
    return float(np.sum(np.diff(first_cdf) * special.betainc(second.a, second.b, middle)))


def weakest(
    *,
    program: Program,
    start: dt.date,
    end: dt.date,
    agent_id: int | None = None,
    team_id: int | None = None,
    by_skill: bool = False,
) -> list[FailRate]:
    """The subject's criteria (or skills, with ``by_skill``), weakest first."""
    labels, skills = criterion_labels(program)
    counts = criterion_counts(program=program, start=start, end=end)
    return fail_rates(
        counts, agent_id=agent_id, team_id=team_id, labels=labels, skills=skills, by_skill=by_skill
    )


def program_pass_rates(*, program: Program, start: dt.date, end: dt.date) -> list[FailRate]:
    """Per criterion, program-wide: n and fail rate (pass rate = 1 - fail rate), for the
    diagnosis."""
    labels, skills = criterion_labels(program)
    counts = criterion_counts(program=program, start=start, end=end)
    return sorted(fail_rates(counts, labels=labels, skills=skills), key=lambda r: r.key)
