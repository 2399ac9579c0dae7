"""Rebuilding the rollup tables from the facts, one program and range of local days at a time.

A rebuild deletes the range's rows and inserts them again with one ``INSERT ... SELECT ...
GROUP BY`` per table, inside one transaction, so a reader sees the old rows or the new ones and
never half. The SQL is built from the measure expressions in ``measures.py`` and constant table
names; values (program id, dates, thresholds) are always parameters.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from coachloop.metrics.measures import MEASURE_NAMES, MEASURES
from coachloop.metrics.models import ExclusionKind

_MEASURE_COLUMNS = ", ".join(MEASURE_NAMES)
_MEASURE_SUMS = ", ".join(f"SUM({name})" for name in MEASURE_NAMES)


@dataclass(frozen=True)
class DayRange:
    program_id: int
    start: dt.date
    end: dt.date  # inclusive


def _exclusion_sql(program_id: int) -> tuple[str, str, list[Any], list[Any]]:
    """The ``excluded`` flag of a contact and of an activity day under the exclusions in force,
    with their parameters. A constant 0 when the program has none, which is the usual case."""
    from coachloop.metrics.models import Exclusion

    in_force = Exclusion.objects.in_force().filter(program_id=program_id)
    if not in_force.exists():
        return "0", "0", [], []
    contact_sql = (
        "CASE WHEN EXISTS (SELECT 1 FROM metrics_exclusion e WHERE e.program_id = i.program_id "
        "AND e.reverted_at IS NULL AND e.kind IN (%s, %s) "
        'AND i.local_date BETWEEN e.start AND e."end" '
        "AND (e.kind = %s OR e.queue = i.queue)) "
        "OR EXISTS (SELECT 1 FROM metrics_excludedcontact c JOIN metrics_exclusion e "
        "ON e.id = c.exclusion_id WHERE c.interaction_id = i.id AND e.reverted_at IS NULL) "
        "THEN 1 ELSE 0 END"
    )
    contact_params: list[Any] = [ExclusionKind.DAY, ExclusionKind.QUEUE, ExclusionKind.DAY]
    activity_sql = (
        "CASE WHEN EXISTS (SELECT 1 FROM metrics_exclusion e WHERE e.program_id = d.program_id "
        "AND e.reverted_at IS NULL AND e.kind = %s "
        'AND d.date BETWEEN e.start AND e."end") THEN 1 ELSE 0 END'
    )
    return contact_sql, activity_sql, contact_params, [ExclusionKind.DAY]


def _daily_inserts(program_id: int, start: dt.date, end: dt.date) -> list[tuple[str, list[Any]]]:
    contact_excluded, activity_excluded, contact_params, activity_params = _exclusion_sql(
        program_id
    )
    contact_values = ", ".join(f"{m.contact_sql} AS {m.name}" for m in MEASURES)
    activity_values = ", ".join(f"{m.activity_sql} AS {m.name}" for m in MEASURES)
    evaluation_values = ", ".join(f"{m.evaluation_sql} AS {m.name}" for m in MEASURES)
    dims = "program_id, date, team_id, agent_id, queue, channel, call_type, excluded"
    # A QA evaluation counts on its contact's day, agent, team and dimensions, so it shares
    # the contact's rollup row (one GROUP BY over both).
    contacts = (
        f"INSERT INTO metrics_dailyrollup ({dims}, {_MEASURE_COLUMNS}) "
        f"SELECT {dims}, {_MEASURE_SUMS} FROM ("
        "SELECT i.program_id, i.local_date AS date, i.team_id, i.agent_id, i.queue, i.channel, "
        f"i.call_type, ({contact_excluded}) = 1 AS excluded, {contact_values} "
        "FROM interactions_interaction i JOIN org_program p ON p.id = i.program_id "
        "WHERE i.program_id = %s AND i.local_date BETWEEN %s AND %s "
        "UNION ALL "
        "SELECT i.program_id, i.local_date AS date, i.team_id, i.agent_id, i.queue, i.channel, "
        f"i.call_type, ({contact_excluded}) = 1 AS excluded, {evaluation_values} "
        "FROM quality_evaluation e JOIN interactions_interaction i ON i.id = e.interaction_id "
        "WHERE i.program_id = %s AND i.local_date BETWEEN %s AND %s "
        "AND e.status = 'submitted' AND e.calibration_id IS NULL AND e.score IS NOT NULL"
        f") facts GROUP BY {dims}"
    )
    activity = (
        f"INSERT INTO metrics_dailyrollup ({dims}, {_MEASURE_COLUMNS}) "
        f"SELECT {dims}, {_MEASURE_SUMS} FROM ("
        "SELECT d.program_id, d.date, d.team_id, d.agent_id, '' AS queue, '' AS channel, "
        f"'' AS call_type, ({activity_excluded}) = 1 AS excluded, {activity_values} "
        "FROM interactions_agentday d WHERE d.program_id = %s AND d.date BETWEEN %s AND %s"
        f") facts GROUP BY {dims}"
    )
    return [
        (
            contacts,
            [*contact_params, program_id, start, end, *contact_params, program_id, start, end],
        ),
        (activity, [*activity_params, program_id, start, end]),
    ]


def _coarse_inserts(program_id: int, start: dt.date, end: dt.date) -> list[tuple[str, list[Any]]]:
    agent_dims = "program_id, date, team_id, agent_id"
    program_dims = "program_id, date, queue, channel, call_type, excluded"
    where = "program_id = %s AND date BETWEEN %s AND %s"
    return [
        (
            f"INSERT INTO metrics_agentdaily ({agent_dims}, {_MEASURE_COLUMNS}) "
            f"SELECT {agent_dims}, {_MEASURE_SUMS} FROM metrics_dailyrollup "
            f"WHERE {where} AND agent_id IS NOT NULL AND NOT excluded "
            f"GROUP BY {agent_dims}",
            [program_id, start, end],
        ),
        (
            f"INSERT INTO metrics_programdaily ({program_dims}, {_MEASURE_COLUMNS}) "
            f"SELECT {program_dims}, {_MEASURE_SUMS} FROM metrics_dailyrollup "
            f"WHERE {where} GROUP BY {program_dims}",
            [program_id, start, end],
        ),
    ]


def range_rebuild(days: DayRange) -> None:
    """Replace every rollup row of the program's days in ``days``."""
    params: list[Any] = [days.program_id, days.start, days.end]
    where = "WHERE program_id = %s AND date BETWEEN %s AND %s"
    with transaction.atomic(), connection.cursor() as cursor:
        for table in ("metrics_dailyrollup", "metrics_agentdaily", "metrics_programdaily"):
            cursor.execute(f"DELETE FROM {table} {where}", params)
        for sql, values in _daily_inserts(days.program_id, days.start, days.end):
            cursor.execute(sql, values)
        for sql, values in _coarse_inserts(days.program_id, days.start, days.end):
            cursor.execute(sql, values)


def contiguous_ranges(
    program_id: int, dates: list[dt.date], *, gap_days: int = 3
) -> list[DayRange]:
    """Group marked days into few ranges: rebuilding a couple of unmarked days in between is
    cheaper than another round of statements."""
    ranges: list[DayRange] = []
    for day in sorted(set(dates)):
        if ranges and (day - ranges[-1].end).days <= gap_days:
            ranges[-1] = DayRange(program_id, ranges[-1].start, day)
        else:
            ranges.append(DayRange(program_id, day, day))
    return ranges


def running_totals_rebuild(program_id: int, since: dt.date) -> None:
    """Rebuild the program's running totals from ``since`` on: the totals before it are the
    base, each later day adds that day's sums (a window function per agent and per team, and
    per agent or team and call type)."""
    with transaction.atomic(), connection.cursor() as cursor:
        for table, insert in (
            ("metrics_runningtotal", _running_insert),
            ("metrics_calltyperunningtotal", _call_type_running_insert),
        ):
            cursor.execute(
                f"SELECT MAX(date) FROM {table} WHERE program_id = %s AND date < %s",
                [program_id, since],
            )
            base_day = cursor.fetchone()[0]
            cursor.execute(
                f"DELETE FROM {table} WHERE program_id = %s AND date >= %s",
                [program_id, since],
            )
            for key in ("agent_id", "team_id"):
                sql, params = insert(key, program_id, since, base_day)
                cursor.execute(sql, params)


def _running_insert(
    key: str, program_id: int, since: dt.date, base_day: dt.date | None
) -> tuple[str, list[Any]]:
    other = "team_id" if key == "agent_id" else "agent_id"
    totals = ", ".join(
        f"COALESCE(b.{name}, 0) + SUM(COALESCE(a.{name}, 0)) OVER running" for name in MEASURE_NAMES
    )
    sums = ", ".join(f"SUM({name}) AS {name}" for name in MEASURE_NAMES)
    # Every day with activity in the program, for every agent (team) from their first day on.
    sql = (
        f"INSERT INTO metrics_runningtotal (program_id, date, {key}, {other}, {_MEASURE_COLUMNS}) "
        f"SELECT %s, g.date, g.{key}, NULL, {totals} FROM ("
        f"SELECT f.{key}, d.date FROM "
        f"(SELECT {key}, MIN(date) AS first FROM metrics_agentdaily "
        f"WHERE program_id = %s AND {key} IS NOT NULL GROUP BY {key}) f "
        "JOIN (SELECT DISTINCT date FROM metrics_agentdaily "
        "WHERE program_id = %s AND date >= %s) d "
        "ON d.date >= f.first"
        ") g "
        f"LEFT JOIN (SELECT {key}, date, {sums} FROM metrics_agentdaily "
        f"WHERE program_id = %s AND date >= %s AND {key} IS NOT NULL GROUP BY {key}, date) a "
        f"ON a.{key} = g.{key} AND a.date = g.date "
        "LEFT JOIN metrics_runningtotal b ON b.program_id = %s "
        f"AND b.{key} = g.{key} AND b.date = %s "
        f"WINDOW running AS (PARTITION BY g.{key} ORDER BY g.date ROWS UNBOUNDED PRECEDING)"
    )
    params: list[Any] = [program_id, program_id, program_id, since, program_id, since]
    params += [program_id, base_day]
    return sql, params


def _call_type_running_insert(
    key: str, program_id: int, since: dt.date, base_day: dt.date | None
) -> tuple[str, list[Any]]:
    other = "team_id" if key == "agent_id" else "agent_id"
    totals = ", ".join(
        f"COALESCE(b.{name}, 0) + SUM(COALESCE(a.{name}, 0)) OVER running" for name in MEASURE_NAMES
    )
    sums = ", ".join(f"SUM({name}) AS {name}" for name in MEASURE_NAMES)
    # Every day with rollup rows in the program, for every (agent or team, call type) from the
    # first day they have one on: the day's sums are then the difference of two rows.
    sql = (
        "INSERT INTO metrics_calltyperunningtotal "
        f"(program_id, date, {key}, {other}, call_type, {_MEASURE_COLUMNS}) "
        f"SELECT %s, g.date, g.{key}, NULL, g.call_type, {totals} FROM ("
        f"SELECT f.{key}, f.call_type, d.date FROM "
        f"(SELECT {key}, call_type, MIN(date) AS first FROM metrics_dailyrollup "
        f"WHERE program_id = %s AND {key} IS NOT NULL AND NOT excluded "
        f"GROUP BY {key}, call_type) f "
        "JOIN (SELECT DISTINCT date FROM metrics_dailyrollup "
        "WHERE program_id = %s AND date >= %s) d "
        "ON d.date >= f.first"
        ") g "
        f"LEFT JOIN (SELECT {key}, call_type, date, {sums} FROM metrics_dailyrollup "
        f"WHERE program_id = %s AND date >= %s AND {key} IS NOT NULL AND NOT excluded "
        f"GROUP BY {key}, call_type, date) a "
        f"ON a.{key} = g.{key} AND a.call_type = g.call_type AND a.date = g.date "
        "LEFT JOIN metrics_calltyperunningtotal b ON b.program_id = %s "
        f"AND b.{key} = g.{key} AND b.call_type = g.call_type AND b.date = %s "
        f"WINDOW running AS (PARTITION BY g.{key}, g.call_type ORDER BY g.date "
        "ROWS UNBOUNDED PRECEDING)"
    )
    params: list[Any] = [program_id, program_id, program_id, since, program_id, since]
    params += [program_id, base_day]
    return sql, params
