"""QA evaluations made elsewhere, in long form: one row per answer (CONTRACTS.md,
"evaluations"). The rows of one evaluation (its program and ``evaluation_id``) may be anywhere
in the file, so the whole file is read and checked first (vectorised, with polars), then written
in one transaction with bulk inserts.

An evaluation is imported whole: it needs an answer for every criterion of its scorecard version
(``na`` counts), all its rows must agree on the contact, scorecard, evaluator, time and
calibration, and one bad row makes every row of its evaluation bad. It is stored as a submitted
evaluation scored by ``quality.scoring.score``, exactly as one made in the app; its natural key
is (program, source, evaluation_id). Rows sharing a ``calibration_id`` make one calibration
session of the program."""

from __future__ import annotations

from typing import Any

import polars as pl
from django.db import transaction

from coachloop.ingest.errorfile import ErrorFile
from coachloop.ingest.frames import (
    ROW,
    Problems,
    canonical_text,
    chunk_frame,
    typed_fields,
    unreadable_problems,
)
from coachloop.ingest.loaders.evaluations.checks import KIND, check
from coachloop.ingest.loaders.evaluations.writes import write
from coachloop.ingest.mapping import Mapping
from coachloop.ingest.readers import TableFile
from coachloop.ingest.references import ImportContext

__all__ = ["KIND", "run"]


def run(
    *,
    batch: Any,
    table: TableFile,
    mapping: Mapping,
    context: ImportContext,
    errors: ErrorFile,
    report: Any,
    started: float,
) -> Any:
    from coachloop.ingest.models import BatchStatus, ImportProblem, OnError
    from coachloop.ingest.services import _chunk_mapping, _count_rows, _finish, _keep

    problems = Problems()
    frames: list[pl.DataFrame] = []
    read = 0
    total = _count_rows(table)
    for chunk in table.chunks():
        raw = chunk_frame(chunk)
        problems.add(unreadable_problems(chunk))
        chunk_mapping = _chunk_mapping(KIND, table, chunk, mapping)
        text = canonical_text(raw, chunk_mapping, KIND)
        typed = typed_fields(text, mapping, KIND, problems)
        # Only the program is read as typed (a code, in lower case); the rest stays text.
        frames.append(text.with_columns(typed["program"].alias("program")))
        read += len(chunk) + len(chunk.unreadable)
        report(0.4 * min(read / total, 1.0) if total else 0.2, f"{read:,} rows read")
    checked, catalog = check(pl.concat(frames) if frames else None, mapping, context, problems)
    del frames
    error_frame = problems.error_frame()
    bad = error_frame[ROW].unique()
    report(0.6, f"{read:,} rows checked, {bad.len():,} bad", force=True)
    _write_error_file(table, errors, error_frame)
    kept: list[Any] = []
    _keep(kept, batch, error_frame, problems.warning_frame())
    ImportProblem.objects.bulk_create(kept)
    batch.rows_read, batch.rows_rejected = read, bad.len()
    batch.warnings = problems.warning_frame().height
    batch.errors_path = str(errors.path) if errors.lines else ""
    if bad.len() and batch.on_error == OnError.REJECT:
        return _finish(batch, BatchStatus.REJECTED, started)
    good = checked.filter(~pl.col(ROW).is_in(bad.implode()))
    del checked
    report(0.7, "writing", force=True)
    with transaction.atomic():
        written = write(good, context, catalog)
        if batch.dry_run:
            transaction.set_rollback(True)
    batch.rows_inserted, batch.rows_updated = written.inserted, written.updated
    batch.rows_unchanged = written.unchanged
    if not batch.dry_run:
        batch.programs.set(sorted(written.program_ids))
    return _finish(batch, BatchStatus.SUCCEEDED, started)


def _write_error_file(table: TableFile, errors: ErrorFile, error_frame: pl.DataFrame) -> None:
    """The rejected rows as the file gave them: read again, chunk by chunk, only when there are
    any (a year of evaluations is 600,000 rows: not kept twice in memory)."""
    if error_frame.height == 0:
        return
    for chunk in table.chunks():
        numbers = chunk.rows + [row for row, _, _ in chunk.unreadable]
        here = error_frame.filter(pl.col(ROW).is_between(min(numbers), max(numbers)))
        if here.height:
            errors.append(chunk_frame(chunk), here)
