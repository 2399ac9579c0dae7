"""Helpers for import tests: write a small file, import it as a kind, read back the problems."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from coachloop.ingest.fields import canonical_header
from coachloop.ingest.models import ImportBatch
from coachloop.ingest.services import import_create, import_run

INTERACTION_COLUMNS = list(canonical_header("interactions"))
CONTACT_DEFAULTS = {
    "channel": "voice",
    "program": "care",
    "queue": "billing",
    "agent": "A1",
    "started_at": "2026-06-01T09:00:00Z",
    "talk_s": "300",
}
ROSTER_COLUMNS = list(canonical_header("roster"))
AGENT_DAY_COLUMNS = list(canonical_header("agent-days"))


def table(columns: list[str], rows: list[dict[str, Any]], *, delimiter: str = ",") -> str:
    """CSV text with ``columns`` as header; a row leaves out what it does not name."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        unknown = set(row) - set(columns)
        assert not unknown, f"not in the header: {unknown}"
        writer.writerow(["" if row.get(c) is None else str(row.get(c)) for c in columns])
    return out.getvalue()


def contacts(*rows: dict[str, Any], columns: list[str] | None = None) -> str:
    """A canonical interactions CSV; each row gets CONTACT_DEFAULTS for what it leaves out
    (those of the ``columns`` given)."""
    columns = columns or INTERACTION_COLUMNS
    defaults = {k: v for k, v in CONTACT_DEFAULTS.items() if k in columns}
    return table(columns, [{**defaults, **row} for row in rows])


def contact(external_id: str, **fields: Any) -> dict[str, Any]:
    return {"external_id": external_id, **fields}


def write(folder: Path, name: str, content: str | bytes, *, encoding: str = "utf-8") -> Path:
    path = folder / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_bytes(content.encode(encoding))
    return path


def import_path(
    kind: str, path: Path, *, mapping: str = "", by: Any = None, **options: Any
) -> ImportBatch:
    """Create and run a batch through the services, as the web upload and the worker do."""
    batch = import_create(
        kind=kind, path=path, file_name=path.name, by=by, mapping_text=mapping, **options
    )
    return import_run(batch=batch)


def import_text(
    kind: str,
    content: str | bytes,
    folder: Path,
    *,
    name: str = "file.csv",
    encoding: str = "utf-8",
    mapping: str = "",
    by: Any = None,
    **options: Any,
) -> ImportBatch:
    """Import ``content`` as KIND from a file called ``name`` written into ``folder``."""
    return import_path(
        kind, write(folder, name, content, encoding=encoding), mapping=mapping, by=by, **options
    )


def problems(batch: ImportBatch, *, warnings: bool = False) -> list[tuple[Any, ...]]:
    """The batch's problems as (row, column, value, expected), in row order."""
    return list(
        batch.problems.filter(is_warning=warnings)
        .order_by("row", "id")
        .values_list("row", "column", "value", "expected")
    )


def counts(batch: ImportBatch) -> dict[str, int]:
    return {
        "read": batch.rows_read,
        "new": batch.rows_inserted,
        "updated": batch.rows_updated,
        "unchanged": batch.rows_unchanged,
        "rejected": batch.rows_rejected,
    }


def error_file_rows(batch: ImportBatch) -> list[dict[str, str]]:
    with Path(batch.errors_path).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))
