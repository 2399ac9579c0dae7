"""The one place an evaluation's score is computed (CONTRACTS.md, "scorecard"):

- yes = 1, no = 0; a 1-5 scale scores (v - 1) / 4; points score answer / weight (0..weight);
- ``na`` leaves the criterion out of the denominator (allowed on every type);
- the evaluation scores 100 x sum(weight x credit) / sum(weight) over the answered criteria;
- a critical criterion fails when its credit is below 0.5: the whole evaluation then scores 0,
  or only its section does (its criteria keep their weight in the denominator with no credit),
  per the scorecard's ``critical_scope``.

Pure functions on plain values, so the form's live score, submission, imports and dispute
resolution all get the same number.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

NA = "na"
CRITICAL_PASS = 0.5
SCALE_VALUES = ("1", "2", "3", "4", "5")


@dataclass(frozen=True)
class Rule:
    """What scoring needs to know of one criterion."""

    key: str
    section: str
    type: str  # yes_no | scale_1_5 | points
    weight: float
    critical: bool = False


@dataclass(frozen=True)
class Score:
    score: float | None  # 0-100; None when every criterion is N/A or unanswered
    critical_failed: bool
    failed_critical: tuple[str, ...] = ()
    sections: dict[str, float | None] = field(default_factory=dict)
    credits: dict[str, float | None] = field(default_factory=dict)


class AnswerError(ValueError):
    """An answer that does not fit its criterion; ``expected`` says what would."""

    def __init__(self, key: str, value: str, expected: str) -> None:
        super().__init__(f"criterion {key!r}: {value!r} is not {expected}")
        self.key, self.value, self.expected = key, value, expected


def expected_answer(rule: Rule) -> str:
    if rule.type == "yes_no":
        return "yes, no or na"
    if rule.type == "scale_1_5":
        return "a whole number 1-5, or na"
    return f"points from 0 to {_number(rule.weight)}, or na"


def normalise(rule: Rule, value: str) -> str:
    """The stored form of an answer ('Yes' -> 'yes', '4.0' -> '4'); raises AnswerError."""
    text = value.strip().lower()
    if text in (NA, "n/a"):
        return NA
    if rule.type == "yes_no":
        if text in ("yes", "y", "true", "1"):
            return "yes"
        if text in ("no", "n", "false", "0"):
            return "no"
    elif rule.type == "scale_1_5":
        number = _parse(text)
        if number is not None and number.is_integer() and 1 <= number <= 5:
            return str(int(number))
    else:
        number = _parse(text)
        if number is not None and 0 <= number <= rule.weight:
            return _number(number)
    raise AnswerError(rule.key, value, expected_answer(rule))


def credit(rule: Rule, value: str) -> float | None:
    """The 0-1 credit of a (normalised) answer; None for N/A."""
    answer = normalise(rule, value)
    if answer == NA:
        return None
    if rule.type == "yes_no":
        return 1.0 if answer == "yes" else 0.0
    if rule.type == "scale_1_5":
        return (float(answer) - 1.0) / 4.0
    return float(answer) / rule.weight


def score(rules: Sequence[Rule], answers: Mapping[str, str], critical_scope: str) -> Score:
    """Score the answers given (criteria without an answer count like N/A: a draft's live
    score is of what has been answered so far)."""
    credits = {
        rule.key: credit(rule, answers[rule.key]) if rule.key in answers else None for rule in rules
    }
    failed = tuple(
        rule.key
        for rule in rules
        if rule.critical and credits[rule.key] is not None and credits[rule.key] < CRITICAL_PASS  # type: ignore[operator]
    )
    zeroed_sections = {rule.section for rule in rules if rule.key in failed}
    sections: dict[str, float | None] = {}
    for section in dict.fromkeys(rule.section for rule in rules):
        members = [rule for rule in rules if rule.section == section]
        sections[section] = _weighted(
            members, credits, zeroed=critical_scope == "section" and section in zeroed_sections
        )
    total = _weighted(
        rules, credits, zeroed=False, zeroed_sections=_zeroed(critical_scope, zeroed_sections)
    )
    if failed and critical_scope == "evaluation":
        total = 0.0
    return Score(
        score=total,
        critical_failed=bool(failed),
        failed_critical=failed,
        sections=sections,
        credits=credits,
    )


def _zeroed(critical_scope: str, sections: set[str]) -> set[str]:
    return sections if critical_scope == "section" else set()


def _weighted(
    rules: Sequence[Rule],
    credits: Mapping[str, float | None],
    *,
    zeroed: bool,
    zeroed_sections: set[str] | None = None,
) -> float | None:
    """100 x sum(weight x credit) / sum(weight) over answered criteria; a zeroed section keeps
    its weights and loses its credit."""
    weight = earned = 0.0
    for rule in rules:
        value = credits[rule.key]
        if value is None:
            continue
        weight += rule.weight
        if not zeroed and rule.section not in (zeroed_sections or set()):
            earned += rule.weight * value
    if weight == 0:
        return None
    return round(100.0 * earned / weight, 4)


def _parse(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
