"""Writing checked evaluations in the import's transaction: calibration sessions, then the new
and changed evaluations with their answers and comments, in bulk."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import polars as pl
from django.db import connection
from django.db.models import Field
from django.utils import timezone

from coachloop.core.services import event_record
from coachloop.ingest.loaders.evaluations.checks import Catalog, existing_calibrations, parts
from coachloop.ingest.references import ImportContext
from coachloop.interactions.services import recompute_marks_add
from coachloop.org.models import Person
from coachloop.quality import scoring
from coachloop.quality.models import (
    Answer,
    Calibration,
    Comment,
    Evaluation,
    EvaluationStatus,
    Sample,
)

BULK = 2000  # rows per INSERT
STATEMENT_ROWS = 10_000  # rows per executemany
# What a re-import may change on a stored evaluation (its natural key stays).
UPDATED = (
    "interaction",
    "scorecard",
    "agent",
    "team",
    "local_date",
    "evaluator",
    "created_by",
    "status",
    "score",
    "critical_failed",
    "submitted_at",
    "calibration",
    "batch",
    "updated_at",
)
STORED_FIELDS = (
    "external_id",
    "pk",
    "status",
    "interaction_id",
    "scorecard_id",
    "evaluator_id",
    "submitted_at",
    "calibration_id",
    "local_date",
)


@dataclass
class Written:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    program_ids: set[int] = field(default_factory=set)


@dataclass
class Incoming:
    """One evaluation of the file, ready to compare with the stored one and to write."""

    program_id: int
    external_id: str
    interaction_id: int
    agent_id: int
    team_id: int | None
    local_date: dt.date
    scorecard_id: int
    evaluator_id: int
    submitted_at: dt.datetime
    calibration: str | None
    answers: dict[int, tuple[str, str, float | None]]  # criterion id -> (key, value, credit)
    comments: list[tuple[int, str]]  # (criterion id, text)
    rows: int


def write(good: pl.DataFrame, context: ImportContext, catalog: Catalog) -> Written:
    """Inside the caller's transaction: create or reuse the calibration sessions, then insert
    the new evaluations, replace the answers, comments and score of the changed ones, leave the
    identical ones alone, and mark the changed contacts' days for the QA score KPI."""
    written = Written()
    if good.height == 0:
        return written
    incoming = list(_incoming(good))
    written.program_ids = {item.program_id for item in incoming}
    sessions = _sessions(good, context)
    stored = _stored(incoming, context)
    scores: dict[tuple[int, tuple[tuple[str, str], ...]], scoring.Score] = {}
    authors = dict(
        Person.objects.filter(pk__in={item.evaluator_id for item in incoming}).values_list(
            "pk", "user_id"
        )
    )
    new: list[tuple[Evaluation, Incoming]] = []
    changed: list[tuple[Evaluation, Incoming]] = []
    marks: set[tuple[int, dt.date]] = set()
    now = timezone.now()
    for item in incoming:
        calibration_id = (
            sessions.get((item.program_id, item.calibration)) if item.calibration else None
        )
        answers = tuple(sorted((key, value) for key, value, _ in item.answers.values()))
        result = scores.get((item.scorecard_id, answers))
        if result is None:
            result = scoring.score(
                catalog.rules[item.scorecard_id], dict(answers), catalog.scopes[item.scorecard_id]
            )
            scores[(item.scorecard_id, answers)] = result
        before = stored.get((item.program_id, item.external_id))
        if before is not None and before.same_as(item, calibration_id):
            written.unchanged += item.rows
            continue
        # A changed one is rewritten by _update_evaluations, which writes only UPDATED.
        evaluation = Evaluation(pk=before.pk) if before is not None else Evaluation()
        evaluation.interaction_id = item.interaction_id
        evaluation.scorecard_id = item.scorecard_id
        evaluation.program_id = item.program_id
        evaluation.agent_id = item.agent_id
        evaluation.team_id = item.team_id
        evaluation.local_date = item.local_date
        evaluation.evaluator_id = item.evaluator_id
        evaluation.created_by = context.actor
        evaluation.status = EvaluationStatus.SUBMITTED
        evaluation.score = result.score
        evaluation.critical_failed = result.critical_failed
        evaluation.submitted_at = item.submitted_at
        evaluation.calibration_id = calibration_id
        evaluation.source = context.source
        evaluation.external_id = item.external_id
        evaluation.batch_id = context.batch_id
        evaluation.updated_at = now
        if calibration_id is None:
            marks.add((item.program_id, item.local_date))
        if before is None:
            new.append((evaluation, item))
            written.inserted += item.rows
        else:
            if before.calibration_id is None:
                marks.add((item.program_id, before.local_date))
            changed.append((evaluation, item))
            written.updated += item.rows
    Evaluation.objects.bulk_create([evaluation for evaluation, _ in new], batch_size=BULK)
    _update_evaluations([evaluation for evaluation, _ in changed])
    replaced = [evaluation.pk for evaluation, _ in changed]
    for part in parts(replaced):
        Answer.objects.filter(evaluation_id__in=part).delete()
        Comment.objects.filter(evaluation_id__in=part).delete()
    written_now = new + changed
    _insert_answers(
        (evaluation.pk, criterion_id, value, credit)
        for evaluation, item in written_now
        for criterion_id, (_, value, credit) in item.answers.items()
    )
    Comment.objects.bulk_create(
        (
            Comment(
                evaluation_id=evaluation.pk,
                criterion_id=criterion_id,
                text=text,
                author_id=authors.get(item.evaluator_id),
            )
            for evaluation, item in written_now
            for criterion_id, text in item.comments
        ),
        batch_size=BULK,
    )
    _close_samples(
        {
            item.interaction_id: evaluation.pk
            for evaluation, item in written_now
            if evaluation.calibration_id is None
        }
    )
    recompute_marks_add(marks=marks, reason=f"import #{context.batch_id}")
    return written


def _update_evaluations(evaluations: list[Evaluation]) -> None:
    """Rewrite changed evaluations in place, one UPDATE by primary key each, sent together:
    ``bulk_update`` builds a CASE per field and batch, which takes minutes for a year's worth.
    Values are prepared by the model's own fields, as the ORM would for this database."""
    if not evaluations:
        return
    model_fields = [cast("Field[Any, Any]", Evaluation._meta.get_field(name)) for name in UPDATED]
    assignments = ", ".join(f'"{model_field.column}" = %s' for model_field in model_fields)
    sql = f'UPDATE "{Evaluation._meta.db_table}" SET {assignments} WHERE id = %s'
    with connection.cursor() as cursor:
        for start in range(0, len(evaluations), STATEMENT_ROWS):
            cursor.executemany(
                sql,
                [
                    [
                        model_field.get_db_prep_save(
                            getattr(evaluation, model_field.attname), connection
                        )
                        for model_field in model_fields
                    ]
                    + [evaluation.pk]
                    for evaluation in evaluations[start : start + STATEMENT_ROWS]
                ],
            )


def _insert_answers(rows: Iterable[tuple[int, int, str, float | None]]) -> None:
    """Answers are most of a file (12 per evaluation): inserted as plain rows, not model
    instances, which would take most of the import's time and memory."""
    table = Answer._meta.db_table
    sql = (
        f'INSERT INTO "{table}" (evaluation_id, criterion_id, value, credit) '
        "VALUES (%s, %s, %s, %s)"
    )
    part: list[tuple[int, int, str, float | None]] = []
    with connection.cursor() as cursor:
        for row in rows:
            part.append(row)
            if len(part) == STATEMENT_ROWS:
                cursor.executemany(sql, part)
                part = []
        if part:
            cursor.executemany(sql, part)


def _incoming(good: pl.DataFrame) -> Iterator[Incoming]:
    grouped = good.group_by(["program_id", "evaluation_id"], maintain_order=True).agg(
        pl.col("interaction_id").first(),
        pl.col("_contact_agent").first(),
        pl.col("_contact_team").first(),
        pl.col("_contact_day").first(),
        pl.col("scorecard_id").first(),
        pl.col("evaluator_id").first(),
        pl.col("evaluated").first(),
        pl.col("calibration_id").first(),
        pl.col("criterion_id"),
        pl.col("criterion"),
        pl.col("_value"),
        pl.col("_credit"),
        pl.col("comment"),
        pl.len().alias("_rows"),
    )
    for record in grouped.iter_rows(named=True):
        answers = {
            criterion_id: (key, value, credit)
            for criterion_id, key, value, credit in zip(
                record["criterion_id"],
                record["criterion"],
                record["_value"],
                record["_credit"],
                strict=True,
            )
        }
        comments = [
            (criterion_id, text)
            for criterion_id, text in zip(record["criterion_id"], record["comment"], strict=True)
            if text
        ]
        yield Incoming(
            program_id=record["program_id"],
            external_id=record["evaluation_id"],
            interaction_id=record["interaction_id"],
            agent_id=record["_contact_agent"],
            team_id=record["_contact_team"],
            local_date=record["_contact_day"],
            scorecard_id=record["scorecard_id"],
            evaluator_id=record["evaluator_id"],
            submitted_at=record["evaluated"],
            calibration=record["calibration_id"],
            answers=answers,
            comments=sorted(comments),
            rows=record["_rows"],
        )


@dataclass
class Stored:
    """An evaluation this source imported before, as it stands (plain values: a year of them
    is compared on a re-import, and only the changed ones are written)."""

    pk: int
    status: str
    interaction_id: int
    scorecard_id: int
    evaluator_id: int | None
    submitted_at: dt.datetime | None
    calibration_id: int | None
    local_date: dt.date
    answers: dict[int, str] = field(default_factory=dict)
    comments: list[tuple[int, str]] = field(default_factory=list)

    def same_as(self, item: Incoming, calibration_id: int | None) -> bool:
        return (
            self.status == EvaluationStatus.SUBMITTED
            and self.interaction_id == item.interaction_id
            and self.scorecard_id == item.scorecard_id
            and self.evaluator_id == item.evaluator_id
            and self.submitted_at == item.submitted_at
            and self.calibration_id == calibration_id
            and self.answers == {c: value for c, (_, value, _) in item.answers.items()}
            and sorted(self.comments) == item.comments
        )


def _stored(incoming: list[Incoming], context: ImportContext) -> dict[tuple[int, str], Stored]:
    """The stored evaluations with the natural keys of the incoming ones, with their answers
    and comments: a few queries per 500 evaluations, not one per evaluation."""
    by_program: dict[int, list[str]] = defaultdict(list)
    for item in incoming:
        by_program[item.program_id].append(item.external_id)
    stored: dict[tuple[int, str], Stored] = {}
    for program_id, ids in by_program.items():
        for part in parts(ids):
            found = Evaluation.objects.filter(
                program_id=program_id, source=context.source, external_id__in=part
            ).values_list(*STORED_FIELDS)
            for values in found:
                stored[(program_id, values[0])] = Stored(
                    **dict(zip(STORED_FIELDS[1:], values[1:], strict=True))
                )
    by_pk = {item.pk: item for item in stored.values()}
    for part in parts(list(by_pk)):
        for evaluation_id, criterion_id, value in Answer.objects.filter(
            evaluation_id__in=part
        ).values_list("evaluation_id", "criterion_id", "value"):
            by_pk[evaluation_id].answers[criterion_id] = value
        for evaluation_id, criterion_id, text in Comment.objects.filter(
            evaluation_id__in=part
        ).values_list("evaluation_id", "criterion_id", "text"):
            by_pk[evaluation_id].comments.append((criterion_id, text))
    return stored


def _sessions(good: pl.DataFrame, context: ImportContext) -> dict[tuple[int, str], int]:
    """The calibration session of each (program, calibration id): reused, or created with the
    contacts and evaluators its rows name added.

    Created here rather than through ``quality.services.calibration_create``: that service is
    for sessions planned in the app, and refuses evaluators who hold no QA, manager or lead role
    in the program. A session held elsewhere (an outsourcer's QA, a client's quality team, a
    lead from another program) is a record of what happened, so it is taken as the file says."""
    rows = good.filter(pl.col("calibration_id").is_not_null())
    if rows.height == 0:
        return {}
    known = existing_calibrations(rows, context)
    sessions: dict[tuple[int, str], int] = {}
    for (program_id, external_id), part in rows.group_by(
        ["program_id", "calibration_id"], maintain_order=True
    ):
        key = (int(program_id), str(external_id))
        contacts = sorted(set(part["interaction_id"].to_list()))
        evaluators = sorted(set(part["evaluator_id"].to_list()))
        found = known.get(key)
        if found is not None:
            calibration = Calibration.objects.get(pk=found[0])
        else:
            calibration = Calibration.objects.create(
                program_id=key[0],
                scorecard_id=int(part["scorecard_id"][0]),
                name=f"Calibration {key[1]}"[:200],
                source=context.source,
                external_id=key[1],
                created_by=context.actor,
            )
            event_record(
                verb="calibration.created",
                actor=context.actor,
                target=calibration,
                program=calibration.program,
                params={
                    "contacts": len(contacts),
                    "evaluators": len(evaluators),
                    "source": context.source,
                    "external_id": key[1],
                    "batch": context.batch_id,
                },
            )
        calibration.interactions.add(*contacts)
        calibration.evaluators.add(*evaluators)
        sessions[key] = calibration.pk
    return sessions


def _close_samples(evaluated: dict[int, int]) -> None:
    """A sampled contact evaluated by the import leaves the analysts' queue, as one evaluated
    in the app does."""
    contacts = list(evaluated)
    open_samples: list[Sample] = []
    for part in parts(contacts):
        open_samples += Sample.objects.filter(interaction_id__in=part, evaluation__isnull=True)
    for sample in open_samples:
        sample.evaluation_id = evaluated[sample.interaction_id]
    Sample.objects.bulk_update(open_samples, ["evaluation"], batch_size=BULK)
