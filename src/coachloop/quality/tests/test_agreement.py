"""Krippendorff's alpha as Krippendorff (2011) computes it: the paper's worked example, the
cases where alpha is undefined, and a bootstrap interval over units. ``paper_alpha`` below is
the paper's formulas written out loop by loop; the module's vectorised shortcuts must agree
with it on any data."""

from __future__ import annotations

import math
import time
from itertools import permutations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from coachloop.quality.agreement import (
    NO_PAIRS,
    NO_VARIATION,
    AlphaResult,
    Level,
    alpha_interval,
    krippendorff_alpha,
)

Ratings = list[list[float | None]]

_: None = None  # a missing rating, so the example reads like the paper's table
# Krippendorff (2011), section C: 4 coders x 12 units, missing values marked "."
WORKED_EXAMPLE: Ratings = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, _, _, _],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, _, 3],
    [_, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, _],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, _],
]
LEVELS: list[Level] = ["nominal", "ordinal", "interval"]


def paper_alpha(data: Ratings, level: Level) -> float | None:
    """The coincidence matrix, marginals, metrics and alpha exactly as the paper defines them."""
    units = [[v for v in unit if v is not None] for unit in zip(*data, strict=True)]
    units = [unit for unit in units if len(unit) >= 2]
    values = sorted({v for unit in units for v in unit})
    if len(values) < 2:
        return None
    o = {(c, k): 0.0 for c in values for k in values}
    for unit in units:
        for c, k in permutations(unit, 2):  # ordered pairs of distinct positions
            o[c, k] += 1 / (len(unit) - 1)
    n_c = {c: sum(o[c, k] for k in values) for c in values}
    n = sum(n_c.values())

    def delta(c: float, k: float) -> float:
        if level == "nominal":
            return 0.0 if c == k else 1.0
        if level == "interval":
            return (c - k) ** 2
        low, high = min(c, k), max(c, k)
        between = sum(n_c[g] for g in values if low <= g <= high)
        return (between - (n_c[c] + n_c[k]) / 2) ** 2

    observed = sum(o[c, k] * delta(c, k) for c in values for k in values)
    expected = sum(n_c[c] * n_c[k] * delta(c, k) for c in values for k in values)
    return 1 - (n - 1) * observed / expected


@pytest.mark.parametrize(
    ("level", "expected"), [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849)]
)
def test_worked_example_gives_the_papers_alpha(level: Level, expected: float) -> None:
    result = krippendorff_alpha(WORKED_EXAMPLE, level)

    assert result.alpha == pytest.approx(expected, abs=5e-4)
    assert result.reason is None


def test_worked_example_counts_eleven_pairable_units_holding_forty_values() -> None:
    result = krippendorff_alpha(WORKED_EXAMPLE, "nominal")

    assert (result.n_units, result.n_pairable) == (11, 40)


def test_agreement_is_the_share_of_agreeing_pairs_weighted_like_the_coincidences() -> None:
    # 32 of the 40 pairable values sit on the coincidence matrix's diagonal in the paper.
    assert krippendorff_alpha(WORKED_EXAMPLE).agreement == pytest.approx(0.8)
    # Two raters agree on two of three units.
    assert krippendorff_alpha([[1, 2, 3], [1, 2, 1]]).agreement == pytest.approx(2 / 3)


@pytest.mark.parametrize("level", LEVELS)
def test_perfect_agreement_gives_alpha_of_one(level: Level) -> None:
    result = krippendorff_alpha([[1, 2, 3, 4], [1, 2, 3, 4], [1, None, 3, 4]], level)

    assert result == AlphaResult(alpha=1.0, reason=None, n_units=4, n_pairable=11, agreement=1.0)


@pytest.mark.parametrize("level", LEVELS)
def test_a_unit_with_one_rating_is_ignored(level: Level) -> None:
    with_single = [[*row, value] for row, value in zip(WORKED_EXAMPLE, [9, _, _, _], strict=True)]

    assert krippendorff_alpha(with_single, level) == krippendorff_alpha(WORKED_EXAMPLE, level)


def test_missing_ratings_may_be_none_or_nan() -> None:
    as_nan = np.array(WORKED_EXAMPLE, dtype=float)

    assert math.isnan(as_nan[0, 9])
    assert krippendorff_alpha(as_nan, "interval") == krippendorff_alpha(WORKED_EXAMPLE, "interval")


def test_no_unit_with_two_ratings_leaves_alpha_undefined() -> None:
    result = krippendorff_alpha([[1, None, 3], [None, 2, None]], "interval")

    assert result == AlphaResult(
        alpha=None, reason=NO_PAIRS, n_units=0, n_pairable=0, agreement=None
    )
    assert result.reason == "fewer than two ratings on any unit"


def test_every_rating_the_same_leaves_alpha_undefined_but_agreement_complete() -> None:
    result = krippendorff_alpha([[3, 3, None], [3, 3, 5]], "ordinal")

    assert result == AlphaResult(
        alpha=None, reason=NO_VARIATION, n_units=2, n_pairable=4, agreement=1.0
    )
    assert result.reason is not None
    assert result.reason.startswith("every rating is the same value")


@pytest.mark.parametrize("level", LEVELS)
def test_raters_always_opposite_on_binary_data_give_negative_alpha(level: Level) -> None:
    # o_01 = o_10 = 4, n_0 = n_1 = 4, n = 8: alpha = 1 - 7 * 8 / (2 * 4 * 4) = -0.75.
    result = krippendorff_alpha([[0, 1, 0, 1], [1, 0, 1, 0]], level)

    assert result.alpha == pytest.approx(-0.75)
    assert result.agreement == 0.0


def test_ordinal_alpha_depends_on_order_not_on_distances() -> None:
    close = [[1, 2, 3, 4, 5], [1, 2, 3, 5, 4]]
    spread = [[1, 2, 3, 40, 500], [1, 2, 3, 500, 40]]

    assert krippendorff_alpha(close, "ordinal") == krippendorff_alpha(spread, "ordinal")
    assert (
        krippendorff_alpha(close, "interval").alpha != krippendorff_alpha(spread, "interval").alpha
    )


def test_unknown_level_and_ragged_rows_are_refused() -> None:
    with pytest.raises(ValueError, match="level must be one of"):
        krippendorff_alpha(WORKED_EXAMPLE, "ratio")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="raters x units matrix"):
        krippendorff_alpha([[1, 2, 3], [1, 2]])


@pytest.mark.parametrize("level", LEVELS)
def test_bootstrap_interval_contains_the_point_estimate(level: Level) -> None:
    alpha = krippendorff_alpha(WORKED_EXAMPLE, level).alpha
    interval = alpha_interval(WORKED_EXAMPLE, level)

    assert alpha is not None
    assert interval is not None
    assert interval[0] < alpha < interval[1]
    assert interval[1] <= 1.0


def test_bootstrap_interval_is_the_same_for_the_same_seed() -> None:
    first = alpha_interval(WORKED_EXAMPLE, "interval", seed=7)

    assert alpha_interval(WORKED_EXAMPLE, "interval", seed=7) == first
    assert alpha_interval(WORKED_EXAMPLE, "interval", seed=8) != first


def test_bootstrap_interval_widens_with_confidence() -> None:
    narrow = alpha_interval(WORKED_EXAMPLE, "nominal", confidence=0.5)
    wide = alpha_interval(WORKED_EXAMPLE, "nominal", confidence=0.95)

    assert narrow is not None
    assert wide is not None
    assert wide[0] < narrow[0] < narrow[1] < wide[1]


def test_bootstrap_interval_is_none_where_alpha_is_undefined() -> None:
    assert alpha_interval([[1, None], [None, 2]], "nominal") is None
    assert alpha_interval([[3, 3], [3, 3]], "nominal") is None


def test_bootstrap_draws_that_are_undefined_are_skipped() -> None:
    # One varied unit among nine constant ones: about a third of the draws miss it.
    data: Ratings = [[1.0, *[1.0] * 9], [2.0, *[1.0] * 9]]

    interval = alpha_interval(data, "nominal", draws=200)

    assert interval is not None
    assert all(math.isfinite(bound) for bound in interval)


def test_a_thousand_draws_on_forty_units_by_five_raters_take_well_under_a_second() -> None:
    ratings = np.random.default_rng(1).integers(1, 6, size=(5, 40)).astype(float)
    started = time.perf_counter()

    for level in LEVELS:
        assert alpha_interval(ratings, level, draws=1000) is not None

    assert time.perf_counter() - started < 0.5


rating = st.one_of(st.none(), st.integers(min_value=1, max_value=5).map(float))


@st.composite
def reliability_data(draw: st.DrawFn) -> Ratings:
    raters = draw(st.integers(min_value=2, max_value=5))
    units = draw(st.integers(min_value=1, max_value=10))
    return [draw(st.lists(rating, min_size=units, max_size=units)) for _ in range(raters)]


@given(data=reliability_data(), level=st.sampled_from(LEVELS))
def test_alpha_matches_the_papers_formulas_on_any_data(data: Ratings, level: Level) -> None:
    expected = paper_alpha(data, level)
    result = krippendorff_alpha(data, level)

    if expected is None:
        assert result.alpha is None
        assert result.reason in (NO_PAIRS, NO_VARIATION)
    else:
        assert result.alpha == pytest.approx(expected, rel=1e-9, abs=1e-9)


@given(data=reliability_data(), level=st.sampled_from(LEVELS), order=st.data())
def test_alpha_does_not_depend_on_the_order_of_raters_or_units(
    data: Ratings, level: Level, order: st.DataObject
) -> None:
    raters = order.draw(st.permutations(range(len(data))))
    units = order.draw(st.permutations(range(len(data[0]))))
    shuffled = [[data[r][u] for u in units] for r in raters]

    original, reordered = krippendorff_alpha(data, level), krippendorff_alpha(shuffled, level)

    assert (reordered.n_units, reordered.n_pairable) == (original.n_units, original.n_pairable)
    if original.alpha is None:
        assert reordered.alpha is None
    else:
        assert reordered.alpha == pytest.approx(original.alpha, rel=1e-9, abs=1e-9)
