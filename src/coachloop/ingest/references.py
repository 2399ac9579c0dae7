"""Resolving what rows name: programs (and whether the importer may write to them), people by
their external ids in each source system, the team an agent was on that day, customer hashes."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from django.conf import settings
from django.db import connection

from coachloop.ingest.frames import CODE_PATTERN, ROW, Problems, problem_rows
from coachloop.org import services as org
from coachloop.org.models import ExternalId, Membership, Person, Program, Role


@dataclass
class ImportContext:
    kind: str
    source: str
    batch_id: int
    actor: Any  # the importing user, or None for the installation
    allowed_program_ids: frozenset[int] | None  # None: the installation or an org admin
    may_create_programs: bool
    create_missing_agents: bool
    dry_run: bool
    timezone: str | None
    now: dt.datetime
    program_timezones: dict[str, str] = field(default_factory=dict)
    programs: dict[str, Program] = field(default_factory=dict)
    # Programs to create when the batch publishes (code -> time zone), and what was created.
    pending_programs: dict[str, str] = field(default_factory=dict)
    created_programs: list[str] = field(default_factory=list)
    created_agents: list[str] = field(default_factory=list)
    # People whose teams a roster changed: their facts are re-attributed to the right team.
    moved_people: set[int] = field(default_factory=set)
    touched_program_ids: set[int] = field(default_factory=set)


def load_programs(context: ImportContext) -> None:
    context.programs = {program.code: program for program in Program.objects.all()}


def resolve_programs(
    frame: pl.DataFrame,
    context: ImportContext,
    problems: Problems,
    *,
    label: str,
    mapped_constant: str | None,
) -> pl.DataFrame:
    """Add ``program_id``, ``_zone`` (for naive times), ``_program_zone`` and ``_program_code``
    (a program to create when the batch publishes) for each row.

    An unknown program is an error, unless ``--create-missing-agents`` and the mapping names it
    as a constant: then an org admin's import creates it when it publishes (so a rejected or
    dry run creates nothing), with the mapping's time zone, else UTC. A program outside the
    importer's scope is an error naming it."""
    codes = [
        code
        for code in frame["program"].drop_nulls().unique().to_list()
        if code not in context.programs
    ]
    for code in codes:
        if (
            context.create_missing_agents
            and code == mapped_constant
            and context.may_create_programs
            and re.fullmatch(CODE_PATTERN, code)
        ):
            context.pending_programs[code] = context.timezone or "UTC"
    known = {code: program.pk for code, program in context.programs.items()}
    program_zones = {code: program.timezone for code, program in context.programs.items()}
    program_zones.update(context.pending_programs)
    naive_zones = {code: context.timezone or zone for code, zone in program_zones.items()}
    pending = list(context.pending_programs)
    frame = frame.with_columns(
        pl.when(pl.col("program").is_in(pending))
        .then(pl.col("program"))
        .otherwise(pl.lit(None, dtype=pl.Utf8))
        .alias("_program_code"),
        pl.col("program")
        .replace_strict(known, default=None, return_dtype=pl.Int64)
        .alias("program_id"),
        # Naive times are read in the mapping's time zone, else the program's; local days are
        # always the program's.
        pl.col("program")
        .replace_strict(naive_zones, default=None, return_dtype=pl.Utf8)
        .alias("_zone"),
        pl.col("program")
        .replace_strict(program_zones, default=None, return_dtype=pl.Utf8)
        .alias("_program_zone"),
    )
    present = pl.col("program").is_not_null()
    problems.add(
        problem_rows(
            frame,
            # A value that is not even a code was reported as such already.
            present
            & pl.col("program_id").is_null()
            & pl.col("_program_code").is_null()
            & pl.col("program").str.contains(CODE_PATTERN),
            column=label,
            value=pl.col("program"),
            expected="an existing program code (" + ", ".join(sorted(known)) + ")"
            if known
            else "an existing program code: none exist yet",
        )
    )
    problems.add(
        problem_rows(
            frame,
            ~present,
            column=label,
            value=pl.lit(None),
            expected="a program code (a column or a mapping constant)",
        )
    )
    if context.allowed_program_ids is not None:
        allowed = [code for code, pk in known.items() if pk in context.allowed_program_ids]
        outside = pl.col("program_id").is_not_null() & ~pl.col("program_id").is_in(
            list(context.allowed_program_ids)
        )
        problems.add(
            problem_rows(
                frame,
                outside,
                column=label,
                value=pl.col("program"),
                expected="a program you may import for: " + (", ".join(sorted(allowed)) or "none"),
            )
        )
    return frame


def external_id_frame() -> pl.DataFrame:
    rows = list(ExternalId.objects.values_list("source", "external_id", "person_id"))
    return pl.DataFrame(
        rows,
        schema={"source": pl.Utf8, "external_id": pl.Utf8, "person_id": pl.Int64},
        orient="row",
    )


def resolve_people(
    frame: pl.DataFrame, column: str, context: ImportContext, ids: pl.DataFrame
) -> pl.DataFrame:
    """Add ``<column>_id``: the person known by that id in the import's source, else the one
    person known by it in any source. Adds ``<column>_ambiguous`` for ids held by several."""
    own = ids.filter(pl.col("source") == context.source).select(
        pl.col("external_id").alias(column), pl.col("person_id").alias("_own")
    )
    anywhere = (
        ids.group_by("external_id")
        .agg(pl.col("person_id").n_unique().alias("_n"), pl.col("person_id").first().alias("_any"))
        .rename({"external_id": column})
    )
    joined = frame.join(own, on=column, how="left").join(anywhere, on=column, how="left")
    return joined.with_columns(
        pl.coalesce(pl.col("_own"), pl.when(pl.col("_n") == 1).then(pl.col("_any"))).alias(
            f"{column}_id"
        ),
        (pl.col("_own").is_null() & (pl.col("_n") > 1))
        .fill_null(False)
        .alias(f"{column}_ambiguous"),
    ).drop("_own", "_n", "_any")


def report_unknown_people(
    frame: pl.DataFrame, column: str, label: str, problems: Problems, *, needed: pl.Expr
) -> None:
    named = pl.col(column).is_not_null() & needed
    if "_new_agent" in frame.columns:
        named = named & pl.col("_new_agent").is_null()
    problems.add(
        problem_rows(
            frame,
            named & pl.col(f"{column}_ambiguous"),
            column=label,
            value=pl.col(column),
            expected="an id that names one person (it names several in "
            "different systems: set the mapping's source name)",
        )
    )
    problems.add(
        problem_rows(
            frame,
            named & pl.col(f"{column}_id").is_null() & ~pl.col(f"{column}_ambiguous"),
            column=label,
            value=pl.col(column),
            expected="a person in the roster (import the roster first, or "
            "use --create-missing-agents)",
        )
    )


def mark_missing_agents(frame: pl.DataFrame, column: str, context: ImportContext) -> pl.DataFrame:
    """Add ``_new_agent``: with ``--create-missing-agents``, the id of an agent nobody has yet,
    to create when the batch publishes (``create_pending``); null otherwise."""
    unknown = (
        pl.lit(context.create_missing_agents)
        & pl.col(column).is_not_null()
        & pl.col(f"{column}_id").is_null()
        & ~pl.col(f"{column}_ambiguous")
        & (pl.col("program_id").is_not_null() | pl.col("_program_code").is_not_null())
    )
    return frame.with_columns(
        pl.when(unknown)
        .then(pl.col(column))
        .otherwise(pl.lit(None, dtype=pl.Utf8))
        .alias("_new_agent")
    )


def create_pending(stage: str, context: ImportContext) -> None:
    """Inside the publishing transaction: create the programs and agents the staged rows wait
    for, and fill in their ids. Each new agent is an agent, with no team, of every program its
    rows name. A rejected batch or a dry run therefore creates nothing."""
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT DISTINCT "_program_code" FROM "{stage}" WHERE "_program_code" IS NOT NULL'
        )
        codes = sorted(code for (code,) in cursor.fetchall())
    for code in codes:
        program = org.program_create(
            code=code, name=code, timezone=context.pending_programs[code], by=context.actor
        )
        context.programs[code] = program
        context.created_programs.append(code)
        with connection.cursor() as cursor:
            cursor.execute(
                f'UPDATE "{stage}" SET program_id = %s WHERE "_program_code" = %s',
                [program.pk, code],
            )
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT "_new_agent", program_id, MIN("_row") FROM "{stage}" '
            'WHERE "_new_agent" IS NOT NULL GROUP BY "_new_agent", program_id ORDER BY 3'
        )
        wanted = cursor.fetchall()
    if not wanted:
        return
    programs = {program.pk: program for program in context.programs.values()}
    people: dict[str, Person] = {}
    for external_id, program_id, _ in wanted:
        program = programs[int(program_id)]
        person = people.get(external_id)
        if person is None:
            person = org.person_create(
                external_id=external_id,
                name=external_id,
                source=context.source,
                by=context.actor,
                program=program,
            )
            people[external_id] = person
            context.created_agents.append(external_id)
        org.role_grant(person=person, role=Role.AGENT, program=program, by=context.actor)
    ids = ExternalId._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f'UPDATE "{stage}" SET agent_id = (SELECT e.person_id FROM "{ids}" e '
            f'WHERE e.source = %s AND e.external_id = "{stage}"."_new_agent") '
            'WHERE "_new_agent" IS NOT NULL',
            [context.source],
        )


def membership_frame(person_ids: list[int]) -> pl.DataFrame:
    rows = list(
        Membership.objects.filter(person_id__in=person_ids).values_list(
            "person_id", "team_id", "valid_from", "valid_to"
        )
    )
    return pl.DataFrame(
        rows,
        schema={
            "person_id": pl.Int64,
            "team_id": pl.Int64,
            "valid_from": pl.Date,
            "valid_to": pl.Date,
        },
        orient="row",
    )


def attach_team_at_the_time(
    frame: pl.DataFrame, agent_column: str, date_column: str
) -> pl.DataFrame:
    """Add ``team_id``: the team the agent was on that (local) day, or null."""
    agent_ids = frame[agent_column].drop_nulls().unique().to_list()
    memberships = membership_frame(agent_ids)
    if memberships.height == 0:
        return frame.with_columns(pl.lit(None, dtype=pl.Int64).alias("team_id"))
    matched = (
        frame.select(ROW, agent_column, date_column)
        .join(memberships, left_on=agent_column, right_on="person_id", how="inner")
        .filter(
            (pl.col("valid_from") <= pl.col(date_column))
            & (pl.col("valid_to").is_null() | (pl.col("valid_to") > pl.col(date_column)))
        )
        .group_by(ROW)
        .agg(pl.col("team_id").first())
    )
    return frame.join(matched, on=ROW, how="left")


def hash_customer_refs(refs: pl.Series) -> pl.Series:
    """Keyed hashes of customer ids (COACHLOOP_HASH_KEY), so the raw id is never stored but the
    same customer still matches across imports. 128 bits, hex."""
    key = settings.COACHLOOP_HASH_KEY.encode("utf-8")
    unique = refs.drop_nulls().unique().to_list()
    hashed = {
        ref: hmac.new(key, ref.encode("utf-8"), hashlib.sha256).hexdigest()[:32] for ref in unique
    }
    return refs.replace_strict(hashed, default="", return_dtype=pl.Utf8).fill_null("")


def local_dates(instants: pl.Series, zones: pl.Series) -> pl.Series:
    """The local calendar date of each UTC instant in its row's time zone."""
    frame = pl.DataFrame({"instant": instants, "zone": zones})
    result: pl.Expr = pl.lit(None, dtype=pl.Date)
    for zone in frame["zone"].drop_nulls().unique().to_list():
        result = (
            pl.when(pl.col("zone") == zone)
            .then(pl.col("instant").dt.convert_time_zone(zone).dt.date())
            .otherwise(result)
        )
    return frame.select(result.alias("local_date"))["local_date"]
