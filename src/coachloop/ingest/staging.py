"""Staging tables and the one short publishing step, for both databases.

An import writes its valid rows, chunk by chunk, into a staging table of its own (committed as
it goes, so SQLite readers and writers wait only for a chunk). Publishing is one transaction: an
upsert on the natural key that touches only rows whose values changed. A crash before that
leaves only the staging table, which the sweep drops: readers never see half a batch."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import polars as pl
from django.conf import settings
from django.db import connection, transaction


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str  # "int" | "text" | "float" | "bool" | "date" | "timestamp"


@dataclass(frozen=True)
class Target:
    """Where staged rows are published: the table, its natural key and the data columns."""

    table: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]  # data columns, key columns included
    text_columns_not_null: tuple[str, ...] = ()
    # Columns of the staging table only, never published: ``_key`` (the natural key as the
    # file wrote it, for messages) and what publishing must resolve first.
    stage_only: tuple[Column, ...] = (Column("_key", "text"),)

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def staged(self) -> tuple[Column, ...]:
        return self.columns + self.stage_only

    @property
    def value_columns(self) -> list[str]:
        return [name for name in self.names if name not in self.key and name != "batch_id"]


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


@contextmanager
def bulk_cache() -> Iterator[None]:
    """On SQLite, a page cache for this connection large enough for an import's index updates
    (``COACHLOOP_IMPORT_CACHE_MB``), given back afterwards so a long-lived worker does not keep
    it. PostgreSQL's cache is the server's: nothing to do."""
    if is_postgres():
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        previous = int(cursor.fetchone()[0])
        cursor.execute(f"PRAGMA cache_size = -{int(settings.COACHLOOP_IMPORT_CACHE_MB) * 1024}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {previous}")


def _sql_type(kind: str) -> str:
    if is_postgres():
        return {
            "int": "bigint",
            "text": "text",
            "float": "double precision",
            "bool": "boolean",
            "date": "date",
            "timestamp": "timestamptz",
        }[kind]
    return {
        "int": "integer",
        "text": "text",
        "float": "real",
        "bool": "integer",
        "date": "text",
        "timestamp": "text",
    }[kind]


def stage_name(batch_id: int) -> str:
    return f"ingest_stage_{int(batch_id)}"


def stage_create(batch_id: int, target: Target) -> str:
    name = stage_name(batch_id)
    columns = ", ".join(f'"{c.name}" {_sql_type(c.sql_type)}' for c in target.staged)
    unlogged = "UNLOGGED " if is_postgres() else ""
    # PostgreSQL: room on each page so that updating the staged rows in place (derived FCR)
    # stays a heap-only update instead of a new row version in every index.
    fill = " WITH (fillfactor = 50)" if is_postgres() else ""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f'DROP TABLE IF EXISTS "{name}"')
        cursor.execute(f'CREATE {unlogged}TABLE "{name}" ("_row" bigint, {columns}){fill}')
    return name


def stage_drop(batch_id: int) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f'DROP TABLE IF EXISTS "{stage_name(batch_id)}"')


def _sqlite_ready(frame: pl.DataFrame, target: Target) -> pl.DataFrame:
    """Values as Django stores them in SQLite: dates as text, UTC datetimes as naive text
    (fractions only when non-zero), booleans as 0/1."""
    expressions = [pl.col("_row")]
    for column in target.staged:
        value = pl.col(column.name)
        if column.sql_type == "timestamp":
            naive = value.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
            value = (
                pl.when(naive.dt.microsecond() == 0)
                .then(naive.dt.strftime("%Y-%m-%d %H:%M:%S"))
                .otherwise(naive.dt.strftime("%Y-%m-%d %H:%M:%S%.6f"))
            )
        elif column.sql_type == "date":
            value = value.dt.strftime("%Y-%m-%d")
        elif column.sql_type == "bool":
            value = value.cast(pl.Int8)
        expressions.append(value.alias(column.name))
    return frame.select(expressions)


def stage_write(batch_id: int, target: Target, frame: pl.DataFrame) -> None:
    """Append ``frame`` (the target's columns plus ``_row``) to the staging table and commit."""
    if frame.height == 0:
        return
    name = stage_name(batch_id)
    names = ["_row", *[column.name for column in target.staged]]
    quoted = ", ".join(f'"{n}"' for n in names)
    frame = frame.select(names)
    with transaction.atomic(), connection.cursor() as cursor:
        if is_postgres():
            buffer = io.BytesIO()
            frame.write_csv(
                buffer,
                include_header=False,
                null_value="",
                datetime_format="%Y-%m-%dT%H:%M:%S%.6f%:z",
                quote_style="non_numeric",
            )
            not_null = ", ".join(f'"{n}"' for n in target.text_columns_not_null)
            force = f", FORCE_NOT_NULL ({not_null})" if not_null else ""
            with cursor.copy(
                f'COPY "{name}" ({quoted}) FROM STDIN WITH (FORMAT csv{force})'
            ) as copy:
                copy.write(buffer.getvalue())
        else:
            ready = _sqlite_ready(frame, target)
            placeholders = ", ".join("?" for _ in names)
            cursor.executemany(
                f'INSERT INTO "{name}" ({quoted}) VALUES ({placeholders})', ready.rows()
            )


def stage_duplicates(batch_id: int, target: Target) -> list[tuple[int, str, int]]:
    """Rows repeating an earlier row's natural key in the same file:
    (row, the key as the file wrote it, the first row with that key)."""
    name = stage_name(batch_id)
    key = ", ".join(f'"{k}"' for k in target.key)
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT "_row", "_key", first FROM (SELECT "_row", "_key", ROW_NUMBER() OVER '
            f'(PARTITION BY {key} ORDER BY "_row") AS n, MIN("_row") OVER (PARTITION BY {key}) '
            f'AS first FROM "{name}") d WHERE n > 1 ORDER BY "_row"'
        )
        return [(int(row), str(text), int(first)) for row, text, first in cursor.fetchall()]


def stage_delete_rows(batch_id: int, rows: Sequence[int]) -> None:
    if not rows:
        return
    name = stage_name(batch_id)
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, len(rows), 500):
            part = list(rows[start : start + 500])
            marks = ", ".join(["%s"] * len(part))
            cursor.execute(f'DELETE FROM "{name}" WHERE "_row" IN ({marks})', part)


@dataclass(frozen=True)
class Published:
    inserted: int
    updated: int
    unchanged: int


def stage_count(batch_id: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT COUNT(*) FROM "{stage_name(batch_id)}"')
        return int(cursor.fetchone()[0])


def existing_count(batch_id: int, target: Target) -> int:
    """Staged rows whose natural key already exists in the target."""
    name = stage_name(batch_id)
    join = " AND ".join(f't."{k}" = s."{k}"' for k in target.key)
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT COUNT(*) FROM "{name}" s JOIN "{target.table}" t ON {join}')
        return int(cursor.fetchone()[0])


def _changed(target: Target, mine: str, theirs: str) -> str:
    """SQL: the row ``mine`` of the target differs from ``theirs`` in some value column."""
    values = target.value_columns
    if is_postgres():
        left = ", ".join(f'{mine}."{n}"' for n in values)
        right = ", ".join(f'{theirs}."{n}"' for n in values)
        return f"({left}) IS DISTINCT FROM ({right})"
    return "NOT (" + " AND ".join(f'{mine}."{n}" IS {theirs}."{n}"' for n in values) + ")"


def stage_changes(
    batch_id: int, target: Target, *, day: str, time: str | None = None
) -> list[tuple[int, dt.date, dt.datetime | None, dt.datetime | None]]:
    """What publishing will really change, per program and ``day``: the rows it inserts or
    updates (their new values) and, for updated rows, the values they replace. With ``time``,
    the earliest and latest such time on that day. A re-imported file changes nothing, so it
    touches no day."""
    name = stage_name(batch_id)
    join = " AND ".join(f't."{k}" = s."{k}"' for k in target.key)
    changed = _changed(target, "t", "s")
    times = f', s."{time}"' if time else ", NULL"
    old_times = f', t."{time}"' if time else ", NULL"
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT p, d, MIN(w), MAX(w) FROM (SELECT s.program_id AS p, s."{day}" AS d'
            f'{times} AS w FROM "{name}" s LEFT JOIN "{target.table}" t ON {join} '
            f'WHERE t."{target.key[0]}" IS NULL OR {changed} '
            f'UNION ALL SELECT t.program_id, t."{day}"{old_times} FROM "{name}" s '
            f'JOIN "{target.table}" t ON {join} WHERE {changed}) c '
            "WHERE p IS NOT NULL AND d IS NOT NULL GROUP BY p, d ORDER BY p, d"
        )
        return [
            (int(p), _as_date(d), _as_time(lo), _as_time(hi)) for p, d, lo, hi in cursor.fetchall()
        ]


def _as_date(value: object) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def _as_time(value: object) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return dt.datetime.fromisoformat(str(value)).replace(tzinfo=dt.UTC)


def publish(batch_id: int, target: Target) -> Published:
    """Upsert the staged rows into the target in the current transaction; a row whose values
    are all unchanged is not written at all (so re-importing a file changes nothing)."""
    name = stage_name(batch_id)
    staged = stage_count(batch_id)
    existing = existing_count(batch_id, target)
    columns = ", ".join(f'"{n}"' for n in target.names)
    key = ", ".join(f'"{k}"' for k in target.key)
    assignments = ", ".join(f'"{n}" = excluded."{n}"' for n in target.names if n not in target.key)
    table = f'"{target.table}"'
    changed = _changed(target, table, "excluded")
    with connection.cursor() as cursor:
        # "WHERE true": SQLite would otherwise read ON CONFLICT as a join's ON.
        cursor.execute(
            f'INSERT INTO {table} ({columns}) SELECT {columns} FROM "{name}" WHERE true '
            f"ON CONFLICT ({key}) DO UPDATE SET {assignments} WHERE {changed}"
        )
        written = max(cursor.rowcount, 0)
    inserted = staged - existing
    updated = written - inserted
    return Published(inserted=inserted, updated=updated, unchanged=existing - updated)
