"""Interactions: check and resolve each chunk, stage it; after publishing, derive FCR from
repeat contacts and mark the touched days for KPI recomputation."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
from django.db import connection

from coachloop.ingest.frames import (
    ROW,
    Problems,
    canonical_text,
    label_of,
    parse_timestamps,
    plausibility_warnings,
    problem_rows,
    require_values,
    typed_fields,
)
from coachloop.ingest.mapping import Mapping
from coachloop.ingest.references import (
    ImportContext,
    attach_team_at_the_time,
    hash_customer_refs,
    local_dates,
    mark_missing_agents,
    report_unknown_people,
    resolve_people,
    resolve_programs,
)
from coachloop.ingest.staging import Column, Target, is_postgres

KIND = "interactions"
FCR_WINDOW = dt.timedelta(hours=168)
DURATIONS = ("wait_s", "talk_s", "hold_s", "acw_s")

TARGET = Target(
    table="interactions_interaction",
    key=("program_id", "source", "external_id"),
    columns=(
        Column("program_id", "int"),
        Column("source", "text"),
        Column("external_id", "text"),
        Column("channel", "text"),
        Column("queue", "text"),
        Column("call_type", "text"),
        Column("fcr_topic", "text"),
        Column("agent_id", "int"),
        Column("team_id", "int"),
        Column("customer_hash", "text"),
        Column("started_at", "timestamp"),
        Column("local_date", "date"),
        Column("answered", "bool"),
        Column("wait_s", "float"),
        Column("talk_s", "float"),
        Column("hold_s", "float"),
        Column("acw_s", "float"),
        Column("transferred", "bool"),
        Column("escalated", "bool"),
        Column("resolved", "bool"),
        Column("csat_raw", "float"),
        Column("csat_scale", "text"),
        Column("csat_norm", "float"),
        Column("csat_top2", "bool"),
        Column("nps", "int"),
        Column("recording_url", "text"),
        Column("fcr_derived", "bool"),
        Column("fcr_provisional", "bool"),
        Column("batch_id", "int"),
    ),
    text_columns_not_null=(
        "source",
        "external_id",
        "channel",
        "queue",
        "call_type",
        "fcr_topic",
        "customer_hash",
        "csat_scale",
        "recording_url",
    ),
    stage_only=(
        Column("_key", "text"),
        Column("_new_agent", "text"),  # an agent to create (--create-missing-agents)
        Column("_program_code", "text"),  # a program to create (idem)
    ),
)

# CSAT scales: the valid range, whether answers are whole numbers, and the top-2-box cut.
SCALES = {
    "1-5": (1, 5, True, 4),
    "1-10": (1, 10, True, 9),
    "0-10": (0, 10, True, 9),
    "percent": (0, 100, False, 80),
}


def prepare(
    frame: pl.DataFrame,
    mapping: Mapping,
    context: ImportContext,
    problems: Problems,
    people: pl.DataFrame,
    plausible_s: float,
) -> pl.DataFrame:
    """Check one chunk and return the rows ready to stage (bad rows are reported in
    ``problems``; the caller decides whether anything is written)."""
    text = canonical_text(frame, mapping, KIND)
    typed = typed_fields(text, mapping, KIND, problems)
    rows = text.with_columns(**{f"{name}__v": expr for name, expr in typed.items()})
    require_values(
        rows,
        mapping,
        problems,
        {
            "external_id": "an id for the contact",
            "channel": "a channel: voice, chat, email, sms or social",
        },
    )
    # Codes are read in lower case, like every code.
    rows = resolve_programs(
        rows.with_columns(pl.col("program__v").alias("program")),
        context,
        problems,
        label=label_of(mapping, "program"),
        mapped_constant=mapping.constants.get("program"),
    )
    started = parse_timestamps(
        rows,
        "started_at",
        fmt=_format(mapping),
        zone_column="_zone",
        problems=problems,
        label=label_of(mapping, "started_at"),
        now=context.now,
    )
    problems.add(
        problem_rows(
            rows,
            pl.col("started_at").is_null(),
            column=label_of(mapping, "started_at"),
            value=pl.lit(None),
            expected="the time the contact started",
        )
    )
    rows = rows.with_columns(started.alias("started"))
    # An empty `answered` with an agent counts as answered (CONTRACTS.md).
    rows = rows.with_columns(
        pl.coalesce(pl.col("answered__v"), pl.col("agent").is_not_null()).alias("answered_v")
    )
    problems.add(
        problem_rows(
            rows,
            pl.col("answered_v") & pl.col("agent").is_null(),
            column=label_of(mapping, "agent"),
            value=pl.lit(None),
            expected="the agent who answered (an answered contact needs one)",
        )
    )
    rows = resolve_people(rows, "agent", context, people)
    rows = mark_missing_agents(rows, "agent", context)
    report_unknown_people(rows, "agent", label_of(mapping, "agent"), problems, needed=pl.lit(True))
    rows = _csat(rows, mapping, problems)
    rows = rows.with_columns(
        local_dates(rows["started"], rows["_program_zone"]).alias("local_date"),
        hash_customer_refs(rows["customer_ref"]).alias("customer_hash"),
    )
    rows = attach_team_at_the_time(rows, "agent_id", "local_date")
    plausibility_warnings(
        rows.select(ROW, *[pl.col(f"{d}__v").alias(d) for d in DURATIONS]),
        {d: label_of(mapping, d) for d in DURATIONS},
        plausible_s,
        problems,
    )
    return rows.select(
        pl.col(ROW),
        pl.col("program_id"),
        pl.lit(context.source).alias("source"),
        pl.col("external_id"),
        pl.col("channel__v").alias("channel"),
        pl.col("queue").fill_null(""),
        pl.col("call_type").fill_null(""),
        pl.coalesce(pl.col("call_type"), pl.col("queue"), pl.lit("")).alias("fcr_topic"),
        pl.col("agent_id"),
        pl.col("team_id"),
        pl.col("customer_hash"),
        pl.col("started").alias("started_at"),
        pl.col("local_date"),
        pl.col("answered_v").alias("answered"),
        *[pl.col(f"{d}__v").alias(d) for d in DURATIONS],
        pl.col("transferred__v").fill_null(False).alias("transferred"),
        pl.col("escalated__v").fill_null(False).alias("escalated"),
        pl.col("resolved__v").alias("resolved"),
        pl.col("csat_raw"),
        pl.col("csat_scale_v").alias("csat_scale"),
        pl.col("csat_norm"),
        pl.col("csat_top2"),
        pl.col("nps__v").alias("nps"),
        pl.col("recording_url").fill_null(""),
        # Derived FCR needs the whole file and the database: computed in staging.
        pl.lit(None, dtype=pl.Boolean).alias("fcr_derived"),
        pl.lit(False).alias("fcr_provisional"),
        pl.lit(context.batch_id, dtype=pl.Int64).alias("batch_id"),
        pl.col("external_id").alias("_key"),
        pl.col("_new_agent"),
        pl.col("_program_code"),
    )


DUPLICATE_EXPECTED = "an id used once in the file (row {first} has it too)"


def duplicate_column(mapping: Mapping) -> str:
    return label_of(mapping, "external_id")


def _format(mapping: Mapping) -> str | None:
    spec = mapping.columns.get("started_at")
    return spec.format if spec is not None else None


def _csat(rows: pl.DataFrame, mapping: Mapping, problems: Problems) -> pl.DataFrame:
    """Raw CSAT with its scale, normalised to 1-5, and its top-2-box flag."""
    spec = mapping.columns.get("csat")
    default_scale = spec.scale if spec is not None and spec.scale else "1-5"
    rows = rows.with_columns(
        pl.coalesce(pl.col("csat_scale__v"), pl.lit(default_scale)).alias("csat_scale_v"),
        pl.col("csat").cast(pl.Float64, strict=False).alias("csat_raw"),
    )
    label = label_of(mapping, "csat")
    low, high = pl.lit(None, dtype=pl.Float64), pl.lit(None, dtype=pl.Float64)
    whole, cut = pl.lit(None, dtype=pl.Boolean), pl.lit(None, dtype=pl.Float64)
    for scale, (lo, hi, integer, top) in SCALES.items():
        is_scale = pl.col("csat_scale_v") == scale
        low = pl.when(is_scale).then(pl.lit(float(lo))).otherwise(low)
        high = pl.when(is_scale).then(pl.lit(float(hi))).otherwise(high)
        whole = pl.when(is_scale).then(pl.lit(integer)).otherwise(whole)
        cut = pl.when(is_scale).then(pl.lit(float(top))).otherwise(cut)
    rows = rows.with_columns(
        low.alias("_lo"), high.alias("_hi"), whole.alias("_whole"), cut.alias("_cut")
    )
    value = pl.col("csat_raw")
    bad = pl.col("csat").is_not_null() & (
        value.is_null()
        | (value < pl.col("_lo"))
        | (value > pl.col("_hi"))
        | (pl.col("_whole") & (value != value.round(0)))
    )
    problems.add(
        problem_rows(
            rows,
            bad,
            column=label,
            value=pl.col("csat"),
            expected=pl.format(
                "{} from {} to {} (the {} scale)",
                pl.when(pl.col("_whole")).then(pl.lit("an integer")).otherwise(pl.lit("a number")),
                pl.col("_lo").cast(pl.Int64),
                pl.col("_hi").cast(pl.Int64),
                pl.col("csat_scale_v"),
            ),
        )
    )
    valid = value.is_not_null() & ~bad
    return rows.with_columns(
        pl.when(valid).then(value).otherwise(None).alias("csat_raw"),
        pl.when(valid)
        .then(1.0 + (value - pl.col("_lo")) * 4.0 / (pl.col("_hi") - pl.col("_lo")))
        .otherwise(None)
        .alias("csat_norm"),
        pl.when(valid).then(value >= pl.col("_cut")).otherwise(None).alias("csat_top2"),
        pl.when(pl.col("csat").is_not_null())
        .then(pl.col("csat_scale_v"))
        .otherwise(pl.lit(""))
        .alias("csat_scale_v"),
    )


# --- after publishing ------------------------------------------------------------------------


def touched_windows(batch_stage: str) -> list[tuple[int, dt.datetime, dt.datetime]]:
    """Per program: the earliest and latest start among the staged rows."""
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT program_id, MIN(started_at), MAX(started_at) FROM "{batch_stage}" '
            "GROUP BY program_id"
        )
        return [(int(p), _as_datetime(lo), _as_datetime(hi)) for p, lo, hi in cursor.fetchall()]


def _as_datetime(value: object) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    text = str(value)
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def latest_contact(program_id: int) -> dt.datetime | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT MAX(started_at) FROM interactions_interaction WHERE program_id = %s",
            [program_id],
        )
        value = cursor.fetchone()[0]
    return _as_datetime(value) if value is not None else None


def derive_fcr(
    program_id: int, since: dt.datetime, until: dt.datetime, *, skip_batch: int | None = None
) -> int:
    """Derived FCR (ARCHITECTURE.md) for handled contacts with a known customer that started in
    [since, until]: resolved unless the same customer contacted the program again on the same
    topic in the following 168 hours; provisional within 168 h of the program's latest contact.
    Only rows whose outcome changes are written. Returns how many changed.

    ``skip_batch``: rows this batch just wrote, whose outcome ``precompute_fcr`` already derived
    exactly; only the other rows of the window can still change."""
    latest = latest_contact(program_id)
    if latest is None:
        return 0
    horizon = latest - FCR_WINDOW
    if is_postgres():
        repeat_window = "j.started_at <= i.started_at + interval '168 hours'"
        changed = (
            "(i.fcr_derived IS DISTINCT FROM c.derived OR "
            "i.fcr_provisional IS DISTINCT FROM c.provisional)"
        )
        update = (
            "UPDATE interactions_interaction AS i SET fcr_derived = c.derived, "
            "fcr_provisional = c.provisional FROM ({computed}) AS c WHERE i.id = c.id AND "
            + changed
        )
        params: list[Any] = [horizon, program_id, since, until]
        skip = "AND i.batch_id IS DISTINCT FROM %s"
    else:
        repeat_window = "j.started_at <= datetime(i.started_at, '+168 hours')"
        update = (
            "UPDATE interactions_interaction SET fcr_derived = c.derived, "
            "fcr_provisional = c.provisional FROM ({computed}) AS c "
            "WHERE interactions_interaction.id = c.id AND "
            "(interactions_interaction.fcr_derived IS NOT c.derived OR "
            "interactions_interaction.fcr_provisional IS NOT c.provisional)"
        )
        params = [_sqlite_time(horizon), program_id, _sqlite_time(since), _sqlite_time(until)]
        skip = "AND i.batch_id IS NOT %s"
    computed = (
        "SELECT i.id AS id, CASE WHEN EXISTS (SELECT 1 FROM interactions_interaction j "
        "WHERE j.program_id = i.program_id AND j.customer_hash = i.customer_hash "
        "AND j.fcr_topic = i.fcr_topic AND j.started_at > i.started_at AND "
        f"{repeat_window}) THEN false ELSE true END AS derived, "
        "(i.started_at > %s) AS provisional FROM interactions_interaction i "
        "WHERE i.program_id = %s AND i.answered AND i.customer_hash <> '' "
        "AND i.started_at >= %s AND i.started_at <= %s"
    )
    if skip_batch is not None:
        computed += f" {skip}"
        params.append(skip_batch)
    with connection.cursor() as cursor:
        cursor.execute(update.format(computed=computed), params)
        return max(cursor.rowcount, 0)


def _sqlite_time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S")


def precompute_fcr(stage: str, program_id: int, latest: dt.datetime) -> None:
    """Derive FCR for the staged rows of one program before publishing, so that publishing
    writes each row once. Repeats are looked for among the staged rows and among the database's
    rows that the batch does not replace: exactly the program's contacts once it is published.
    ``derive_fcr`` then only has to correct the other rows of the window (older contacts this
    batch repeats, contacts whose latest-contact horizon moved)."""
    horizon = latest - FCR_WINDOW
    repeat = (
        "SELECT 1 FROM {table} j WHERE j.program_id = s.program_id "
        "AND j.customer_hash = s.customer_hash AND j.fcr_topic = s.fcr_topic "
        "AND j.started_at > s.started_at AND {window}"
    )
    if is_postgres():
        window = "j.started_at <= s.started_at + interval '168 hours'"
        horizon_param: Any = horizon
    else:
        window = "j.started_at <= datetime(s.started_at, '+168 hours')"
        horizon_param = _sqlite_time(horizon)
    in_file = repeat.format(table=f'"{stage}"', window=window)
    # A database row the batch replaces is represented by its staged version.
    in_database = repeat.format(table="interactions_interaction", window=window) + (
        f' AND NOT EXISTS (SELECT 1 FROM "{stage}" k WHERE k.program_id = j.program_id '
        "AND k.source = j.source AND k.external_id = j.external_id)"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f'CREATE INDEX IF NOT EXISTS "{stage}_repeat" ON "{stage}" '
            "(program_id, customer_hash, fcr_topic, started_at)"
        )
        cursor.execute(
            f'CREATE INDEX IF NOT EXISTS "{stage}_key" ON "{stage}" '
            "(program_id, source, external_id)"
        )
        cursor.execute(
            f'UPDATE "{stage}" AS s SET fcr_derived = CASE WHEN s.answered AND '
            f"s.customer_hash <> '' THEN NOT (EXISTS ({in_file}) OR EXISTS ({in_database})) "
            "END, fcr_provisional = (s.answered AND s.customer_hash <> '' AND s.started_at > %s) "
            "WHERE s.program_id = %s",
            [horizon_param, program_id],
        )
