"""The scoring rules of CONTRACTS.md, on the small scorecard (greets 1, verifies 2 critical |
empathy scale 2, accuracy points 4)."""

from __future__ import annotations

import pytest

from coachloop.quality.scoring import AnswerError, Rule, credit, normalise, score

RULES = [
    Rule("greets", "opening", "yes_no", 1),
    Rule("verifies", "opening", "yes_no", 2, critical=True),
    Rule("empathy", "handling", "scale_1_5", 2),
    Rule("accuracy", "handling", "points", 4),
]
ALL_GOOD = {"greets": "yes", "verifies": "yes", "empathy": "5", "accuracy": "4"}


def test_a_perfect_evaluation_scores_100() -> None:
    assert score(RULES, ALL_GOOD, "evaluation").score == 100.0


def test_weights_decide_how_much_each_answer_counts() -> None:
    # greets no (0 of 1), empathy 3 (0.5 x 2 = 1 of 2), accuracy 1 of 4: earned 2 + 1 + 1 of 9.
    result = score(
        RULES, {**ALL_GOOD, "greets": "no", "empathy": "3", "accuracy": "1"}, "evaluation"
    )
    assert result.score == pytest.approx(100 * 4 / 9, abs=1e-3)


def test_na_leaves_the_criterion_out_of_the_denominator() -> None:
    result = score(RULES, {**ALL_GOOD, "greets": "na", "accuracy": "2"}, "evaluation")
    # earned verifies 2 + empathy 2 + accuracy 2 of weights 2 + 2 + 4.
    assert result.score == pytest.approx(100 * 6 / 8, abs=1e-3)
    assert result.credits["greets"] is None


def test_all_na_has_no_score_rather_than_zero() -> None:
    assert score(RULES, dict.fromkeys(ALL_GOOD, "na"), "evaluation").score is None


def test_a_failed_critical_criterion_scores_the_whole_evaluation_zero() -> None:
    result = score(RULES, {**ALL_GOOD, "verifies": "no"}, "evaluation")
    assert (result.score, result.critical_failed, result.failed_critical) == (
        0.0,
        True,
        ("verifies",),
    )


def test_with_section_scope_a_failed_critical_zeroes_only_its_section() -> None:
    result = score(RULES, {**ALL_GOOD, "verifies": "no"}, "section")
    # The opening section (weights 1 + 2) earns nothing; handling keeps its 6 of 6.
    assert result.score == pytest.approx(100 * 6 / 9, abs=1e-3)
    assert result.sections == {"opening": 0.0, "handling": 100.0}
    assert result.critical_failed


def test_a_critical_criterion_answered_na_does_not_fail() -> None:
    result = score(RULES, {**ALL_GOOD, "verifies": "na"}, "evaluation")
    assert not result.critical_failed and result.score == 100.0


def test_a_scale_scores_its_steps_and_fails_critical_below_three() -> None:
    scale = Rule("tone", "s", "scale_1_5", 1, critical=True)
    assert [credit(scale, v) for v in "12345"] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert score([scale], {"tone": "2"}, "evaluation").critical_failed
    assert not score([scale], {"tone": "3"}, "evaluation").critical_failed


def test_points_score_the_share_of_the_weight() -> None:
    points = Rule("steps", "s", "points", 5)
    assert credit(points, "2.5") == 0.5
    with pytest.raises(AnswerError, match="points from 0 to 5"):
        credit(points, "6")


@pytest.mark.parametrize(
    ("rule", "given", "stored"),
    [
        (RULES[0], "Yes", "yes"),
        (RULES[0], "N/A", "na"),
        (RULES[2], "4.0", "4"),
        (RULES[3], "3", "3"),
    ],
)
def test_answers_are_stored_in_one_form(rule: Rule, given: str, stored: str) -> None:
    assert normalise(rule, given) == stored


@pytest.mark.parametrize(
    ("rule", "given"), [(RULES[0], "maybe"), (RULES[2], "6"), (RULES[2], "2.5")]
)
def test_an_answer_that_does_not_fit_says_what_would(rule: Rule, given: str) -> None:
    with pytest.raises(AnswerError) as error:
        normalise(rule, given)
    assert error.value.expected in ("yes, no or na", "a whole number 1-5, or na")


def test_unanswered_criteria_count_like_na_in_a_drafts_live_score() -> None:
    assert score(RULES, {"greets": "yes"}, "evaluation").score == 100.0
