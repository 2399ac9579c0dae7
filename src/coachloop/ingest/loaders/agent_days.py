"""Agent days (WFM activity): one row per agent and date, attributed to the agent's team and
program on that date."""

from __future__ import annotations

import polars as pl

from coachloop.ingest.frames import (
    REQUIRED,
    ROW,
    Problems,
    canonical_text,
    label_of,
    plausibility_warnings,
    problem_rows,
    require_values,
    typed_fields,
)
from coachloop.ingest.mapping import Mapping
from coachloop.ingest.references import (
    ImportContext,
    attach_team_at_the_time,
    report_unknown_people,
    resolve_people,
)
from coachloop.ingest.staging import Column, Target
from coachloop.org.models import Role, RoleAssignment, Team

KIND = "agent-days"
DURATIONS = ("scheduled_s", "logged_in_s", "productive_s", "adherent_s")
# A working day is long: the contact plausibility limit (4 h) would flag every full shift.
DAY_PLAUSIBLE_S = 16 * 3600.0

TARGET = Target(
    table="interactions_agentday",
    key=("agent_id", "date"),
    columns=(
        Column("agent_id", "int"),
        Column("date", "date"),
        Column("program_id", "int"),
        Column("team_id", "int"),
        Column("scheduled_s", "float"),
        Column("logged_in_s", "float"),
        Column("productive_s", "float"),
        Column("adherent_s", "float"),
        Column("absent", "bool"),
        Column("batch_id", "int"),
    ),
)


def prepare(
    frame: pl.DataFrame,
    mapping: Mapping,
    context: ImportContext,
    problems: Problems,
    people: pl.DataFrame,
    plausible_s: float,
) -> pl.DataFrame:
    text = canonical_text(frame, mapping, KIND)
    typed = typed_fields(text, mapping, KIND, problems)
    rows = text.with_columns(**{f"{name}__v": expr for name, expr in typed.items()})
    require_values(rows, mapping, problems, {"agent": REQUIRED, "date": REQUIRED})
    rows = resolve_people(rows, "agent", context, people)
    report_unknown_people(rows, "agent", label_of(mapping, "agent"), problems, needed=pl.lit(True))
    rows = attach_team_at_the_time(
        rows.with_columns(pl.col("date__v").alias("day")), "agent_id", "day"
    )
    rows = _attach_program(rows, context, problems, label_of(mapping, "agent"))
    plausibility_warnings(
        rows.select(ROW, *[pl.col(f"{d}__v").alias(d) for d in DURATIONS]),
        {d: label_of(mapping, d) for d in DURATIONS},
        DAY_PLAUSIBLE_S,
        problems,
    )
    return rows.select(
        pl.col(ROW),
        pl.col("agent_id"),
        pl.col("day").alias("date"),
        pl.col("program_id"),
        pl.col("team_id"),
        *[pl.col(f"{d}__v").alias(d) for d in DURATIONS],
        pl.col("absent__v").fill_null(False).alias("absent"),
        pl.lit(context.batch_id, dtype=pl.Int64).alias("batch_id"),
        pl.format("{} {}", pl.col("agent"), pl.col("date")).alias("_key"),
    )


DUPLICATE_EXPECTED = "one row per agent and date (row {first} has the same)"


def duplicate_column(mapping: Mapping) -> str:
    return f"{label_of(mapping, 'agent')}, {label_of(mapping, 'date')}"


def _attach_program(
    rows: pl.DataFrame, context: ImportContext, problems: Problems, label: str
) -> pl.DataFrame:
    """The program of the agent's team that day, else of their (latest) agent role."""
    team_programs = dict(Team.objects.values_list("pk", "program_id"))
    role_programs: dict[int, int] = {}
    agent_ids = rows["agent_id"].drop_nulls().unique().to_list()
    for person_id, program_id in (
        RoleAssignment.objects.filter(role=Role.AGENT, person_id__in=agent_ids)
        .order_by("created_at")
        .values_list("person_id", "program_id")
    ):
        role_programs[person_id] = program_id
    rows = rows.with_columns(
        pl.coalesce(
            pl.col("team_id").replace_strict(team_programs, default=None, return_dtype=pl.Int64),
            pl.col("agent_id").replace_strict(role_programs, default=None, return_dtype=pl.Int64),
        ).alias("program_id")
    )
    problems.add(
        problem_rows(
            rows,
            pl.col("agent_id").is_not_null() & pl.col("program_id").is_null(),
            column=label,
            value=pl.col("agent"),
            expected="an agent of a program (this person has no agent role)",
        )
    )
    if context.allowed_program_ids is not None:
        outside = pl.col("program_id").is_not_null() & ~pl.col("program_id").is_in(
            list(context.allowed_program_ids)
        )
        problems.add(
            problem_rows(
                rows,
                outside,
                column=label,
                value=pl.col("agent"),
                expected="an agent of a program you may import for",
            )
        )
    return rows
