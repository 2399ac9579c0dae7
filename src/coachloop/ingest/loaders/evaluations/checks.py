"""Checking an evaluations file: every row, then every evaluation as a whole (vectorised with
polars; the database is read a few times per file, never once per row)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from coachloop.ingest.frames import (
    ROW,
    Problems,
    label_of,
    parse_timestamps,
    problem_rows,
    require_values,
)
from coachloop.ingest.loaders.contacts import report_unknown_contacts, resolve_contacts
from coachloop.ingest.mapping import Mapping
from coachloop.ingest.references import (
    ImportContext,
    external_id_frame,
    resolve_people,
    resolve_programs,
)
from coachloop.quality import scoring, selectors
from coachloop.quality.models import Calibration, Criterion, Scorecard

KIND = "evaluations"
GROUP = ["program", "evaluation_id"]
# What every row of one evaluation must say alike.
AGREE = (
    "interaction_external_id",
    "scorecard",
    "scorecard_version",
    "evaluator",
    "evaluated_at",
    "calibration_id",
)
# What writing needs of each checked row.
WRITTEN = (
    ROW,
    "program_id",
    "evaluation_id",
    "interaction_id",
    "_contact_agent",
    "_contact_team",
    "_contact_day",
    "scorecard_id",
    "evaluator_id",
    "evaluated",
    "calibration_id",
    "criterion_id",
    "criterion",
    "_value",
    "_credit",
    "comment",
)
LOOKUP_BATCH = 500  # ids per query (SQLite limits a statement's parameters)
LISTED = 12  # known keys listed in a message


@dataclass
class Catalog:
    """The scorecards the file names, as checking and scoring need them."""

    labels: dict[int, str] = field(default_factory=dict)  # scorecard id -> "cx-core v1"
    rules: dict[int, list[scoring.Rule]] = field(default_factory=dict)
    scopes: dict[int, str] = field(default_factory=dict)  # scorecard id -> critical scope
    criteria: pl.DataFrame = field(default_factory=pl.DataFrame)


def check(
    rows: pl.DataFrame | None, mapping: Mapping, context: ImportContext, problems: Problems
) -> tuple[pl.DataFrame, Catalog]:
    """Check every row (problems go to ``problems``) and return them with what they name
    resolved (program, contact, scorecard, evaluator, criterion, the stored answer), and the
    scorecards they use."""
    if rows is None or rows.height == 0:
        return pl.DataFrame(schema={ROW: pl.Int64}), _catalog([])

    def label(name: str) -> str:
        return label_of(mapping, name)

    require_values(
        rows,
        mapping,
        problems,
        {
            "evaluation_id": "the evaluation's id",
            "interaction_external_id": "the id of the evaluated contact",
            "scorecard": "the scorecard's key",
            "evaluator": "the evaluator's id",
            "evaluated_at": "when the evaluation was made",
            "criterion": "a criterion's key",
            "answer": "an answer: yes, no, na, a scale value or points",
        },
    )
    rows = resolve_programs(
        rows,
        context,
        problems,
        label=label("program"),
        mapped_constant=None,  # evaluations never create programs
    )
    spec = mapping.columns.get("evaluated_at")
    evaluated = parse_timestamps(
        rows,
        "evaluated_at",
        fmt=spec.format if spec is not None else None,
        zone_column="_zone",
        problems=problems,
        label=label("evaluated_at"),
        now=context.now,
    )
    # Columns are dropped once used: a year of answers is 600,000 rows, copied by each join.
    rows = rows.with_columns(evaluated.alias("evaluated")).drop(
        "_zone", "_program_zone", "_program_code"
    )
    rows = resolve_people(rows, "evaluator", context, external_id_frame())
    _report_unknown_evaluators(rows, label("evaluator"), problems)
    rows = rows.drop("evaluator_ambiguous")
    rows = resolve_contacts(rows, "interaction_external_id", context)
    report_unknown_contacts(
        rows, "interaction_external_id", label("interaction_external_id"), problems
    )
    problems.add(
        problem_rows(
            rows,
            pl.col("interaction_id").is_not_null()
            & (~pl.col("_contact_answered") | pl.col("_contact_agent").is_null()),
            column=label("interaction_external_id"),
            value=pl.col("interaction_external_id"),
            expected="a contact an agent handled (only those are evaluated)",
        )
    )
    rows = rows.drop("_contact_answered", "_contact_ambiguous")
    rows, catalog = _resolve_scorecards(rows, mapping, problems)
    rows = _resolve_criteria(rows, catalog, mapping, problems)
    rows = _resolve_answers(rows, catalog, mapping, problems)
    rows = rows.sort(ROW)
    _check_repeats(rows, mapping, problems)
    _check_agreement(rows, mapping, problems)
    _check_complete(rows, catalog, mapping, problems)
    _check_calibrations(rows, catalog, mapping, context, problems)
    _spread_to_whole_evaluations(rows, mapping, problems)
    return rows.select(WRITTEN), catalog


def _report_unknown_evaluators(rows: pl.DataFrame, label: str, problems: Problems) -> None:
    named = pl.col("evaluator").is_not_null()
    problems.add(
        problem_rows(
            rows,
            named & pl.col("evaluator_ambiguous"),
            column=label,
            value=pl.col("evaluator"),
            expected="an id that names one person (it names several in different systems: "
            "give the source, --source or the mapping's [source] name)",
        )
    )
    problems.add(
        problem_rows(
            rows,
            named & pl.col("evaluator_id").is_null() & ~pl.col("evaluator_ambiguous"),
            column=label,
            value=pl.col("evaluator"),
            expected="a person in the roster (import the roster first)",
        )
    )


def _listed(values: Iterable[str]) -> str:
    items = list(values)
    shown = ", ".join(items[:LISTED])
    return shown + (f" and {len(items) - LISTED} more" if len(items) > LISTED else "")


def _resolve_scorecards(
    rows: pl.DataFrame, mapping: Mapping, problems: Problems
) -> tuple[pl.DataFrame, Catalog]:
    """Add ``scorecard_id``: the named key at the given version, else at its current one."""
    cards = list(Scorecard.objects.values_list("id", "key", "version", "is_current"))
    versions: dict[str, list[int]] = defaultdict(list)
    current: dict[str, int] = {}
    for _, key, version, is_current in sorted(cards, key=lambda card: (card[1], card[2])):
        versions[key].append(version)
        if is_current:
            current[key] = version
    for key, found in versions.items():
        current.setdefault(key, max(found))
    version_text = pl.col("scorecard_version")
    number = version_text.cast(pl.Float64, strict=False)
    whole = number.is_not_null() & (number == number.round(0)) & (number >= 1)
    problems.add(
        problem_rows(
            rows,
            version_text.is_not_null() & ~whole,
            column=label_of(mapping, "scorecard_version"),
            value=version_text,
            expected="a whole number from 1 (empty: the current version)",
        )
    )
    rows = rows.with_columns(
        pl.when(version_text.is_null())
        .then(pl.col("scorecard").replace_strict(current, default=None, return_dtype=pl.Int64))
        .when(whole)
        .then(number.cast(pl.Int64))
        .otherwise(pl.lit(None, dtype=pl.Int64))
        .alias("_version")
    )
    card_frame = pl.DataFrame(
        [(card_id, key, version) for card_id, key, version, _ in cards],
        schema={"scorecard_id": pl.Int64, "scorecard": pl.Utf8, "_version": pl.Int64},
        orient="row",
    )
    rows = rows.join(card_frame, on=["scorecard", "_version"], how="left")
    label = label_of(mapping, "scorecard")
    problems.add(
        problem_rows(
            rows,
            pl.col("scorecard").is_not_null() & ~pl.col("scorecard").is_in(list(versions)),
            column=label,
            value=pl.col("scorecard"),
            expected="the key of an imported scorecard ("
            + (_listed(sorted(versions)) or "none yet: import the scorecard first")
            + ")",
        )
    )
    known_versions = {key: _listed(str(v) for v in found) for key, found in versions.items()}
    problems.add(
        problem_rows(
            rows,
            pl.col("scorecard").is_in(list(versions))
            & pl.col("_version").is_not_null()
            & pl.col("scorecard_id").is_null(),
            column=label_of(mapping, "scorecard_version"),
            value=pl.col("_version").cast(pl.Utf8),
            expected=pl.format(
                "a version of {} that exists: {}",
                pl.col("scorecard"),
                pl.col("scorecard").replace_strict(
                    known_versions, default="", return_dtype=pl.Utf8
                ),
            ),
        )
    )
    used = [int(card_id) for card_id in rows["scorecard_id"].drop_nulls().unique().to_list()]
    catalog = _catalog(used)
    # A scorecard for some programs only is not for the others' contacts.
    limited: dict[int, set[int]] = defaultdict(set)
    for card_id, program_id in Scorecard.programs.through.objects.filter(
        scorecard_id__in=used
    ).values_list("scorecard_id", "program_id"):
        limited[card_id].add(program_id)
    pairs = rows.select("scorecard_id", "program_id").drop_nulls().unique().iter_rows()
    wrong = [
        (card_id, program_id)
        for card_id, program_id in pairs
        if card_id in limited and program_id not in limited[card_id]
    ]
    wrong_frame = pl.DataFrame(
        [(card_id, program_id, True) for card_id, program_id in wrong],
        schema={"scorecard_id": pl.Int64, "program_id": pl.Int64, "_wrong_program": pl.Boolean},
        orient="row",
    )
    rows = rows.join(wrong_frame, on=["scorecard_id", "program_id"], how="left")
    problems.add(
        problem_rows(
            rows,
            pl.col("_wrong_program").fill_null(False),
            column=label,
            value=pl.col("scorecard"),
            expected=pl.format(
                "a scorecard for program {} ({} is for other programs)",
                pl.col("program"),
                _card_label(catalog),
            ),
        )
    )
    return rows.drop("_version", "_wrong_program"), catalog


def _card_label(catalog: Catalog, column: str = "scorecard_id") -> pl.Expr:
    return pl.col(column).replace_strict(catalog.labels, default="", return_dtype=pl.Utf8)


def _catalog(scorecard_ids: list[int]) -> Catalog:
    """Labels, scoring rules and criteria of the scorecards used, through the same selectors
    the evaluation form uses."""
    catalog = Catalog()
    criteria: list[tuple[int, str, int, int]] = []
    for scorecard in Scorecard.objects.filter(pk__in=scorecard_ids):
        found: list[Criterion] = selectors.scorecard_criteria(scorecard)
        catalog.labels[scorecard.pk] = f"{scorecard.key} v{scorecard.version}"
        catalog.rules[scorecard.pk] = selectors.scorecard_rules(found)
        catalog.scopes[scorecard.pk] = scorecard.critical_scope
        criteria += [(scorecard.pk, c.key, c.pk, order) for order, c in enumerate(found)]
    catalog.criteria = pl.DataFrame(
        criteria,
        schema={
            "scorecard_id": pl.Int64,
            "criterion": pl.Utf8,
            "criterion_id": pl.Int64,
            "_order": pl.Int64,
        },
        orient="row",
    )
    return catalog


def _resolve_criteria(
    rows: pl.DataFrame, catalog: Catalog, mapping: Mapping, problems: Problems
) -> pl.DataFrame:
    rows = rows.join(catalog.criteria.drop("_order"), on=["scorecard_id", "criterion"], how="left")
    keys = {
        card_id: _listed(
            catalog.criteria.filter(pl.col("scorecard_id") == card_id)["criterion"].to_list()
        )
        for card_id in catalog.labels
    }
    problems.add(
        problem_rows(
            rows,
            pl.col("scorecard_id").is_not_null()
            & pl.col("criterion").is_not_null()
            & pl.col("criterion_id").is_null(),
            column=label_of(mapping, "criterion"),
            value=pl.col("criterion"),
            expected=pl.format(
                "a criterion of {}: {}",
                _card_label(catalog),
                pl.col("scorecard_id").replace_strict(keys, default="", return_dtype=pl.Utf8),
            ),
        )
    )
    return rows


def _resolve_answers(
    rows: pl.DataFrame, catalog: Catalog, mapping: Mapping, problems: Problems
) -> pl.DataFrame:
    """Add ``_value`` (the stored answer) and ``_credit`` through ``quality.scoring``, once per
    distinct criterion and answer: a year of answers has a few dozen of them."""
    rules = {
        (card_id, rule.key): rule for card_id, found in catalog.rules.items() for rule in found
    }
    keys = dict(zip(catalog.criteria["criterion_id"], catalog.criteria["criterion"], strict=True))
    cards = dict(
        zip(catalog.criteria["criterion_id"], catalog.criteria["scorecard_id"], strict=True)
    )
    outcomes: list[tuple[Any, ...]] = []
    for criterion_id, answer in (
        rows.select("criterion_id", "answer").drop_nulls().unique().iter_rows()
    ):
        rule = rules[(cards[criterion_id], keys[criterion_id])]
        try:
            value = scoring.normalise(rule, answer)
            outcomes.append((criterion_id, answer, value, scoring.credit(rule, value), None))
        except scoring.AnswerError as exc:
            outcomes.append((criterion_id, answer, None, None, exc.expected))
    found = pl.DataFrame(
        outcomes,
        schema={
            "criterion_id": pl.Int64,
            "answer": pl.Utf8,
            "_value": pl.Utf8,
            "_credit": pl.Float64,
            "_answer_expected": pl.Utf8,
        },
        orient="row",
    )
    rows = rows.join(found, on=["criterion_id", "answer"], how="left")
    problems.add(
        problem_rows(
            rows,
            pl.col("_answer_expected").is_not_null(),
            column=label_of(mapping, "answer"),
            value=pl.col("answer"),
            expected=pl.col("_answer_expected"),
        )
    )
    return rows.drop("_answer_expected")


def _in_evaluation() -> pl.Expr:
    return pl.col("program").is_not_null() & pl.col("evaluation_id").is_not_null()


def _check_repeats(rows: pl.DataFrame, mapping: Mapping, problems: Problems) -> None:
    """One answer per criterion of an evaluation: a later row answering it again is an error."""
    with_first = rows.with_columns(pl.col(ROW).min().over([*GROUP, "criterion"]).alias("_first"))
    problems.add(
        problem_rows(
            with_first,
            _in_evaluation()
            & pl.col("criterion").is_not_null()
            & (pl.col(ROW) != pl.col("_first")),
            column=label_of(mapping, "criterion"),
            value=pl.col("criterion"),
            expected=pl.format(
                "one answer per criterion of an evaluation (row {} answers it too)",
                pl.col("_first"),
            ),
        )
    )


def _check_agreement(rows: pl.DataFrame, mapping: Mapping, problems: Problems) -> None:
    """Every row of an evaluation says the same of it as the evaluation's first row."""
    split = (
        rows.filter(_in_evaluation())
        .group_by(GROUP)
        .agg(pl.any_horizontal([pl.col(name).n_unique() > 1 for name in AGREE]).alias("_split"))
        .filter(pl.col("_split"))
    )
    if split.height == 0:
        return
    with_first = rows.join(split, on=GROUP, how="semi").with_columns(
        pl.col(ROW).first().over(GROUP).alias("_first_row"),
        *[pl.col(name).first().over(GROUP).alias(f"_first_{name}") for name in AGREE],
    )
    for name in AGREE:
        label = label_of(mapping, name)
        first = pl.col(f"_first_{name}")
        problems.add(
            problem_rows(
                with_first,
                _in_evaluation() & pl.col(name).ne_missing(first),
                column=label,
                value=pl.col(name),
                expected=pl.format(
                    "the same {} on every row of evaluation {} (row {} has '{}')",
                    pl.lit(label),
                    pl.col("evaluation_id"),
                    pl.col("_first_row"),
                    first.fill_null(""),
                ),
            )
        )


def _check_complete(
    rows: pl.DataFrame, catalog: Catalog, mapping: Mapping, problems: Problems
) -> None:
    """Every criterion of the scorecard version has an answer (``na`` is one): an evaluation
    missing some is an error on each of its rows, naming what is missing."""
    evaluations = (
        rows.filter(_in_evaluation())
        .group_by(GROUP)
        .agg(
            pl.col("scorecard_id").first(),
            pl.col("scorecard_id").n_unique().alias("_cards"),
        )
        .filter((pl.col("_cards") == 1) & pl.col("scorecard_id").is_not_null())
        .drop("_cards")
    )
    answered = rows.select(*GROUP, "criterion_id").drop_nulls().unique()
    missing = (
        evaluations.join(catalog.criteria, on="scorecard_id")
        .join(answered, on=[*GROUP, "criterion_id"], how="anti")
        .group_by(GROUP)
        .agg(
            pl.col("criterion").sort_by("_order").str.join(", ").alias("_missing"),
            pl.col("scorecard_id").first(),
        )
    )
    if missing.height == 0:
        return
    flagged = rows.select(ROW, *GROUP).join(missing, on=GROUP, how="inner")
    problems.add(
        problem_rows(
            flagged,
            pl.lit(True),
            column=label_of(mapping, "evaluation_id"),
            value=pl.col("evaluation_id"),
            expected=pl.format(
                "an answer to every criterion of {} (na counts as one); missing: {}",
                _card_label(catalog),
                pl.col("_missing"),
            ),
        )
    )


def _check_calibrations(
    rows: pl.DataFrame,
    catalog: Catalog,
    mapping: Mapping,
    context: ImportContext,
    problems: Problems,
) -> None:
    """A calibration session is scored on one scorecard version: the one of its first row, or
    the one it was first imported with."""
    sessions = pl.col("calibration_id").is_not_null() & pl.col("program_id").is_not_null()
    in_session = rows.filter(sessions & pl.col("scorecard_id").is_not_null())
    if in_session.height == 0:
        return
    label = label_of(mapping, "scorecard")
    key = ["program_id", "calibration_id"]
    in_session = in_session.with_columns(
        pl.col("scorecard_id").first().over(key).alias("_session_card"),
        pl.col(ROW).first().over(key).alias("_session_row"),
    )
    problems.add(
        problem_rows(
            in_session,
            pl.col("scorecard_id") != pl.col("_session_card"),
            column=label,
            value=pl.col("scorecard"),
            expected=pl.format(
                "the scorecard of the rest of calibration {} ({} in row {})",
                pl.col("calibration_id"),
                _card_label(catalog, "_session_card"),
                pl.col("_session_row"),
            ),
        )
    )
    known = existing_calibrations(in_session, context)
    if not known:
        return
    stored = pl.DataFrame(
        [(program_id, external_id, card) for (program_id, external_id), (_, card) in known.items()],
        schema={"program_id": pl.Int64, "calibration_id": pl.Utf8, "_stored_card": pl.Int64},
        orient="row",
    )
    stored_labels = {
        pk: f"{key} v{version}"
        for pk, key, version in Scorecard.objects.filter(
            pk__in={card for _, card in known.values()}
        ).values_list("pk", "key", "version")
    }
    compared = in_session.join(stored, on=key, how="inner")
    problems.add(
        problem_rows(
            compared,
            pl.col("scorecard_id") != pl.col("_stored_card"),
            column=label,
            value=pl.col("scorecard"),
            expected=pl.format(
                "the scorecard calibration {} was first imported with ({})",
                pl.col("calibration_id"),
                pl.col("_stored_card").replace_strict(
                    stored_labels, default="", return_dtype=pl.Utf8
                ),
            ),
        )
    )


def existing_calibrations(
    rows: pl.DataFrame, context: ImportContext
) -> dict[tuple[int, str], tuple[int, int]]:
    """(program id, calibration id) -> (calibration pk, scorecard id) of the sessions of this
    source that the rows name."""
    wanted: dict[int, list[str]] = defaultdict(list)
    for program_id, external_id in (
        rows.select("program_id", "calibration_id").drop_nulls().unique().iter_rows()
    ):
        wanted[int(program_id)].append(str(external_id))
    found: dict[tuple[int, str], tuple[int, int]] = {}
    for program_id, ids in wanted.items():
        for part in parts(ids):
            for pk, external_id, card_id in Calibration.objects.filter(
                program_id=program_id, source=context.source, external_id__in=part
            ).values_list("pk", "external_id", "scorecard_id"):
                found[(program_id, external_id)] = (pk, card_id)
    return found


def _spread_to_whole_evaluations(rows: pl.DataFrame, mapping: Mapping, problems: Problems) -> None:
    """An evaluation is imported whole: the other rows of an evaluation with a bad row are
    rejected with it (so the error file holds the whole evaluation, to fix and import again)."""
    bad = problems.error_frame()[ROW].unique()
    if bad.len() == 0:
        return
    first_bad = (
        rows.filter(pl.col(ROW).is_in(bad.implode()) & _in_evaluation())
        .group_by(GROUP)
        .agg(pl.col(ROW).min().alias("_bad_row"))
    )
    followers = rows.join(first_bad, on=GROUP, how="inner").filter(
        ~pl.col(ROW).is_in(bad.implode())
    )
    problems.add(
        problem_rows(
            followers,
            pl.lit(True),
            column=label_of(mapping, "evaluation_id"),
            value=pl.col("evaluation_id"),
            expected=pl.format(
                "every row of evaluation {} valid: an evaluation is imported whole (row {} is not)",
                pl.col("evaluation_id"),
                pl.col("_bad_row"),
            ),
        )
    )


def parts(values: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(values), LOOKUP_BATCH):
        yield values[start : start + LOOKUP_BATCH]
