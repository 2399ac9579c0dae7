"""Honest numbers: sampling variances, shrinkage toward peers, intervals and the probability that
a true value is worse than its target. Pure functions on floats; docs/metrics.md explains them.

Rates (FCR, CSAT, transfers...) are beta-binomial: the peers' spread gives a Beta prior centred
on the peer rate, and the agent's successes and trials update it. Means, ratios and per-hour
counts are normal-normal: the agent's estimate with its sampling variance is pulled toward the
peer value by the share of the spread that is real (between agents) rather than noise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import special

INTERVAL_LEVEL = 0.90
# A prior needs a group: fewer agents than this with enough data, and nobody is shrunk.
MIN_PEERS = 5


@dataclass(frozen=True)
class Prior:
    mean: float
    between_variance: float  # variance of true values between agents


@dataclass(frozen=True)
class Posterior:
    """A distribution over the true value: Beta (rates, on scale 0-1 times ``scale``) or
    normal."""

    family: str  # "beta" | "normal"
    a: float  # beta alpha, or normal mean
    b: float  # beta beta, or normal standard deviation
    scale: float = 1.0

    @property
    def mean(self) -> float:
        if self.family == "beta":
            return self.scale * self.a / (self.a + self.b)
        return self.a

    def cdf(self, x: float) -> float:
        if self.family == "beta":
            # The regularized incomplete beta function is the Beta CDF; scipy.special's ufuncs
            # skip scipy.stats' argument handling, which cost a page hundreds of calls.
            return float(special.betainc(self.a, self.b, min(max(x / self.scale, 0.0), 1.0)))
        if self.b <= 0:
            return 1.0 if x >= self.a else 0.0
        return float(special.ndtr((x - self.a) / self.b))

    def interval(self, level: float = INTERVAL_LEVEL) -> tuple[float, float]:
        tail = (1 - level) / 2
        if self.family == "beta":
            low = special.betaincinv(self.a, self.b, tail)
            high = special.betaincinv(self.a, self.b, 1 - tail)
            return float(low) * self.scale, float(high) * self.scale
        if self.b <= 0:
            return self.a, self.a
        spread = float(special.ndtri(1 - tail)) * self.b
        return self.a - spread, self.a + spread


def probability_worse(
    posterior: Posterior, *, direction: str, target: float, upper: float | None = None
) -> float:
    """P(true value is worse than the target in the metric's direction; outside it, for a
    range)."""
    if direction == "lower":
        return 1.0 - posterior.cdf(target)
    if direction == "higher":
        return posterior.cdf(target)
    below = posterior.cdf(target)
    above = 1.0 - posterior.cdf(upper) if upper is not None else 0.0
    return below + above


# --- sampling variances of one group's estimate -------------------------------------------


def mean_variance(*, total: float, square: float, n: float, scale: float = 1.0) -> float:
    """Variance of a mean of n units with the given sum and sum of squares (unbiased s^2 / n)."""
    if n < 2:
        return math.inf
    mean = total / n
    spread = max(square - n * mean * mean, 0.0) / (n - 1)
    return scale * scale * spread / n


def ratio_variance(
    *,
    numerator: float,
    denominator: float,
    numerator_square: float,
    denominator_square: float,
    cross: float,
    n: float,
    scale: float = 1.0,
) -> float:
    """Delta-method variance of a ratio of sums over n units (days): the spread of
    a_i - R b_i, over n times the mean denominator squared."""
    if n < 2 or denominator <= 0:
        return math.inf
    ratio = numerator / denominator
    residual = numerator_square - 2 * ratio * cross + ratio * ratio * denominator_square
    mean_denominator = denominator / n
    return scale * scale * max(residual, 0.0) / ((n - 1) * n * mean_denominator**2)


def per_hour_variance(*, count: float, exposure: float, scale: float) -> float:
    """Poisson: a count over an exposure has variance count / exposure^2."""
    if exposure <= 0:
        return math.inf
    return scale * scale * max(count, 1.0) / (exposure * exposure)


# --- shrinkage -------------------------------------------------------------------------------


def rate_posterior(*, successes: float, trials: float, prior: Prior | None) -> Posterior:
    """Beta posterior of a rate: the prior Beta has the peers' mean and between-agent variance;
    without peers, Jeffreys' Beta(1/2, 1/2)."""
    alpha, beta = 0.5, 0.5
    if prior is not None and 0 < prior.mean < 1 and prior.between_variance > 0:
        spread = prior.mean * (1 - prior.mean)
        strength = max(spread / prior.between_variance - 1, 0.5)
        alpha, beta = prior.mean * strength, (1 - prior.mean) * strength
    failures = max(trials - successes, 0.0)
    return Posterior("beta", alpha + successes, beta + failures)


def normal_posterior(*, estimate: float, variance: float, prior: Prior | None) -> Posterior:
    """Normal-normal: precision-weighted mean of the estimate and the peers' mean."""
    if prior is None or prior.between_variance <= 0:
        return Posterior("normal", estimate, math.sqrt(variance) if math.isfinite(variance) else 0)
    if not math.isfinite(variance):
        return Posterior("normal", prior.mean, math.sqrt(prior.between_variance))
    if variance <= 0:
        return Posterior("normal", estimate, 0.0)
    precision = 1 / prior.between_variance + 1 / variance
    mean = (prior.mean / prior.between_variance + estimate / variance) / precision
    return Posterior("normal", mean, math.sqrt(1 / precision))


def between_variance(estimates: Sequence[tuple[float, float]]) -> float | None:
    """Method of moments: the variance of agents' estimates minus the average noise in them
    (``estimates`` are (value, sampling variance)). None with fewer than ``MIN_PEERS``."""
    usable = [(x, v) for x, v in estimates if math.isfinite(x) and math.isfinite(v)]
    if len(usable) < MIN_PEERS:
        return None
    values = [x for x, _ in usable]
    mean = sum(values) / len(values)
    observed = sum((x - mean) ** 2 for x in values) / (len(values) - 1)
    noise = sum(v for _, v in usable) / len(usable)
    # A floor keeps the prior proper when the agents look identical: shrinkage is then strong
    # but an agent with a large sample can still stand apart.
    return max(observed - noise, observed * 0.05, 1e-12)
