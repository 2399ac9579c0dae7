"""From summed measures to a KPI: value, n, interval, probability, status, band.

Everything here works on plain dictionaries of measure sums, so the same arithmetic serves an
agent, a team, a program, a week or a call type; ``selectors.py`` fetches the sums.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from coachloop.metrics import stats
from coachloop.metrics.measures import MEASURE_INDEX
from coachloop.metrics.models import Direction, MetricDefinition, MetricKind, Target

Sums = Mapping[str, float]
FILTER_DIMENSIONS = ("queue", "channel", "call_type")
FLAG_PROBABILITY = 0.8


class Status:
    ON_TARGET = "on_target"
    BELOW_TARGET = "below_target"
    NOT_ENOUGH_DATA = "not_enough_data"
    NO_TARGET = "no_target"


_TERM = re.compile(r"\s*([+-]?)\s*([a-z0-9_]+)")


@functools.lru_cache(maxsize=256)
def terms(expression: str) -> tuple[tuple[int, str], ...]:
    """``"nps_promoters - nps_detractors"`` -> [(1, "nps_promoters"), (-1, "nps_detractors")]."""
    found: list[tuple[int, str]] = []
    position = 0
    expression = expression.strip()
    while position < len(expression):
        match = _TERM.match(expression, position)
        if match is None or match.group(2) not in MEASURE_INDEX:
            raise ValueError(f"Not a sum of measures: {expression!r}")
        if found and not match.group(1):
            raise ValueError(f"Measures must be joined by + or -: {expression!r}")
        found.append((-1 if match.group(1) == "-" else 1, match.group(2)))
        position = match.end()
    if not found:
        raise ValueError("An empty expression")
    return tuple(found)


def measures_of(definitions: Iterable[MetricDefinition]) -> set[str]:
    """Every measure the definitions read."""
    needed: set[str] = set()
    for definition in definitions:
        for expression in (definition.numerator, definition.square):
            if expression:
                needed |= {name for _, name in terms(expression)}
        for name in (
            definition.denominator,
            definition.denominator_square,
            definition.cross,
            definition.count,
        ):
            if name:
                needed.add(name)
    return needed


def _total(sums: Sums, expression: str) -> float:
    found = terms(expression)
    if len(found) == 1 and found[0][0] == 1:  # most metrics: one measure, no generator
        return float(sums.get(found[0][1], 0.0) or 0.0)
    return sum(sign * float(sums.get(name, 0.0) or 0.0) for sign, name in found)


def values_of(
    definition: MetricDefinition, matrix: np.ndarray, columns: Mapping[str, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Observed values and n of many subjects at once: ``matrix`` has one row of measure sums
    per subject (columns named by ``columns``). A value is NaN where ``observe`` gives None."""

    def column(name: str) -> np.ndarray:
        return matrix[:, columns[name]] if name in columns else np.zeros(len(matrix))

    numerator = np.zeros(len(matrix))
    for sign, name in terms(definition.numerator):
        numerator = numerator + sign * column(name)
    denominator = column(definition.denominator)
    n = column(definition.count) if definition.count else denominator
    usable = (denominator > 0) & (n > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        values = np.where(usable, definition.scale * numerator / denominator, np.nan)
    return values, n


def matches(definition: MetricDefinition, dimensions: Mapping[str, str]) -> bool:
    """Whether a rollup row with these dimension values counts for the metric."""
    for dimension, allowed in (definition.filters or {}).items():
        if dimensions.get(dimension) not in allowed:
            return False
    return True


def add_sums(into: dict[str, float], row: Sums) -> None:
    for name, value in row.items():
        into[name] = into.get(name, 0.0) + float(value or 0.0)


@dataclass
class Observation:
    numerator: float
    denominator: float
    n: float
    value: float | None
    variance: float
    provisional_n: float = 0.0


def observe(definition: MetricDefinition, sums: Sums) -> Observation:
    """The observed ratio of sums and its sampling variance (not shrunk, not adjusted)."""
    numerator = _total(sums, definition.numerator)
    denominator = float(sums.get(definition.denominator, 0.0) or 0.0)
    n = float(sums.get(definition.count, 0.0) or 0.0) if definition.count else denominator
    provisional = (
        float(sums.get("fcr_provisional", 0.0) or 0.0) if "fcr" in (definition.numerator) else 0.0
    )
    if denominator <= 0 or n <= 0:
        return Observation(numerator, denominator, n, None, math.inf, provisional)
    value = definition.scale * numerator / denominator
    kind = definition.kind
    if kind == MetricKind.RATE:
        rate = numerator / denominator
        variance = definition.scale**2 * rate * (1 - rate) / denominator
    elif kind == MetricKind.MEAN:
        variance = stats.mean_variance(
            total=numerator,
            square=_total(sums, definition.square) if definition.square else numerator**2 / n,
            n=n,
            scale=definition.scale,
        )
    elif kind == MetricKind.RATIO:
        variance = stats.ratio_variance(
            numerator=numerator,
            denominator=denominator,
            numerator_square=_total(sums, definition.square),
            denominator_square=float(sums.get(definition.denominator_square, 0.0) or 0.0),
            cross=float(sums.get(definition.cross, 0.0) or 0.0),
            n=n,
            scale=definition.scale,
        )
    else:
        variance = stats.per_hour_variance(
            count=numerator, exposure=denominator, scale=definition.scale
        )
    return Observation(numerator, denominator, n, value, variance, provisional)


def posterior(
    definition: MetricDefinition, observation: Observation, prior: stats.Prior | None
) -> stats.Posterior | None:
    if observation.value is None:
        return None
    if definition.kind == MetricKind.RATE:
        scaled_prior = (
            stats.Prior(
                prior.mean / definition.scale,
                prior.between_variance / definition.scale**2,
            )
            if prior
            else None
        )
        beta = stats.rate_posterior(
            successes=observation.numerator, trials=observation.denominator, prior=scaled_prior
        )
        return stats.Posterior("beta", beta.a, beta.b, definition.scale)
    return stats.normal_posterior(
        estimate=observation.value, variance=observation.variance, prior=prior
    )


@dataclass
class Kpi:
    """One metric for one subject and period: the KPI API's metric object, plus what the pages
    need to render it (band, flag, definition)."""

    definition: MetricDefinition
    value: float | None
    n: float
    numerator: float
    denominator: float
    target: Target | None = None
    status: str = Status.NO_TARGET
    probability_worse: float | None = None
    interval: tuple[float, float] | None = None
    expected: float | None = None  # from the subject's call-type mix at peer rates
    provisional_n: float = 0.0
    band: str = ""  # "" | "below" | "far_below": coloured only when statistically worse
    peer_value: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def slug(self) -> str:
        return self.definition.slug

    @property
    def adjusted_gap(self) -> float | None:
        if self.value is None or self.expected is None:
            return None
        return self.value - self.expected

    def as_api(self) -> dict[str, Any]:
        target = self.target
        item: dict[str, Any] = {
            "metric": self.slug,
            "label": self.definition.label,
            "unit": self.definition.unit,
            "value": _round(self.value),
            "n": int(self.n),
            "numerator": _round(self.numerator),
            "denominator": _round(self.denominator),
            "target": _round(target.value) if target else None,
            "status": self.status,
            "probability_worse_than_target": _round(self.probability_worse),
            "interval": [_round(x) for x in self.interval] if self.interval else None,
            "adjusted": (
                {"expected": _round(self.expected), "gap": _round(self.adjusted_gap)}
                if self.expected is not None
                else None
            ),
        }
        if target and target.upper is not None:
            item["target_upper"] = _round(target.upper)
        if self.definition.slug == "fcr" or "fcr" in self.definition.numerator:
            item["provisional_n"] = int(self.provisional_n)
        return item


def _round(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(value, 6)


def is_worse(definition: MetricDefinition, value: float, reference: float) -> bool:
    if definition.direction == Direction.LOWER:
        return value > reference
    return value < reference


def kpi_from_sums(
    definition: MetricDefinition,
    sums: Sums,
    *,
    prior: stats.Prior | None,
    target: Target | None,
    expected: float | None = None,
    flag_probability: float = FLAG_PROBABILITY,
) -> Kpi:
    """The whole KPI: observed value, shrunk interval, P(worse than target), status and band.
    ``prior`` is None for a team or a program (nothing to shrink toward)."""
    observation = observe(definition, sums)
    kpi = Kpi(
        definition=definition,
        value=observation.value,
        n=observation.n,
        numerator=observation.numerator,
        denominator=observation.denominator,
        target=target,
        expected=expected,
        provisional_n=observation.provisional_n,
    )
    belief = posterior(definition, observation, prior)
    if belief is not None:
        kpi.interval = belief.interval()
    if target is None:
        kpi.status = Status.NO_TARGET
    if belief is None or observation.n < definition.min_n:
        if target is not None:
            kpi.status = Status.NOT_ENOUGH_DATA
        if belief is not None and target is not None:
            kpi.probability_worse = _probability(definition, belief, target)
        return kpi
    if target is None:
        return kpi
    kpi.probability_worse = _probability(definition, belief, target)
    flagged = kpi.probability_worse >= flag_probability
    kpi.status = Status.BELOW_TARGET if flagged else Status.ON_TARGET
    if flagged:
        kpi.band = "below"
        if target.threshold is not None:
            far = stats.probability_worse(
                belief, direction=_threshold_direction(definition), target=target.threshold
            )
            if far >= flag_probability:
                kpi.band = "far_below"
    return kpi


def _probability(definition: MetricDefinition, belief: stats.Posterior, target: Target) -> float:
    return stats.probability_worse(
        belief, direction=definition.direction, target=target.value, upper=target.upper
    )


def _threshold_direction(definition: MetricDefinition) -> str:
    # For a range the threshold is a floor, as for a higher-is-better metric.
    return Direction.HIGHER if definition.direction == Direction.RANGE else definition.direction


def expected_from_mix(
    definition: MetricDefinition,
    subject_by_type: Mapping[str, Sums],
    peers_by_type: Mapping[str, Sums],
) -> float | None:
    """Indirect standardization: what the subject's figure would be if each of their contacts
    had the peers' value for its call type. None when nothing is comparable."""
    weighted = 0.0
    weight = 0.0
    for call_type, sums in subject_by_type.items():
        own = observe(definition, sums)
        peer = observe(definition, peers_by_type.get(call_type, {}))
        if own.denominator <= 0 or peer.value is None:
            continue
        weighted += own.denominator * peer.value
        weight += own.denominator
    if weight <= 0:
        return None
    return weighted / weight
