"""A scorecard: one JSON document (CONTRACTS.md, "scorecard"), stored through
``quality.services.scorecard_import`` so the import, the scorecard editor and the API check it
the same way. The document counts as one row: new or unchanged, or rejected with a problem per
JSON path the service names."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
from django.db import transaction

from coachloop.core.errors import InvalidInput, NotAllowed
from coachloop.ingest.errorfile import ErrorFile
from coachloop.ingest.frames import PROBLEM_SCHEMA
from coachloop.ingest.readers import read_json_document
from coachloop.ingest.references import ImportContext
from coachloop.quality.services import scorecard_import

KIND = "scorecard"
DOCUMENT_ROW = 1  # the whole file is the first (and only) record
WHOLE_DOCUMENT = "(document)"


def run(
    *, batch: Any, context: ImportContext, errors: ErrorFile, report: Any, started: float
) -> Any:
    from coachloop.ingest.models import BatchStatus, ImportProblem
    from coachloop.ingest.services import _fail, _finish, _keep

    try:
        document = read_json_document(Path(batch.file_path), batch.options.get("encoding"))
    except (InvalidInput, OSError) as exc:
        message = exc.message if isinstance(exc, InvalidInput) else str(exc)
        return _fail(batch, message, started, status=BatchStatus.REJECTED)
    report(0.3, "checking the scorecard", force=True)
    batch.rows_read = 1
    problems: list[tuple[int, str, str, str]] = []
    created = False
    scorecard = None
    with transaction.atomic():
        try:
            # The service decides who may store which scorecard (org admins: any; QA analysts
            # and managers: those of their programs); the installation (None) may do anything.
            scorecard, created = scorecard_import(document=document, by=context.actor)
        except InvalidInput as exc:
            problems = [
                (
                    DOCUMENT_ROW,
                    detail.column or WHOLE_DOCUMENT,
                    _text(detail.value),
                    detail.expected or exc.message,
                )
                for detail in exc.details
            ] or [(DOCUMENT_ROW, WHOLE_DOCUMENT, "", exc.message)]
        except NotAllowed as exc:
            programs = document.get("programs") if isinstance(document, dict) else None
            problems = [
                (
                    DOCUMENT_ROW,
                    "programs",
                    _text(programs or []),
                    f"programs whose scorecards you may change ({exc.message})",
                )
            ]
        if batch.dry_run:
            transaction.set_rollback(True)
    frame = pl.DataFrame(problems, schema=PROBLEM_SCHEMA, orient="row")
    errors.append(None, frame)
    kept: list[Any] = []
    _keep(kept, batch, frame, None)
    ImportProblem.objects.bulk_create(kept)
    batch.errors_path = str(errors.path) if errors.lines else ""
    if problems or scorecard is None:
        # One document is one row: there is nothing to skip to, whatever --on-error says.
        batch.rows_rejected = 1
        return _finish(batch, BatchStatus.REJECTED, started)
    batch.rows_inserted, batch.rows_unchanged = (1, 0) if created else (0, 1)
    if not batch.dry_run:
        batch.programs.set(scorecard.programs.all())
    return _finish(batch, BatchStatus.SUCCEEDED, started)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)
