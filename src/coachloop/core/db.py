"""What the database needs beyond the ORM: keeping the query planner's statistics current."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection


def planner_statistics_refresh(tables: Sequence[str]) -> None:
    """ANALYZE the tables after a bulk change, so the planner picks the right index.

    SQLite keeps no statistics unless asked: without them it reads a team's year of rollups
    through the (program, date) index, every agent of the program, instead of the (agent, date)
    one (measured: 64 ms against 26 ms at 1M contacts). PostgreSQL's autovacuum gets there
    eventually; after a large rebuild, now is better."""
    with connection.cursor() as cursor:
        for table in tables:
            # Table names come from models' _meta, never from input.
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
