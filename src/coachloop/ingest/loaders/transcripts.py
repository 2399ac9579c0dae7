"""Transcripts (JSON Lines): what was said on a contact, one line per contact,
``{"external_id", "program", "turns": [{"speaker", "offset_s", "text"}]}``.

Each line names its contact by program and id (``loaders/contacts.py``); every turn is checked.
A transcript is replaced whole by a re-import (updated), or left as it is when its turns are the
same (unchanged). Lines go through the staged pipeline like contacts do; publishing is one upsert
of the staged rows."""

from __future__ import annotations

import json
import math
from typing import Any

import polars as pl
from django.db import connection

from coachloop.ingest.frames import (
    PROBLEM_SCHEMA,
    ROW,
    Problems,
    canonical_text,
    label_of,
    require_values,
    typed_fields,
)
from coachloop.ingest.loaders.contacts import report_unknown_contacts, resolve_contacts
from coachloop.ingest.mapping import Mapping
from coachloop.ingest.references import ImportContext, resolve_programs
from coachloop.ingest.staging import Column, Published, Target, is_postgres, stage_name
from coachloop.interactions.models import Transcript

KIND = "transcripts"
SPEAKERS = ("agent", "customer", "system")
PROBLEMS_PER_LINE = 5  # a transcript wrong throughout says so a few times, not once per turn

TARGET = Target(
    table=Transcript._meta.db_table,
    key=("interaction_id",),
    columns=(
        Column("interaction_id", "int"),
        Column("turns", "text"),  # JSON text, written as the column's JSON type on publishing
        Column("batch_id", "int"),
    ),
    text_columns_not_null=("turns",),
    stage_only=(Column("_key", "text"), Column("program_id", "int")),
)
DUPLICATE_EXPECTED = "one transcript per contact (row {first} has this contact too)"


def duplicate_column(mapping: Mapping) -> str:
    return label_of(mapping, "external_id")


def prepare(
    frame: pl.DataFrame,
    mapping: Mapping,
    context: ImportContext,
    problems: Problems,
    people: pl.DataFrame,
    plausible_s: float,
) -> pl.DataFrame:
    """Check one chunk and return the rows ready to stage."""
    text = canonical_text(frame, mapping, KIND)
    typed = typed_fields(text, mapping, KIND, problems)
    rows = text.with_columns(**{f"{name}__v": expr for name, expr in typed.items()})
    turns_label = label_of(mapping, "turns")
    require_values(
        rows,
        mapping,
        problems,
        {
            "external_id": "the contact's id",
            "turns": "a list of turns (an empty list when nothing was said)",
        },
    )
    rows = resolve_programs(
        rows.with_columns(pl.col("program__v").alias("program")),
        context,
        problems,
        label=label_of(mapping, "program"),
        mapped_constant=None,  # transcripts never create programs
    )
    rows = resolve_contacts(rows, "external_id", context)
    report_unknown_contacts(rows, "external_id", label_of(mapping, "external_id"), problems)
    normal, turn_problems = check_turns(rows[ROW].to_list(), rows["turns"].to_list(), turns_label)
    problems.add(turn_problems)
    rows = rows.with_columns(pl.Series("turns_json", normal, dtype=pl.Utf8))
    return rows.select(
        pl.col(ROW),
        pl.col("interaction_id"),
        pl.col("turns_json").alias("turns"),
        pl.lit(context.batch_id, dtype=pl.Int64).alias("batch_id"),
        pl.col("external_id").alias("_key"),
        pl.col("program_id"),
    )


def check_turns(
    row_numbers: list[int], texts: list[str | None], label: str
) -> tuple[list[str | None], pl.DataFrame]:
    """Each line's turns as stored (JSON text: speaker in lower case, offset as a float, only
    the three keys), and the problems of the lines whose turns are not valid."""
    normal: list[str | None] = []
    found: list[tuple[int, str, str, str]] = []
    for row, text in zip(row_numbers, texts, strict=True):
        if text is None:
            normal.append(None)  # reported as a missing value
            continue
        turns, problems = _turns(text, label)
        normal.append(json.dumps(turns) if not problems else None)
        found += [(row, *problem) for problem in problems[:PROBLEMS_PER_LINE]]
    return normal, pl.DataFrame(found, schema=PROBLEM_SCHEMA, orient="row")


def _turns(text: str, label: str) -> tuple[list[dict[str, Any]], list[tuple[str, str, str]]]:
    try:
        value = json.loads(text)
    except ValueError:
        value = text
    if not isinstance(value, list):
        return [], [(label, _shown(value), "a list of turns: [{speaker, offset_s, text}, ...]")]
    turns: list[dict[str, Any]] = []
    problems: list[tuple[str, str, str]] = []
    for index, turn in enumerate(value):
        path = f"{label}[{index}]"
        before = len(problems)
        if not isinstance(turn, dict):
            problems.append((path, _shown(turn), "an object with speaker, offset_s and text"))
            continue
        speaker: Any = turn.get("speaker")
        if not isinstance(speaker, str) or speaker.strip().lower() not in SPEAKERS:
            problems.append((f"{path}.speaker", _shown(speaker), "agent, customer or system"))
        offset: Any = turn.get("offset_s")
        if (
            isinstance(offset, bool)
            or not isinstance(offset, int | float)
            or not math.isfinite(offset)
            or offset < 0
        ):
            problems.append(
                # Shown as JSON: the text "3" must not read as the number 3.
                (
                    f"{path}.offset_s",
                    _shown(json.dumps(offset)),
                    "seconds from the start: a number, 0 or more",
                )
            )
        said: Any = turn.get("text")
        if not isinstance(said, str):
            problems.append((f"{path}.text", _shown(said), "the words said, as a string"))
        if len(problems) == before:
            turns.append(
                {"speaker": speaker.strip().lower(), "offset_s": float(offset), "text": said}
            )
    return turns, problems


def _shown(value: Any, limit: int = 200) -> str:
    text = "" if value is None else value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def publish(*, batch: Any, target: Target) -> Published:
    """Upsert the staged transcripts in the current transaction: a contact's transcript is
    replaced whole when its turns differ, and not written at all when they are the same."""
    stage = stage_name(batch.pk)
    table = target.table
    if is_postgres():
        turns, changed = (
            "CAST(s.turns AS jsonb)",
            f'"{table}".turns IS DISTINCT FROM excluded.turns',
        )
    else:
        # Django stores JSON in SQLite as json.dumps text, as the staged turns are written.
        turns, changed = "s.turns", f'"{table}".turns IS NOT excluded.turns'
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT COUNT(*) FROM "{stage}"')
        staged = int(cursor.fetchone()[0])
        cursor.execute(
            f'SELECT COUNT(*) FROM "{stage}" s JOIN "{table}" t ON t.interaction_id = '
            "s.interaction_id"
        )
        existing = int(cursor.fetchone()[0])
        # "WHERE true": SQLite would otherwise read ON CONFLICT as a join's ON.
        cursor.execute(
            f'INSERT INTO "{table}" (interaction_id, turns, batch_id) '
            f'SELECT s.interaction_id, {turns}, s.batch_id FROM "{stage}" s WHERE true '
            "ON CONFLICT (interaction_id) DO UPDATE SET turns = excluded.turns, "
            f"batch_id = excluded.batch_id WHERE {changed}"
        )
        written = max(cursor.rowcount, 0)
    inserted = staged - existing
    updated = written - inserted
    return Published(inserted=inserted, updated=updated, unchanged=existing - updated)
