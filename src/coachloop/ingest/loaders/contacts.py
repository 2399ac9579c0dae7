"""The contacts a transcripts or evaluations file names, by program and the contact's id: the
contact with that id in the import's own source first, else the one contact of the program that
has it in any other source (CONTRACTS.md: the same rule as for people). An id several sources
have, none of them the import's, is ambiguous: a row error, as is an id nobody has."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import polars as pl

from coachloop.ingest.frames import Problems, problem_rows
from coachloop.ingest.references import ImportContext
from coachloop.interactions.models import Interaction

LOOKUP_BATCH = 500  # ids per query: SQLite limits a statement's parameters
FIELDS = ("program_id", "external_id", "id", "agent_id", "team_id", "local_date", "answered")
SCHEMA = {
    "program_id": pl.Int64,
    "_contact": pl.Utf8,
    "interaction_id": pl.Int64,
    "_contact_agent": pl.Int64,
    "_contact_team": pl.Int64,
    "_contact_day": pl.Date,
    "_contact_answered": pl.Boolean,
    "_contact_ambiguous": pl.Boolean,
}


def _fetch(program_id: int, source: str, ids: list[str]) -> list[tuple[Any, ...]]:
    """Contacts of the program with these ids in one source: each query uses the whole natural
    key index (program, source, external_id)."""
    found: list[tuple[Any, ...]] = []
    for start in range(0, len(ids), LOOKUP_BATCH):
        found += Interaction.objects.filter(
            program_id=program_id, source=source, external_id__in=ids[start : start + LOOKUP_BATCH]
        ).values_list(*FIELDS)
    return found


def resolve_contacts(frame: pl.DataFrame, column: str, context: ImportContext) -> pl.DataFrame:
    """Add ``interaction_id`` and the contact's ``_contact_agent``, ``_contact_team``,
    ``_contact_day`` (its local date) and ``_contact_answered``; ``_contact_ambiguous`` marks
    ids held by several contacts of other sources. Needs ``program_id``."""
    wanted: dict[int, list[str]] = defaultdict(list)
    for program_id, external_id in (
        frame.select("program_id", column).drop_nulls().unique().sort(column).iter_rows()
    ):
        wanted[int(program_id)].append(str(external_id))
    rows: list[tuple[Any, ...]] = []
    for program_id, ids in wanted.items():
        own = _fetch(program_id, context.source, ids)
        rows += [(*row, False) for row in own]
        missing = sorted(set(ids) - {row[1] for row in own})
        if not missing:
            continue
        sources = (
            Interaction.objects.filter(program_id=program_id)
            .exclude(source=context.source)
            .order_by()
            .values_list("source", flat=True)
            .distinct()
        )
        elsewhere: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        for source in sources:
            for row in _fetch(program_id, source, missing):
                elsewhere[row[1]].append(row)
        for matches in elsewhere.values():
            if len(matches) == 1:
                rows.append((*matches[0], False))
            else:
                rows.append((program_id, matches[0][1], None, None, None, None, None, True))
    found = pl.DataFrame(rows, schema=SCHEMA, orient="row")
    return frame.join(
        found.rename({"_contact": column}), on=["program_id", column], how="left"
    ).with_columns(pl.col("_contact_ambiguous").fill_null(False))


def report_unknown_contacts(
    frame: pl.DataFrame, column: str, label: str, problems: Problems
) -> None:
    """Rows naming a contact that cannot be found (their program is known)."""
    named = pl.col(column).is_not_null() & pl.col("program_id").is_not_null()
    problems.add(
        problem_rows(
            frame,
            named & pl.col("_contact_ambiguous"),
            column=label,
            value=pl.col(column),
            expected="an id that names one contact (contacts from several source systems have "
            "it: give the source, --source or the mapping's [source] name)",
        )
    )
    problems.add(
        problem_rows(
            frame,
            named & pl.col("interaction_id").is_null() & ~pl.col("_contact_ambiguous"),
            column=label,
            value=pl.col(column),
            expected=pl.format(
                "a contact of program {} (import the interactions first)", pl.col("program")
            ),
        )
    )
