"""``coachloop import KIND FILE``: import an export, as the installation (org admin).

Prints a summary and every error as ``row N, column C: 'value' — expected ...``; exits 0 only
when nothing was rejected (CONTRACTS.md, "Command line")."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from coachloop.core.errors import CoachloopError
from coachloop.core.jobs import job_run_inline, jobs_sweep_stale
from coachloop.ingest.models import BatchStatus, ImportBatch, ImportKind
from coachloop.ingest.selectors import batch_problems
from coachloop.ingest.services import import_create

ERRORS_SHOWN = 50


class Command(BaseCommand):
    help = (
        "Import roster, interactions, agent-days, transcripts, evaluations, sessions (CSV, XLSX "
        "or JSON Lines) or a scorecard (JSON)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=ImportKind.values)
        parser.add_argument("file")
        parser.add_argument("--mapping", help="A mapping file (TOML)")
        parser.add_argument("--source", help="The source system's name (natural keys, ids)")
        parser.add_argument("--on-error", choices=["reject", "skip"], default="reject")
        parser.add_argument("--error-file", help="Where to write the rejected rows")
        parser.add_argument("--create-missing-agents", action="store_true")
        parser.add_argument("--dry-run", action="store_true", help="Check, write nothing")
        parser.add_argument("--format", choices=["csv", "xlsx", "jsonl", "json"])
        parser.add_argument("--delimiter")
        parser.add_argument("--encoding")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        mapping_text = ""
        if options["mapping"]:
            mapping_path = Path(options["mapping"])
            if not mapping_path.is_file():
                raise CommandError(f"No such mapping file: {mapping_path}")
            mapping_text = mapping_path.read_text(encoding="utf-8")
        jobs_sweep_stale()  # an import killed earlier shows as failed, its staging dropped
        try:
            batch = import_create(
                kind=options["kind"],
                path=path.resolve(),
                file_name=path.name,
                by=None,
                mapping_text=mapping_text,
                source=options["source"],
                on_error=options["on_error"],
                dry_run=options["dry_run"],
                create_missing_agents=options["create_missing_agents"],
                file_format=options["format"],
                delimiter=options["delimiter"],
                encoding=options["encoding"],
                error_file=options["error_file"],
            )
        except CoachloopError as exc:
            raise CommandError(exc.message) from None
        job = job_run_inline(kind="import", params={"batch_id": batch.pk}, echo=self._bar)
        ImportBatch.objects.filter(pk=batch.pk).update(job=job)
        self.stderr.write("")
        batch.refresh_from_db()
        if job.error and batch.status == BatchStatus.RUNNING:
            raise CommandError(f"The import failed: {job.error}")
        self._summary(batch)
        if batch.status != BatchStatus.SUCCEEDED or batch.rows_rejected:
            sys.exit(1)

    def _bar(self, fraction: float, text: str) -> None:
        if not self.stderr.isatty():
            return
        filled = int(fraction * 30)
        self.stderr.write(
            f"\r[{'#' * filled}{'.' * (30 - filled)}] {fraction:4.0%} {text:<50}", ending=""
        )
        self.stderr.flush()

    def _summary(self, batch: ImportBatch) -> None:
        write = self.stdout.write
        verb = "checked (dry run, nothing written)" if batch.dry_run else batch.status
        write(f"import #{batch.pk} {batch.kind} {batch.file_name}: {verb}")
        write(f"  read       {batch.rows_read:>10,}")
        write(f"  written    {batch.rows_inserted:>10,}  (new)")
        write(f"  updated    {batch.rows_updated:>10,}")
        write(f"  unchanged  {batch.rows_unchanged:>10,}")
        write(f"  rejected   {batch.rows_rejected:>10,}")
        write(f"  warnings   {batch.warnings:>10,}")
        write(f"  seconds    {batch.seconds or 0:>10.1f}")
        if batch.unmapped_columns:
            write("  columns not imported: " + ", ".join(batch.unmapped_columns))
        if batch.error:
            write(f"  {batch.error}")
        problems = batch_problems(batch=batch, warnings=False)[:ERRORS_SHOWN]
        for problem in problems:
            if problem.row is None:
                continue
            write(
                f"row {problem.row}, column {problem.column}: '{problem.value}' — expected "
                f"{problem.expected}"
            )
        if batch.rows_rejected > ERRORS_SHOWN:
            write("... and more: see the error file")
        if batch.errors_path:
            write(f"error file: {batch.errors_path}")
        if batch.status == BatchStatus.REJECTED and batch.rows_rejected:
            write(
                "Nothing was written: fix the rows above, or use --on-error skip to write the "
                "good rows."
            )
