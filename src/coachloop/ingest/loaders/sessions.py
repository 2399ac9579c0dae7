"""Coaching sessions held elsewhere (CONTRACTS.md, "sessions"): one row per session,
``session_id, agent, lead, started_at, type, focus_skill, focus_metric, notes``.

A session belongs to its agent's program: the program of the team the agent was on that day,
else of their agent role (the latest one still held, else the latest). Its local day and its
team at the time follow from that program's time zone. The coach (``lead``) is any person of the
roster. The focus skill is a key of the skills catalog, the focus metric a metric of the program.
Rows go through the staged pipeline like contacts; publishing is one upsert on the natural key
(program, source, session_id), which leaves identical sessions alone."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import polars as pl
from django.db import connection
from django.utils import timezone

from coachloop.coaching.models import CoachingSession
from coachloop.ingest.frames import (
    ROW,
    Problems,
    canonical_text,
    label_of,
    parse_timestamps,
    problem_rows,
    require_values,
    typed_fields,
)
from coachloop.ingest.mapping import Mapping
from coachloop.ingest.references import (
    ImportContext,
    attach_team_at_the_time,
    local_dates,
    resolve_people,
)
from coachloop.ingest.staging import (
    Column,
    Published,
    Target,
    is_postgres,
    stage_count,
    stage_name,
)
from coachloop.learning.models import Skill
from coachloop.metrics.selectors import definitions_for
from coachloop.org.models import Role, RoleAssignment, Team

KIND = "sessions"
LISTED = 12  # known keys listed in a message

TARGET = Target(
    table=CoachingSession._meta.db_table,
    key=("program_id", "source", "external_id"),
    columns=(
        Column("program_id", "int"),
        Column("source", "text"),
        Column("external_id", "text"),
        Column("agent_id", "int"),
        Column("lead_id", "int"),
        Column("team_id", "int"),
        Column("started_at", "timestamp"),
        Column("local_date", "date"),
        Column("type", "text"),
        Column("focus_skill_id", "int"),
        Column("focus_metric", "text"),
        Column("notes", "text"),
        Column("batch_id", "int"),
    ),
    text_columns_not_null=("source", "external_id", "type", "focus_metric", "notes"),
)


def natural_key_condition(table: str = "") -> str:
    """The natural key is unique only for sessions with an external id (those made in the app
    have none): SQL statements that use its index name the index's condition, exactly as the
    migration wrote it, or SQLite and PostgreSQL will not use it."""
    column = f'{table}."external_id"' if table else '"external_id"'
    return f"NOT ({column} = '')"


DUPLICATE_EXPECTED = "a session id used once per program in the file (row {first} has it too)"


def duplicate_column(mapping: Mapping) -> str:
    return label_of(mapping, "session_id")


def prepare(
    frame: pl.DataFrame,
    mapping: Mapping,
    context: ImportContext,
    problems: Problems,
    people: pl.DataFrame,
    plausible_s: float,
) -> pl.DataFrame:
    """Check one chunk and return the rows ready to stage."""

    def label(name: str) -> str:
        return label_of(mapping, name)

    text = canonical_text(frame, mapping, KIND)
    typed = typed_fields(text, mapping, KIND, problems)
    rows = text.with_columns(typed["type"].alias("type"))
    require_values(
        rows,
        mapping,
        problems,
        {
            "session_id": "the session's id",
            "agent": "the coached agent's id",
            "lead": "the coach's id",
            "started_at": "when the session started",
            "type": "a session type: one_to_one, side_by_side or huddle",
        },
    )
    rows = resolve_people(rows, "agent", context, people)
    rows = resolve_people(rows, "lead", context, people)
    for column in ("agent", "lead"):
        _report_unknown_people(rows, column, label(column), problems)
    problems.add(
        problem_rows(
            rows,
            pl.col("agent_id").is_not_null() & (pl.col("lead_id") == pl.col("agent_id")),
            column=label("lead"),
            value=pl.col("lead"),
            expected="a coach other than the agent",
        )
    )
    rows = _attach_program(rows, mapping, context, problems)
    rows = _resolve_skills(rows, label("focus_skill"), problems)
    rows = _check_metrics(rows, context, label("focus_metric"), problems)
    return rows.select(
        pl.col(ROW),
        pl.col("program_id"),
        pl.lit(context.source).alias("source"),
        pl.col("session_id").alias("external_id"),
        pl.col("agent_id"),
        pl.col("lead_id"),
        pl.col("team_id"),
        pl.col("started").alias("started_at"),
        pl.col("local_date"),
        pl.col("type"),
        pl.col("focus_skill_id"),
        pl.col("focus_metric").fill_null(""),
        pl.col("notes").fill_null(""),
        pl.lit(context.batch_id, dtype=pl.Int64).alias("batch_id"),
        pl.col("session_id").alias("_key"),
    )


def _report_unknown_people(rows: pl.DataFrame, column: str, label: str, problems: Problems) -> None:
    named = pl.col(column).is_not_null()
    problems.add(
        problem_rows(
            rows,
            named & pl.col(f"{column}_ambiguous"),
            column=label,
            value=pl.col(column),
            expected="an id that names one person (it names several in different systems: "
            "give the source, --source or the mapping's [source] name)",
        )
    )
    problems.add(
        problem_rows(
            rows,
            named & pl.col(f"{column}_id").is_null() & ~pl.col(f"{column}_ambiguous"),
            column=label,
            value=pl.col(column),
            expected="a person in the roster (import the roster first)",
        )
    )


def _attach_program(
    rows: pl.DataFrame, mapping: Mapping, context: ImportContext, problems: Problems
) -> pl.DataFrame:
    """Add ``program_id``, ``started`` (UTC), ``local_date`` and ``team_id``.

    The program needs the day (the team the agent was on then) and the day needs the program's
    time zone, so the day is first found in the zone of the agent's role's program, then read
    again in the zone of the program that gives: the two differ only for an agent of several
    programs in different zones, on the days they were on a team of the other one."""
    label = label_of(mapping, "agent")
    spec = mapping.columns.get("started_at")
    zones = {program.pk: program.timezone for program in context.programs.values()}
    team_programs = dict(Team.objects.values_list("pk", "program_id"))
    rows = rows.with_columns(
        pl.col("agent_id")
        .replace_strict(_role_programs(rows["agent_id"]), default=None, return_dtype=pl.Int64)
        .alias("_role_program")
    )
    problems.add(
        problem_rows(
            rows,
            pl.col("agent_id").is_not_null() & pl.col("_role_program").is_null(),
            column=label,
            value=pl.col("agent"),
            expected="an agent of a program (this person has no agent role)",
        )
    )

    def read_times(frame: pl.DataFrame, program: str, into: Problems) -> pl.DataFrame:
        zone = pl.col(program).replace_strict(zones, default=None, return_dtype=pl.Utf8)
        work = frame.with_columns(
            (pl.lit(mapping.timezone) if mapping.timezone else zone).alias("_zone"),
            zone.alias("_program_zone"),
        )
        started = parse_timestamps(
            work,
            "started_at",
            fmt=spec.format if spec is not None else None,
            zone_column="_zone",
            problems=into,
            label=label_of(mapping, "started_at"),
            now=context.now,
        )
        work = work.with_columns(started.alias("started"))
        work = work.with_columns(local_dates(work["started"], work["_program_zone"]))
        return attach_team_at_the_time(work, "agent_id", "local_date").with_columns(
            pl.col("team_id")
            .replace_strict(team_programs, default=None, return_dtype=pl.Int64)
            .alias("_team_program")
        )

    first = read_times(rows, "_role_program", Problems())  # its problems are found again below
    rows = rows.join(first.select(ROW, "_team_program"), on=ROW, how="left").with_columns(
        pl.coalesce(pl.col("_team_program"), pl.col("_role_program")).alias("program_id")
    )
    rows = read_times(rows.drop("_team_program"), "program_id", problems)
    # Near midnight the second reading may fall on a day of another program's team.
    rows = rows.with_columns(
        pl.when(pl.col("_team_program") == pl.col("program_id"))
        .then(pl.col("team_id"))
        .otherwise(pl.lit(None, dtype=pl.Int64))
        .alias("team_id")
    )
    if context.allowed_program_ids is not None:
        problems.add(
            problem_rows(
                rows,
                pl.col("program_id").is_not_null()
                & ~pl.col("program_id").is_in(list(context.allowed_program_ids)),
                column=label,
                value=pl.col("agent"),
                expected="an agent of a program you may import for",
            )
        )
    return rows


def _role_programs(agent_ids: pl.Series) -> dict[int, int]:
    """Each agent's program by their agent roles: the latest one still held, else the latest."""
    ids = [int(agent_id) for agent_id in agent_ids.drop_nulls().unique().to_list()]
    roles = RoleAssignment.objects.filter(role=Role.AGENT, person_id__in=ids).values_list(
        "person_id", "program_id", "ended_on", "created_at", "pk"
    )
    programs: dict[int, int] = {}
    for person_id, program_id, _, _, _ in sorted(
        roles, key=lambda role: (role[2] is None, role[3], role[4])
    ):
        programs[person_id] = program_id
    return programs


def _listed(values: Iterable[str]) -> str:
    items = list(values)
    shown = ", ".join(items[:LISTED])
    return shown + (f" and {len(items) - LISTED} more" if len(items) > LISTED else "")


def _resolve_skills(rows: pl.DataFrame, label: str, problems: Problems) -> pl.DataFrame:
    """Add ``focus_skill_id``: the catalog's skill with that key."""
    skills = dict(Skill.objects.values_list("key", "pk"))
    rows = rows.with_columns(
        pl.col("focus_skill")
        .replace_strict(skills, default=None, return_dtype=pl.Int64)
        .alias("focus_skill_id")
    )
    problems.add(
        problem_rows(
            rows,
            pl.col("focus_skill").is_not_null() & pl.col("focus_skill_id").is_null(),
            column=label,
            value=pl.col("focus_skill"),
            expected="the key of a skill in the catalog ("
            + (_listed(sorted(skills)) or "none yet: import a scorecard with its skills first")
            + ")",
        )
    )
    return rows


def _check_metrics(
    rows: pl.DataFrame, context: ImportContext, label: str, problems: Problems
) -> pl.DataFrame:
    """A focus metric must be one of the program's metrics (by slug)."""
    named = rows.filter(pl.col("focus_metric").is_not_null() & pl.col("program_id").is_not_null())
    programs = {program.pk: program for program in context.programs.values()}
    for program_id in named["program_id"].unique().to_list():
        program = programs[int(program_id)]
        slugs = [definition.slug for definition in definitions_for(program)]
        problems.add(
            problem_rows(
                named,
                (pl.col("program_id") == program_id) & ~pl.col("focus_metric").is_in(slugs),
                column=label,
                value=pl.col("focus_metric"),
                expected=f"a metric of program {program.code} ({_listed(slugs)})",
            )
        )
    return rows


def publish(*, batch: Any, target: Target) -> Published:
    """Upsert the staged sessions in the current transaction: a session whose values all match
    the stored one is not written at all (and keeps its batch); a changed one is rewritten."""
    stage = stage_name(batch.pk)
    staged = stage_count(batch.pk)
    table = f'"{target.table}"'
    join = " AND ".join(f't."{k}" = s."{k}"' for k in target.key)
    with connection.cursor() as cursor:
        # The condition lets SQLite find each staged key in the (partial) natural key index;
        # without it, it scans the program's sessions for every staged row.
        cursor.execute(
            f'SELECT COUNT(*) FROM "{stage}" s JOIN {table} t ON {join} '
            f"WHERE {natural_key_condition('t')}"
        )
        existing = int(cursor.fetchone()[0])
    names = target.names
    columns = ", ".join(f'"{name}"' for name in names)
    updates = [name for name in names if name not in target.key]
    assignments = ", ".join(f'"{name}" = excluded."{name}"' for name in updates)
    values = target.value_columns
    if is_postgres():
        changed = (
            "("
            + ", ".join(f'{table}."{name}"' for name in values)
            + ") IS DISTINCT FROM ("
            + ", ".join(f'excluded."{name}"' for name in values)
            + ")"
        )
    else:
        changed = "NOT (" + " AND ".join(f'{table}."{n}" IS excluded."{n}"' for n in values) + ")"
    key = ", ".join(f'"{name}"' for name in target.key)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        # "WHERE true": SQLite would otherwise read ON CONFLICT as a join's ON.
        cursor.execute(
            f'INSERT INTO {table} ({columns}, "created_at", "updated_at") '
            f'SELECT {columns}, %s, %s FROM "{stage}" WHERE true '
            f"ON CONFLICT ({key}) WHERE {natural_key_condition()} "
            f'DO UPDATE SET {assignments}, "updated_at" = excluded."updated_at" WHERE {changed}',
            [now, now],
        )
        written = max(cursor.rowcount, 0)
    inserted = staged - existing
    updated = written - inserted
    return Published(inserted=inserted, updated=updated, unchanged=existing - updated)
