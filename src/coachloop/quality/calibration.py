"""The calibration report (CONTRACTS.md, "Calibration report") and the flags that come from many
sessions: criteria evaluators cannot agree on, and evaluators whose bias drifts.

Units are the session's contacts, raters its evaluators (the reference evaluator included:
their answers are ratings too). Levels follow the criterion type: yes/no is nominal, the 1-5
scale ordinal, points and the total score interval. N/A is a missing value, not a rating:
a criterion one evaluator finds not applicable and another scores is a gap, not a disagreement.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from coachloop.org.models import Program
from coachloop.quality import agreement
from coachloop.quality.models import (
    Answer,
    Calibration,
    CriterionType,
    Evaluation,
    EvaluationStatus,
)
from coachloop.quality.scoring import NA

LEVEL_OF_TYPE: dict[str, agreement.Level] = {
    CriterionType.YES_NO: "nominal",
    CriterionType.SCALE: "ordinal",
    CriterionType.POINTS: "interval",
}
# Krippendorff (2004): alpha >= 0.8 is reliable, 0.667 the lowest for tentative conclusions.
AMBIGUOUS_BELOW = 0.667
AMBIGUOUS_MIN_UNITS = 4
# An evaluator drifts when their latest sessions all lean the same way by this many points.
DRIFT_POINTS = 5.0
DRIFT_SESSIONS = 3
BOOTSTRAP_DRAWS = 1000


@dataclass(frozen=True)
class Ratings:
    """One session's submitted answers and scores, by (evaluator, contact)."""

    raters: list[int]
    units: list[int]
    scores: dict[tuple[int, int], float | None]
    answers: dict[tuple[int, int], dict[str, str]]
    criteria: list[tuple[str, str]]  # (key, type) in form order
    names: dict[int, str]


def ratings_of(calibration: Calibration) -> Ratings:
    evaluations = list(
        Evaluation.objects.filter(
            calibration=calibration,
            status=EvaluationStatus.SUBMITTED,
            evaluator__isnull=False,
        ).select_related("evaluator")
    )
    answers: dict[tuple[int, int], dict[str, str]] = defaultdict(dict)
    by_id = {e.pk: (e.evaluator_id or 0, e.interaction_id) for e in evaluations}
    for evaluation_id, key, value in Answer.objects.filter(
        evaluation_id__in=list(by_id)
    ).values_list("evaluation_id", "criterion__key", "value"):
        answers[by_id[evaluation_id]][key] = value
    criteria = [
        (key, kind)
        for key, kind in calibration.scorecard.criteria.order_by(
            "section__position", "position"
        ).values_list("key", "type")
    ]
    return Ratings(
        raters=sorted({e.evaluator_id or 0 for e in evaluations}),
        units=sorted({e.interaction_id for e in evaluations}),
        scores={(e.evaluator_id or 0, e.interaction_id): e.score for e in evaluations},
        answers=dict(answers),
        criteria=criteria,
        names={e.evaluator_id or 0: e.evaluator.name if e.evaluator else "" for e in evaluations},
    )


def _value(kind: str, answer: str | None) -> float | None:
    if answer is None or answer == NA:
        return None
    if kind == CriterionType.YES_NO:
        return 1.0 if answer == "yes" else 0.0
    return float(answer)


def criterion_matrix(ratings: Ratings, key: str, kind: str) -> list[list[float | None]]:
    return [
        [_value(kind, ratings.answers.get((rater, unit), {}).get(key)) for unit in ratings.units]
        for rater in ratings.raters
    ]


def score_matrix(ratings: Ratings) -> list[list[float | None]]:
    return [
        [ratings.scores.get((rater, unit)) for unit in ratings.units] for rater in ratings.raters
    ]


def _alpha_block(
    data: list[list[float | None]], level: agreement.Level, *, seed: int
) -> dict[str, Any]:
    result = agreement.krippendorff_alpha(data, level) if data else None
    if result is None:
        return {
            "alpha": None,
            "reason": agreement.NO_PAIRS,
            "alpha_interval": None,
            "agreement": None,
        }
    interval = (
        agreement.alpha_interval(data, level, draws=BOOTSTRAP_DRAWS, seed=seed)
        if result.alpha is not None
        else None
    )
    block: dict[str, Any] = {
        "alpha": _round(result.alpha),
        "alpha_interval": [_round(interval[0]), _round(interval[1])] if interval else None,
        "agreement": _round(result.agreement),
        "n_units": result.n_units,
    }
    if result.alpha is None:
        block["reason"] = result.reason
    return block


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _pooled_answer_agreement(ratings: Ratings) -> float | None:
    """Share of agreeing pairs over every criterion answer: units are (contact, criterion)."""
    codes: dict[str, float] = {}
    rows: list[list[float | None]] = []
    for rater in ratings.raters:
        row: list[float | None] = []
        for unit in ratings.units:
            for key, _ in ratings.criteria:
                answer = ratings.answers.get((rater, unit), {}).get(key)
                row.append(
                    None
                    if answer in (None, NA)
                    else codes.setdefault(str(answer), float(len(codes)))
                )
        rows.append(row)
    if not rows:
        return None
    return _round(agreement.krippendorff_alpha(rows, "nominal").agreement)


def evaluator_bias(ratings: Ratings, reference: int | None) -> list[dict[str, Any]]:
    """Each evaluator's mean score difference on the contacts they scored: against the
    reference evaluator's score when there is one, else against the mean of the others
    (leave-one-out consensus, so an evaluator is never compared with themself)."""
    out = []
    for rater in ratings.raters:
        if rater == reference:
            continue
        gaps = []
        for unit in ratings.units:
            mine = ratings.scores.get((rater, unit))
            if mine is None:
                continue
            if reference is not None:
                theirs = ratings.scores.get((reference, unit))
                other = theirs
            else:
                others = [
                    s
                    for r in ratings.raters
                    if r != rater and (s := ratings.scores.get((r, unit))) is not None
                ]
                other = statistics.fmean(others) if others else None
            if other is not None:
                gaps.append(mine - other)
        out.append(
            {
                "evaluator": rater,
                "name": ratings.names.get(rater, ""),
                "bias": _round(statistics.fmean(gaps)) if gaps else None,
                "n": len(gaps),
                "against": "reference" if reference is not None else "consensus",
            }
        )
    return out


def calibration_report(calibration: Calibration) -> dict[str, Any]:
    """The report of one session from its submitted evaluations (drafts do not count)."""
    ratings = ratings_of(calibration)
    overall = _alpha_block(score_matrix(ratings), "interval", seed=calibration.pk)
    per_criterion = []
    for index, (key, kind) in enumerate(ratings.criteria):
        level = LEVEL_OF_TYPE[kind]
        block = _alpha_block(
            criterion_matrix(ratings, key, kind), level, seed=calibration.pk + index
        )
        per_criterion.append({"criterion": key, "level": level, **block})
    reference = calibration.reference_evaluator_id
    report: dict[str, Any] = {
        "id": calibration.pk,
        "n_units": overall.get("n_units", 0),
        "n_raters": len(ratings.raters),
        "level": "interval",
        "alpha": overall["alpha"],
        "alpha_interval": overall["alpha_interval"],
        "agreement": _pooled_answer_agreement(ratings),
        "per_criterion": per_criterion,
        "evaluators": evaluator_bias(ratings, reference if reference in ratings.raters else None),
    }
    if overall["alpha"] is None:
        report["reason"] = overall.get("reason")
    return report


# --- across sessions ---------------------------------------------------------------------------


def ambiguous_criteria(program: Program) -> list[dict[str, Any]]:
    """Criteria whose answers evaluators agree on too little across the program's sessions
    (pooled: every session's contacts are units): alpha below 0.667 on at least four units."""
    pooled: dict[tuple[str, str, str], list[dict[int, list[float | None]]]] = defaultdict(list)
    for calibration in Calibration.objects.filter(program=program).select_related("scorecard"):
        ratings = ratings_of(calibration)
        if len(ratings.raters) < 2:
            continue
        for key, kind in ratings.criteria:
            rows = criterion_matrix(ratings, key, kind)
            pooled[(calibration.scorecard.key, key, kind)].append(
                dict(zip(ratings.raters, rows, strict=True))
            )
    flagged = []
    for (scorecard, key, kind), sessions in sorted(pooled.items()):
        level = LEVEL_OF_TYPE[kind]
        result = agreement.krippendorff_alpha(_stacked(sessions), level)
        if result.alpha is None or result.n_units < AMBIGUOUS_MIN_UNITS:
            continue
        if result.alpha < AMBIGUOUS_BELOW:
            flagged.append(
                {
                    "scorecard": scorecard,
                    "criterion": key,
                    "level": level,
                    "alpha": _round(result.alpha),
                    "n_units": result.n_units,
                    "sessions": len(sessions),
                }
            )
    return flagged


def _stacked(sessions: list[dict[int, list[float | None]]]) -> list[list[float | None]]:
    """Sessions side by side as one raters x units matrix: a rater is one person across
    sessions, with gaps where they were not in a session."""
    raters = sorted({rater for session in sessions for rater in session})
    matrix: list[list[float | None]] = [[] for _ in raters]
    for session in sessions:
        width = len(next(iter(session.values())))
        for row, rater in zip(matrix, raters, strict=True):
            row.extend(session.get(rater, [None] * width))
    return matrix


def drifting_evaluators(program: Program) -> list[dict[str, Any]]:
    """Evaluators whose latest sessions (up to three, at least two) all lean the same way by at
    least 5 points on average: a habit forming, not one odd contact."""
    history: dict[int, list[tuple[Any, float]]] = defaultdict(list)
    names: dict[int, str] = {}
    for calibration in Calibration.objects.filter(program=program).order_by("created_at", "id"):
        ratings = ratings_of(calibration)
        reference = calibration.reference_evaluator_id
        for row in evaluator_bias(ratings, reference if reference in ratings.raters else None):
            if row["bias"] is not None:
                history[row["evaluator"]].append((calibration.pk, row["bias"]))
                names[row["evaluator"]] = row["name"]
    flagged = []
    for person, biases in sorted(history.items()):
        latest = [bias for _, bias in biases[-DRIFT_SESSIONS:]]
        same_sign = all(b > 0 for b in latest) or all(b < 0 for b in latest)
        if len(latest) >= 2 and same_sign and abs(statistics.fmean(latest)) >= DRIFT_POINTS:
            flagged.append(
                {
                    "evaluator": person,
                    "name": names[person],
                    "recent_bias": [round(b, 2) for b in latest],
                    "mean_bias": round(statistics.fmean(latest), 2),
                    "sessions": [session for session, _ in biases[-DRIFT_SESSIONS:]],
                }
            )
    return flagged
