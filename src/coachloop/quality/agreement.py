"""Krippendorff's alpha: do evaluators scoring the same interactions agree more than chance?

Follows Klaus Krippendorff, "Computing Krippendorff's Alpha-Reliability" (2011,
https://repository.upenn.edu/asc_papers/43). The reliability data are a raters x units matrix
with gaps (a calibration exercise where not every evaluator scored every interaction). Units
with fewer than two values cannot be paired and are dropped. Each remaining unit u with m_u
values adds (number of c-k pairs in u) / (m_u - 1) to the coincidence matrix o_ck, so every
pairable value counts once whatever the number of raters; n_c are its marginals and n their sum.

    alpha = 1 - (n - 1) * sum_ck o_ck delta2_ck / sum_ck n_c n_k delta2_ck

Two shortcuts keep this fast enough to bootstrap, and the tests check both against the paper's
literal formulas:

* Every coincidence matrix here is a weighted sum of per-unit ones, and each unit's is
  (n_u n_u' - diag n_u) / (m_u - 1) with n_u the unit's value counts. Its diagonal never
  disagrees, so observed disagreement is a weighted sum of one number per unit,
  n_u' delta2 n_u / (m_u - 1): no V x V matrix per unit or per draw is ever built.
* The interval metric is (c - k)^2 and the ordinal one, (sum_{g=c}^{k} n_g - (n_c + n_k)/2)^2,
  equals (r_c - r_k)^2 where r_c = sum_{g<=c} n_g - n_c / 2 is value c's mid-rank among all
  pairable values. Both are squared distances between positions x, and
  a' delta2 a = 2 (sum(a) sum(a x^2) - (sum(a x))^2) for any count vector a.

The ratio metric is left out: evaluation scores are interval data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

Level = Literal["nominal", "ordinal", "interval"]
LEVELS: tuple[Level, ...] = ("nominal", "ordinal", "interval")

NO_PAIRS = "fewer than two ratings on any unit"
NO_VARIATION = (
    "every rating is the same value, so agreement by chance cannot be told from real agreement"
)

# Bootstrap draws are processed in blocks so memory stays bounded for large evaluations.
_BLOCK_CELLS = 2_000_000

Matrix = NDArray[np.float64]


@dataclass(frozen=True)
class AlphaResult:
    """Alpha with its n: ``n_units`` units had two or more values, holding ``n_pairable``
    values. ``alpha`` is None where it is undefined, and ``reason`` then says why.
    ``agreement`` is the observed share of agreeing pairs (see ``krippendorff_alpha``)."""

    alpha: float | None
    reason: str | None
    n_units: int
    n_pairable: int
    agreement: float | None


@dataclass(frozen=True)
class _Reliability:
    """The pairable units only: ``counts[u, c]`` is how many raters gave unit u the value
    ``values[c]``; every row sums to 2 or more."""

    values: Matrix  # (V,) distinct values, ascending
    counts: Matrix  # (U, V)

    @property
    def per_unit(self) -> Matrix:
        """m_u, the number of values in each unit."""
        return self.counts.sum(axis=1)


def krippendorff_alpha(
    data: Sequence[Sequence[float | None]] | Matrix, level: Level = "nominal"
) -> AlphaResult:
    """Alpha for a raters x units matrix; None or nan marks a missing rating.

    ``agreement`` is trace(o) / n on the coincidence matrix: the share of agreeing pairs, each
    unit's pairs weighted by 1 / (m_u - 1) exactly as alpha weighs them. Each rating thus counts
    once: a unit scored by five raters (20 ordered pairs) does not outweigh one scored by two
    (2 pairs) ten to one. Nominal alpha is then 1 - (1 - agreement) / (1 - chance agreement).
    """
    _check_level(level)
    reliability = _reliability(data)
    units, pairable = reliability.counts.shape[0], int(reliability.per_unit.sum())
    if units == 0:
        return AlphaResult(None, NO_PAIRS, 0, 0, None)
    agreement = _observed_agreement(reliability)
    if reliability.values.size < 2:
        return AlphaResult(None, NO_VARIATION, units, pairable, agreement)
    alpha = float(_alphas(reliability, np.ones((1, units)), level)[0])
    return AlphaResult(alpha, None, units, pairable, agreement)


def alpha_interval(
    data: Sequence[Sequence[float | None]] | Matrix,
    level: Level = "nominal",
    *,
    draws: int = 1000,
    confidence: float = 0.9,
    seed: int = 0,
) -> tuple[float, float] | None:
    """Percentile bootstrap interval for alpha, resampling units with replacement.

    Units (the interactions scored) are what a calibration exercise samples: another exercise
    would pick other interactions, scored by the same evaluators, so their spread is the
    uncertainty worth reporting. Only pairable units are resampled, since the others carry no
    information about agreement. Draws where alpha is undefined (every drawn rating the same)
    are skipped; if more than half are, None, because the interval would describe a
    selected minority of draws. The same seed gives the same interval.
    """
    _check_level(level)
    if draws < 1:
        raise ValueError(f"draws must be at least 1, got {draws}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    reliability = _reliability(data)
    units = reliability.counts.shape[0]
    if units == 0:
        return None
    rng = np.random.default_rng(seed)
    weights = _multiplicities(rng.integers(0, units, size=(draws, units)), units)
    alphas = _alphas(reliability, weights, level)
    defined = alphas[~np.isnan(alphas)]
    if defined.size * 2 < draws:
        return None
    tail = (1 - confidence) / 2
    low, high = np.quantile(defined, [tail, 1 - tail])
    return float(low), float(high)


def _check_level(level: str) -> None:
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, got {level!r}")


def _reliability(data: Sequence[Sequence[float | None]] | Matrix) -> _Reliability:
    """Count each unit's values, keeping units with two or more and the values they hold."""
    try:
        matrix = np.array(data, dtype=np.float64)
    except ValueError as error:  # ragged rows or a non-numeric code
        raise ValueError(f"ratings must be a raters x units matrix of numbers: {error}") from None
    if matrix.ndim != 2:
        raise ValueError(f"ratings must be a raters x units matrix, got {matrix.ndim} dimensions")
    if np.isinf(matrix).any():
        raise ValueError("ratings must be finite numbers or missing")
    rated = ~np.isnan(matrix)
    values, codes = np.unique(matrix[rated], return_inverse=True)
    units = np.nonzero(rated)[1]
    counts = np.zeros((matrix.shape[1], values.size))
    np.add.at(counts, (units, codes), 1.0)
    counts = counts[counts.sum(axis=1) >= 2]
    present = counts.sum(axis=0) > 0
    return _Reliability(values=values[present], counts=counts[:, present])


def _observed_agreement(reliability: _Reliability) -> float:
    """trace(o) / n: each unit adds n_uc (n_uc - 1) / (m_u - 1) agreeing pairs per value c."""
    counts, per_unit = reliability.counts, reliability.per_unit
    agreeing = (counts * (counts - 1)).sum(axis=1) / (per_unit - 1)
    return float(agreeing.sum() / per_unit.sum())


def _multiplicities(picks: NDArray[np.int64], units: int) -> Matrix:
    """(draws, units) resampled unit indices -> how often each unit was drawn, per draw."""
    draws = picks.shape[0]
    offsets = np.arange(draws)[:, None] * units
    tally = np.bincount((picks + offsets).ravel(), minlength=draws * units)
    return tally.reshape(draws, units).astype(np.float64)


def _alphas(reliability: _Reliability, weights: Matrix, level: Level) -> Matrix:
    """Alpha for each row of ``weights`` (draws x units: how often each unit counts); nan
    where a draw holds a single value, so chance disagreement is zero."""
    block = max(1, _BLOCK_CELLS // max(reliability.counts.size, 1))
    parts = [
        _alphas_block(reliability, weights[start : start + block], level)
        for start in range(0, weights.shape[0], block)
    ]
    return np.concatenate(parts)


def _alphas_block(reliability: _Reliability, weights: Matrix, level: Level) -> Matrix:
    counts, per_unit = reliability.counts, reliability.per_unit
    marginals = weights @ counts  # n_c per draw
    total = marginals.sum(axis=1)  # n per draw
    if level == "nominal":
        within = _nominal_disagreement(per_unit, counts)[None, :]
        expected = _nominal_disagreement(total, marginals)
    else:
        x = _positions(reliability.values, marginals, level)
        within = _squared_distances(per_unit, x @ counts.T, x**2 @ counts.T)
        expected = _squared_distances(
            total, (marginals * x).sum(axis=1), (marginals * x**2).sum(axis=1)
        )
    observed = (weights / (per_unit - 1) * within).sum(axis=1)
    varied = (marginals > 0).sum(axis=1) >= 2
    with np.errstate(divide="ignore", invalid="ignore"):
        alphas = 1.0 - (total - 1.0) * observed / expected
    return np.where(varied, alphas, np.nan)


def _nominal_disagreement(size: Matrix, counts: Matrix) -> Matrix:
    """a' delta2 a for the nominal metric: ordered pairs of different values, m^2 - sum a_c^2,
    for count vectors a (rows of ``counts``) of ``size`` values each."""
    return size**2 - (counts**2).sum(axis=-1)


def _squared_distances(size: Matrix, first: Matrix, second: Matrix) -> Matrix:
    """sum_ck a_c a_k (x_c - x_k)^2 = 2 (sum(a) sum(a x^2) - (sum(a x))^2), from a count
    vector's size sum(a) and its moments ``first`` = sum(a x) and ``second`` = sum(a x^2)."""
    return 2 * (size * second - first**2)


def _positions(values: Matrix, marginals: Matrix, level: Level) -> Matrix:
    """Where each value sits, per draw (draws x V): the value itself for interval, its
    mid-rank among the draw's pairable values for ordinal. Both are centred, which changes no
    distance but keeps the moment differences above from cancelling."""
    if level == "interval":
        return np.broadcast_to(values - values.mean(), marginals.shape)
    ranks = np.cumsum(marginals, axis=1) - marginals / 2
    return ranks - marginals.sum(axis=1, keepdims=True) / 2
