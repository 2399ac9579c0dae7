"""Imports: create a batch, run it (as a job), abandon it when its process died.

The pipeline for every kind: read the file in chunks; map, check and resolve each chunk
(``loaders/<kind>.py``); stage the good rows; then either reject (``--on-error reject`` and any
bad row: nothing is written), report (``--dry-run``) or publish in one short transaction that
also derives FCR and marks the touched days for KPI recomputation. Rosters and QA evaluations
are checked as a whole file and written by their loader's ``run`` in one transaction; a
scorecard is one JSON document (``loaders/scorecard.py``)."""

from __future__ import annotations

import datetime as dt
import shutil
import time
import zoneinfo
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import polars as pl
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from coachloop.core.errors import ErrorDetail, InvalidInput, NotAllowed
from coachloop.core.jobs import Progress, job_enqueue
from coachloop.core.models import Job
from coachloop.core.services import event_record
from coachloop.ingest import staging
from coachloop.ingest.errorfile import ErrorFile
from coachloop.ingest.frames import (
    PROBLEM_SCHEMA,
    ROW,
    Problems,
    chunk_frame,
    unreadable_problems,
)
from coachloop.ingest.loaders import (
    agent_days,
    evaluations,
    interactions,
    roster,
    scorecard,
    sessions,
    transcripts,
)
from coachloop.ingest.mapping import (
    ENCODING_EXPECTED,
    SOURCE_NAME_EXPECTED,
    Mapping,
    identity_mapping,
    is_encoding,
    is_source_name,
    missing_required_columns,
    parse_mapping,
)
from coachloop.ingest.models import (
    BatchStatus,
    ImportBatch,
    ImportKind,
    ImportProblem,
    OnError,
    SavedMapping,
)
from coachloop.ingest.readers import TableFile, detect_format, open_table
from coachloop.ingest.references import (
    ImportContext,
    create_pending,
    external_id_frame,
    load_programs,
)
from coachloop.interactions.services import recompute_marks_add
from coachloop.metrics.services import rollups_apply_marks
from coachloop.org.models import Program
from coachloop.org.scope import scope_for

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

STAGED_LOADERS: dict[str, ModuleType] = {
    "interactions": interactions,
    "agent-days": agent_days,
    "transcripts": transcripts,
    "sessions": sessions,
}
# Kinds checked as a whole file rather than chunk by chunk: a roster row goes through the org
# services; an evaluation's rows may be anywhere in the file.
WHOLE_FILE_LOADERS: dict[str, ModuleType] = {"roster": roster, "evaluations": evaluations}
# The formats each kind reads (CONTRACTS.md, "Command line"), in words for the error message.
TABLE_FORMATS = ("csv", "xlsx", "jsonl")
KIND_FORMATS: dict[str, tuple[tuple[str, ...], str]] = {
    "scorecard": (("json",), "one JSON document (.json, --format json)"),
    "transcripts": (("jsonl",), "JSON Lines (.jsonl, --format jsonl)"),
}
# Kinds whose rows may name agents nobody has yet (--create-missing-agents).
CREATES_AGENTS = ("roster", "interactions", "agent-days")
DEFAULT_PLAUSIBLE_S = 4 * 3600.0


def imports_home() -> Path:
    return Path(settings.COACHLOOP_HOME) / "imports"


def importable_program_ids(user: AbstractBaseUser | AnonymousUser | None) -> frozenset[int] | None:
    """Programs the user may import for: None means all (the installation, org admins)."""
    if user is None:
        return None
    scope = scope_for(user)
    if scope.is_admin:
        return None
    return scope.manager_program_ids


def import_check_allowed(user: AbstractBaseUser | AnonymousUser | None) -> None:
    allowed = importable_program_ids(user)
    if allowed is not None and not allowed:
        raise NotAllowed("Only org admins and program managers may import data")


def import_create(
    *,
    kind: str,
    path: Path,
    file_name: str,
    by: AbstractBaseUser | AnonymousUser | None,
    mapping_text: str = "",
    source: str | None = None,
    on_error: str = OnError.REJECT,
    dry_run: bool = False,
    create_missing_agents: bool = False,
    file_format: str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    error_file: str | None = None,
) -> ImportBatch:
    """Check the request (who, kind, mapping, format) and record the batch; nothing is read
    from the file yet."""
    import_check_allowed(by)
    if kind not in ImportKind.values:
        raise InvalidInput(
            f"Unknown import kind {kind!r}",
            [
                ErrorDetail(
                    column="kind", value=kind, expected="one of " + ", ".join(ImportKind.values)
                )
            ],
        )
    if on_error not in OnError.values:
        raise InvalidInput(
            f"on_error must be reject or skip, not {on_error!r}",
            [ErrorDetail(column="on_error", value=on_error, expected="reject or skip")],
        )
    mapping = parse_mapping(mapping_text, kind=kind) if mapping_text.strip() else Mapping()
    if source is not None and not is_source_name(source):
        raise InvalidInput(
            f"source {source!r} is not valid, expected {SOURCE_NAME_EXPECTED}",
            [ErrorDetail(column="source", value=source, expected=SOURCE_NAME_EXPECTED)],
        )
    if encoding is not None and not is_encoding(encoding):
        raise InvalidInput(
            f"encoding {encoding!r} is not valid, expected {ENCODING_EXPECTED}",
            [ErrorDetail(column="encoding", value=encoding, expected=ENCODING_EXPECTED)],
        )
    if delimiter is not None:
        delimiter = "\t" if delimiter in ("\\t", "tab") else delimiter
        if len(delimiter) != 1:
            raise InvalidInput(
                f"delimiter {delimiter!r} is not valid, expected one character",
                [ErrorDetail(column="delimiter", value=delimiter, expected="one character")],
            )
    if create_missing_agents and kind not in CREATES_AGENTS:
        raise InvalidInput(
            f"--create-missing-agents is not for {kind} imports: the people and contacts they "
            "name must exist",
            [
                ErrorDetail(
                    column="create_missing_agents",
                    value="true",
                    expected="only with " + ", ".join(CREATES_AGENTS),
                )
            ],
        )
    fmt = detect_format(Path(file_name), file_format, delimiter or mapping.delimiter)
    formats, words = KIND_FORMATS.get(kind, (TABLE_FORMATS, "csv, xlsx or jsonl"))
    if fmt not in formats:
        raise InvalidInput(
            f"A {kind} import reads {words}, not {fmt}",
            [ErrorDetail(column="format", value=fmt, expected=words)],
        )
    actor: Any = by if by is not None and by.is_authenticated else None
    return ImportBatch.objects.create(
        kind=kind,
        source=source or mapping.source,
        file_name=file_name,
        file_path=str(path),
        file_format=fmt,
        mapping_text=mapping_text,
        on_error=on_error,
        dry_run=dry_run,
        created_by=actor,
        options={
            "create_missing_agents": create_missing_agents,
            "delimiter": delimiter,
            "encoding": encoding,
            "error_file": error_file,
        },
    )


def import_enqueue(*, batch: ImportBatch, by: AbstractBaseUser | AnonymousUser | None) -> Job:
    """Queue the batch for the worker (what the web upload and the API do)."""
    job = job_enqueue(kind="import", params={"batch_id": batch.pk}, by=by)
    ImportBatch.objects.filter(pk=batch.pk).update(job=job)
    batch.job = job
    return job


def store_upload(*, name: str, chunks: Any) -> Path:
    """Keep an uploaded file under COACHLOOP_HOME/imports/uploads so the worker can read it."""
    folder = imports_home() / "uploads" / timezone.now().strftime("%Y%m%d-%H%M%S-%f")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / Path(name).name
    with path.open("wb") as handle:
        for chunk in chunks:
            handle.write(chunk)
    return path


def _context(batch: ImportBatch, mapping: Mapping) -> ImportContext:
    allowed = importable_program_ids(batch.created_by)
    context = ImportContext(
        kind=batch.kind,
        source=batch.source,
        batch_id=batch.pk,
        actor=batch.created_by,
        allowed_program_ids=allowed,
        may_create_programs=allowed is None,
        create_missing_agents=bool(batch.options.get("create_missing_agents")),
        dry_run=batch.dry_run,
        timezone=mapping.timezone,
        now=timezone.now(),
    )
    load_programs(context)
    return context


def _error_path(batch: ImportBatch) -> Path:
    given = batch.options.get("error_file")
    return Path(given) if given else imports_home() / str(batch.pk) / "errors.csv"


def _count_rows(table: TableFile) -> int | None:
    """A quick count of lines, for the progress bar only."""
    if table.format == "xlsx":
        return None
    with table.path.open("rb") as handle:
        return max(
            sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b"")) - 1, 1
        )


def import_run(*, batch: ImportBatch, progress: Progress | None = None) -> ImportBatch:
    """Run the batch to its end: succeeded (written, or validated for a dry run), rejected
    (bad rows with on_error=reject: nothing written) or failed (an error in the file as a
    whole, such as a missing required column)."""
    with staging.bulk_cache():
        return _run(batch, progress)


def _run(batch: ImportBatch, progress: Progress | None) -> ImportBatch:
    started = time.perf_counter()
    report = progress or (lambda fraction, text="", force=False: None)
    ImportBatch.objects.filter(pk=batch.pk).update(
        status=BatchStatus.RUNNING, started_at=timezone.now()
    )
    if batch.kind == "scorecard":
        # One JSON document, not a table: no mapping, no chunks.
        return scorecard.run(
            batch=batch,
            context=_context(batch, Mapping()),
            errors=ErrorFile(_error_path(batch), []),
            report=report,
            started=started,
        )
    mapping = (
        parse_mapping(batch.mapping_text, kind=batch.kind)
        if batch.mapping_text.strip()
        else Mapping()
    )
    try:
        table = open_table(
            Path(batch.file_path),
            fmt=batch.file_format,
            encoding=batch.options.get("encoding") or mapping.encoding,
            delimiter=batch.options.get("delimiter") or mapping.delimiter,
            sheet=mapping.sheet,
        )
        mapping = identity_mapping(batch.kind, table.header, mapping)
        missing = missing_required_columns(batch.kind, mapping, table.header)
        if missing:
            raise InvalidInput(
                "Missing required columns: "
                + ", ".join(missing)
                + ". The file has: "
                + ", ".join(table.header),
                [
                    ErrorDetail(
                        column=name,
                        value=None,
                        expected="a column of that name or a mapping for it",
                    )
                    for name in missing
                ],
            )
    except (InvalidInput, OSError) as exc:
        return _fail(
            batch,
            str(exc) if not isinstance(exc, InvalidInput) else exc.message,
            started,
            status=BatchStatus.REJECTED,
        )
    used = {column for spec in mapping.columns.values() for column in spec.source_columns}
    batch.unmapped_columns = [column for column in table.header if column not in used]
    batch.save(update_fields=["unmapped_columns"])
    context = _context(batch, mapping)
    errors = ErrorFile(_error_path(batch), table.header)
    if batch.kind in WHOLE_FILE_LOADERS:
        try:
            return WHOLE_FILE_LOADERS[batch.kind].run(
                batch=batch,
                table=table,
                mapping=mapping,
                context=context,
                errors=errors,
                report=report,
                started=started,
            )
        except InvalidInput as exc:  # the file stopped being readable part-way
            return _fail(batch, exc.message, started, status=BatchStatus.REJECTED)
    return _run_staged(batch, table, mapping, context, errors, report, started)


def _run_staged(
    batch: ImportBatch,
    table: TableFile,
    mapping: Mapping,
    context: ImportContext,
    errors: ErrorFile,
    report: Any,
    started: float,
) -> ImportBatch:
    loader = STAGED_LOADERS[batch.kind]
    target: staging.Target = loader.TARGET
    staging.stage_create(batch.pk, target)
    people = external_id_frame()
    plausible = float(getattr(settings, "COACHLOOP_PLAUSIBLE_DURATION_S", DEFAULT_PLAUSIBLE_S))
    total = _count_rows(table)
    counts = {"read": 0, "bad": 0, "warnings": 0}
    kept: list[ImportProblem] = []
    duplicate_column = loader.duplicate_column(mapping)
    try:
        for chunk in _chunks(table, batch):
            problems = Problems()
            raw = chunk_frame(chunk)
            problems.add(unreadable_problems(chunk))
            prepared = loader.prepare(
                raw,
                _chunk_mapping(batch.kind, table, chunk, mapping),
                context,
                problems,
                people,
                plausible,
            )
            bad = problems.error_frame()[ROW].unique()
            good = prepared.filter(~pl.col(ROW).is_in(bad.implode()))
            # A key repeated inside the chunk: the later rows are errors (with their values
            # in the error file); repeats across chunks are found in staging below.
            problems.add(_duplicates(good, target.key, duplicate_column, loader.DUPLICATE_EXPECTED))
            error_frame = problems.error_frame()
            bad = error_frame[ROW].unique()
            good = good.filter(~pl.col(ROW).is_in(bad.implode()))
            if batch.on_error == OnError.SKIP or counts["bad"] + bad.len() == 0:
                staging.stage_write(batch.pk, target, good)
            counts["read"] += len(chunk) + len(chunk.unreadable)
            counts["bad"] += bad.len()
            warning_frame = problems.warning_frame()
            counts["warnings"] += warning_frame.height
            errors.append(raw, error_frame)
            _keep(kept, batch, error_frame, warning_frame)
            done = counts["read"] / total if total else 0.5
            report(0.8 * min(done, 1.0), f"{counts['read']:,} rows read, {counts['bad']:,} bad")
        duplicates = staging.stage_duplicates(batch.pk, target)
        if duplicates:
            frame = pl.DataFrame(
                {
                    ROW: [row for row, _, _ in duplicates],
                    "column": [duplicate_column] * len(duplicates),
                    "value": [key for _, key, _ in duplicates],
                    "expected": [
                        loader.DUPLICATE_EXPECTED.format(first=first) for _, _, first in duplicates
                    ],
                },
                schema=PROBLEM_SCHEMA,
            )
            errors.append(None, frame)
            _keep(kept, batch, frame, None)
            staging.stage_delete_rows(batch.pk, [row for row, _, _ in duplicates])
            counts["bad"] += len({row for row, _, _ in duplicates})
        ImportProblem.objects.bulk_create(kept)
        batch.rows_read, batch.rows_rejected = counts["read"], counts["bad"]
        batch.warnings = counts["warnings"]
        batch.errors_path = str(errors.path) if errors.lines else ""
        if counts["bad"] and batch.on_error == OnError.REJECT:
            batch.rows_rejected = counts["bad"]
            return _finish(batch, BatchStatus.REJECTED, started)
        report(0.85, "publishing", force=True)
        with transaction.atomic():
            result = _publish(batch, loader, target, context)
            if batch.dry_run:
                transaction.set_rollback(True)
        batch.rows_inserted, batch.rows_updated = result.inserted, result.updated
        batch.rows_unchanged = result.unchanged
        return _finish(batch, BatchStatus.SUCCEEDED, started)
    except FileUnreadable as exc:
        return _fail(batch, str(exc), started, status=BatchStatus.REJECTED)
    finally:
        staging.stage_drop(batch.pk)


def _chunks(table: TableFile, batch: ImportBatch) -> Any:
    """The file's chunks; a file that stops being readable part-way (bytes that are not in its
    encoding) fails as a whole, reported on the batch."""
    try:
        yield from table.chunks()
    except InvalidInput as exc:
        raise FileUnreadable(exc.message) from None


class FileUnreadable(Exception):
    pass


def _chunk_mapping(kind: str, table: TableFile, chunk: Any, mapping: Mapping) -> Mapping:
    """JSON Lines may bring a key first seen after the sample the header came from: a key
    with a canonical name is read wherever it first appears."""
    if table.format != "jsonl" or chunk.header == table.header:
        return mapping
    return identity_mapping(kind, chunk.header, mapping)


def _duplicates(
    frame: pl.DataFrame, key: tuple[str, ...], column: str, expected: str
) -> pl.DataFrame:
    return (
        frame.with_columns(pl.col(ROW).min().over(list(key)).alias("_first"))
        .filter(pl.col(ROW) != pl.col("_first"))
        .select(
            pl.col(ROW),
            pl.lit(column).alias("column"),
            pl.col("_key").alias("value"),
            pl.format(expected.replace("{first}", "{}"), pl.col("_first")).alias("expected"),
        )
    )


def _publish(
    batch: ImportBatch, loader: ModuleType, target: staging.Target, context: ImportContext
) -> staging.Published:
    """Inside the publishing transaction: create what the rows wait for, write the rows that
    changed, settle derived FCR around them, and mark the days whose KPIs they change."""
    stage = staging.stage_name(batch.pk)
    own_publish = getattr(loader, "publish", None)
    if own_publish is not None:  # a target staging.publish cannot write (a JSON column)
        published: staging.Published = own_publish(batch=batch, target=target)
        batch.programs.set(_staged_programs(stage))
        return published
    is_interactions = batch.kind == "interactions"
    if is_interactions:
        create_pending(stage, context)
    windows = interactions.touched_windows(stage) if is_interactions else []
    previous_latest = {
        program_id: interactions.latest_contact(program_id) for program_id, _, _ in windows
    }
    for program_id, _, staged_latest in windows:
        before = previous_latest[program_id]
        latest = max(staged_latest, before) if before is not None else staged_latest
        interactions.precompute_fcr(stage, program_id, latest)
    changes = staging.stage_changes(
        batch.pk,
        target,
        day="local_date" if is_interactions else "date",
        time="started_at" if is_interactions else None,
    )
    result = staging.publish(batch.pk, target)
    marks = {(program_id, day) for program_id, day, _, _ in changes}
    if is_interactions:
        zones = {program.pk: program.timezone for program in context.programs.values()}
        marks = _with_fcr_window(marks, zones)
        for program_id in sorted({program_id for program_id, _, _, _ in changes}):
            times = [t for p, _, lo, hi in changes if p == program_id for t in (lo, hi) if t]
            since, until = min(times) - interactions.FCR_WINDOW, max(times)
            before, after = previous_latest[program_id], interactions.latest_contact(program_id)
            if before is not None and after is not None and before != after:
                # The program's latest contact moved: contacts that were provisional against
                # the old one settle (or the reverse), and their days change provisional_n.
                low, high = min(before, after), max(before, after)
                since = min(since, low - interactions.FCR_WINDOW)
                marks |= _local_days(
                    program_id,
                    low - interactions.FCR_WINDOW,
                    high - interactions.FCR_WINDOW,
                    zones[program_id],
                )
            interactions.derive_fcr(program_id, since, until, skip_batch=batch.pk)
    mark_days(marks, reason=f"import #{batch.pk}")
    batch.programs.set(_staged_programs(stage))
    return result


def _staged_programs(stage: str) -> list[int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f'SELECT DISTINCT program_id FROM "{stage}" WHERE program_id IS NOT NULL')
        return sorted(int(program_id) for (program_id,) in cursor.fetchall())


def _local_days(
    program_id: int, since: dt.datetime, until: dt.datetime, zone: str
) -> set[tuple[int, dt.date]]:
    tz = zoneinfo.ZoneInfo(zone)
    first, last = since.astimezone(tz).date(), until.astimezone(tz).date()
    return {(program_id, first + dt.timedelta(days=n)) for n in range((last - first).days + 1)}


def _with_fcr_window(
    days: set[tuple[int, dt.date]], zones: dict[int, str]
) -> set[tuple[int, dt.date]]:
    """Each touched day and the days before it whose contacts a contact on it may repeat:
    the 7 days before, or 8 when the clocks went forward in between (168 hours back from the
    day's first local minute then lands late on the eighth day)."""
    marked = set(days)
    for program_id, day in days:
        tz = zoneinfo.ZoneInfo(zones.get(program_id, "UTC"))
        midnight = dt.datetime.combine(day, dt.time(0), tzinfo=tz).astimezone(dt.UTC)
        marked |= _local_days(
            program_id, midnight - interactions.FCR_WINDOW, midnight, zones.get(program_id, "UTC")
        )
    return marked


def mark_days(marks: set[tuple[int, dt.date]], *, reason: str) -> None:
    """Mark program days for KPI recomputation."""
    recompute_marks_add(marks=marks, reason=reason)


def _keep(
    kept: list[ImportProblem],
    batch: ImportBatch,
    errors: pl.DataFrame,
    warnings: pl.DataFrame | None,
) -> None:
    room = ImportProblem.PROBLEMS_KEPT - len(kept)
    for frame, is_warning in ((errors, False), (warnings, True)):
        if frame is None or room <= 0:
            continue
        for row, column, value, expected in frame.head(room).iter_rows():
            kept.append(
                ImportProblem(
                    batch=batch,
                    row=row,
                    column=column or "",
                    value=value or "",
                    expected=expected,
                    is_warning=is_warning,
                )
            )
        room = ImportProblem.PROBLEMS_KEPT - len(kept)


def _finish(batch: ImportBatch, status: str, started: float) -> ImportBatch:
    if status == BatchStatus.SUCCEEDED and not batch.dry_run:
        # CONTRACTS.md: an import leaves KPIs current for what it touched before it exits.
        rollups_apply_marks()
    batch.status = status
    batch.finished_at = timezone.now()
    batch.seconds = round(time.perf_counter() - started, 3)
    batch.save()
    event_record(
        verb=f"import.{status}",
        actor=batch.created_by,
        target=batch,
        params={
            "kind": batch.kind,
            "file": batch.file_name,
            "read": batch.rows_read,
            "inserted": batch.rows_inserted,
            "updated": batch.rows_updated,
            "rejected": batch.rows_rejected,
            "dry_run": batch.dry_run,
        },
    )
    return batch


def _fail(batch: ImportBatch, message: str, started: float, *, status: str) -> ImportBatch:
    batch.error = message
    ImportProblem.objects.create(batch=batch, row=None, column="", value="", expected=message)
    return _finish(batch, status, started)


def import_abandon(*, batch_id: int, reason: str) -> None:
    """The batch's process died: nothing was published (publishing is one transaction), so
    drop the staging table and say so on the batch."""
    staging.stage_drop(batch_id)
    ImportBatch.objects.filter(
        pk=batch_id, status__in=[BatchStatus.QUEUED, BatchStatus.RUNNING]
    ).update(
        status=BatchStatus.FAILED,
        error=f"The import stopped: {reason}. Nothing was written; run it again.",
        finished_at=timezone.now(),
    )


def mapping_save(
    *, name: str, kind: str, text: str, by: AbstractBaseUser | AnonymousUser | None
) -> SavedMapping:
    import_check_allowed(by)
    mapping = parse_mapping(text, kind=kind)
    actor = by if by is not None and by.is_authenticated else None
    saved, _ = SavedMapping.objects.update_or_create(
        kind=kind, name=name, defaults={"source": mapping.source, "text": text, "created_by": actor}
    )
    return saved


def programs_for(batch: ImportBatch) -> list[Program]:
    return list(batch.programs.order_by("code"))


def copy_for_batch(source_path: Path, batch: ImportBatch) -> Path:
    folder = imports_home() / str(batch.pk)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / source_path.name
    shutil.copyfile(source_path, target)
    return target
