"""From text rows to typed canonical columns, vectorised with polars: apply the mapping, then
parse and check every field, collecting each problem as (row, column, value, expected)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import polars as pl

from coachloop.ingest.fields import EXTRA_ID_PREFIX, Field, FieldType, fields_of
from coachloop.ingest.mapping import TEMPLATE_PART, FieldSpec, Mapping
from coachloop.ingest.readers import Chunk

ROW = "_row"
PROBLEM_SCHEMA = {ROW: pl.Int64, "column": pl.Utf8, "value": pl.Utf8, "expected": pl.Utf8}
TRUE_WORDS = ("true", "1", "yes", "y")
FALSE_WORDS = ("false", "0", "no", "n")
MAX_DURATION_S = 86_400.0
CODE_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"


@dataclass
class Problems:
    """Errors and warnings found in a chunk, as frames with PROBLEM_SCHEMA."""

    errors: list[pl.DataFrame] = field(default_factory=list)
    warnings: list[pl.DataFrame] = field(default_factory=list)

    def add(self, frame: pl.DataFrame, *, warning: bool = False) -> None:
        if frame.height:
            (self.warnings if warning else self.errors).append(frame.select(list(PROBLEM_SCHEMA)))

    def error_frame(self) -> pl.DataFrame:
        return _concat(self.errors)

    def warning_frame(self) -> pl.DataFrame:
        return _concat(self.warnings)

    def bad_rows(self) -> pl.Series:
        return self.error_frame()[ROW].unique()


def _concat(frames: list[pl.DataFrame]) -> pl.DataFrame:
    if not frames:
        return pl.DataFrame(schema=PROBLEM_SCHEMA)
    return pl.concat([f.cast(PROBLEM_SCHEMA) for f in frames]).sort(ROW)  # type: ignore[arg-type]


def problem_rows(
    frame: pl.DataFrame, mask: pl.Expr, *, column: str, value: pl.Expr, expected: str | pl.Expr
) -> pl.DataFrame:
    """The rows of ``frame`` where ``mask`` holds, as problems."""
    expected_expr = pl.lit(expected) if isinstance(expected, str) else expected
    return frame.filter(mask).select(
        pl.col(ROW),
        pl.lit(column).alias("column"),
        value.cast(pl.Utf8).alias("value"),
        expected_expr.cast(pl.Utf8).alias("expected"),
    )


UNREADABLE_COLUMN = "(row)"


def unreadable_problems(chunk: Chunk) -> pl.DataFrame:
    """Records that could not be read at all (a broken delimiter, bad JSON), as problems."""
    return pl.DataFrame(
        {
            ROW: [row for row, _, _ in chunk.unreadable],
            "column": [UNREADABLE_COLUMN] * len(chunk.unreadable),
            "value": [text for _, text, _ in chunk.unreadable],
            "expected": [why for _, _, why in chunk.unreadable],
        },
        schema=PROBLEM_SCHEMA,
    )


def chunk_frame(chunk: Chunk) -> pl.DataFrame:
    data = {name: pl.Series(name, values, dtype=pl.Utf8) for name, values in chunk.columns.items()}
    frame = pl.DataFrame(data) if data else pl.DataFrame()
    return frame.with_columns(pl.Series(ROW, chunk.rows, dtype=pl.Int64))


def canonical_text(frame: pl.DataFrame, mapping: Mapping, kind: str) -> pl.DataFrame:
    """One text column per canonical field (null = empty), from the mapping's columns,
    templates, date/time joins, value maps and constants."""
    names = list(fields_of(kind))
    if kind == "roster":
        names += [name for name in mapping.columns if name.startswith(EXTRA_ID_PREFIX)]
    expressions = [pl.col(ROW)]
    for name in names:
        spec = mapping.columns.get(name)
        if name in mapping.constants:
            expression = pl.lit(mapping.constants[name], dtype=pl.Utf8)
        elif spec is None:
            expression = pl.lit(None, dtype=pl.Utf8)
        else:
            expression = _source_expression(spec)
        stripped = expression.cast(pl.Utf8).str.strip_chars()
        expressions.append(
            pl.when(stripped == "")
            .then(pl.lit(None, dtype=pl.Utf8))
            .otherwise(stripped)
            .alias(name)
        )
    return frame.select(expressions)


def _source_expression(spec: FieldSpec) -> pl.Expr:
    if spec.template is not None:
        columns = TEMPLATE_PART.findall(spec.template)
        pattern = TEMPLATE_PART.sub("{}", spec.template)
        expression = pl.format(pattern, *[pl.col(column) for column in columns])
    elif spec.date is not None:
        parts = [pl.col(spec.date)] + ([pl.col(spec.time)] if spec.time else [])
        expression = pl.concat_str(parts, separator=" ")
    else:
        expression = pl.col(spec.column or spec.field)
    if spec.map:
        if "" in spec.map:
            # Empty cells are read as null: `"" = ...` in a map gives them a value.
            expression = expression.fill_null("")
        expression = expression.replace(spec.map)
    return expression


def label_of(mapping: Mapping, name: str) -> str:
    spec = mapping.columns.get(name)
    return spec.label if spec is not None else name


# --- parsing one field ------------------------------------------------------------------------


def parse_bool(name: str) -> pl.Expr:
    word = pl.col(name).str.to_lowercase()
    return (
        pl.when(word.is_in(TRUE_WORDS))
        .then(pl.lit(True))
        .when(word.is_in(FALSE_WORDS))
        .then(pl.lit(False))
        .otherwise(pl.lit(None, dtype=pl.Boolean))
    )


def parse_duration(name: str, unit: str | None) -> pl.Expr:
    text = pl.col(name)
    if unit in (None, "seconds"):
        return text.cast(pl.Float64, strict=False)
    if unit == "ms":
        return text.cast(pl.Float64, strict=False) / 1000.0
    if unit == "minutes":
        return text.cast(pl.Float64, strict=False) * 60.0
    if unit == "hh:mm:ss":
        parts = text.str.extract_groups(r"^(\d+):([0-5]?\d):([0-5]?\d(?:\.\d+)?)$")
        return (
            parts.struct.field("1").cast(pl.Float64) * 3600
            + parts.struct.field("2").cast(pl.Float64) * 60
            + parts.struct.field("3").cast(pl.Float64)
        )
    parts = text.str.extract_groups(r"^(\d+):([0-5]?\d(?:\.\d+)?)$")  # mm:ss
    return parts.struct.field("1").cast(pl.Float64) * 60 + parts.struct.field("2").cast(pl.Float64)


def parse_date(name: str, fmt: str | None) -> pl.Expr:
    return pl.col(name).str.to_date(fmt or "%Y-%m-%d", strict=False)


NAIVE_FORMATS = ("%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")
OFFSET_PATTERN = r"(?:Z|[+-]\d{2}:?\d{2})$"


def parse_timestamps(
    frame: pl.DataFrame,
    name: str,
    *,
    fmt: str | None,
    zone_column: str,
    problems: Problems,
    label: str,
    now: dt.datetime,
) -> pl.Series:
    """UTC instants from text with an offset, or naive local text in each row's time zone.

    A repeated local hour takes the earlier instant (a warning); a local time that does not
    exist (the spring-forward gap) is an error, as is a time more than 5 minutes in the future.
    """
    text = pl.col(name)
    has_offset = text.str.contains(OFFSET_PATTERN)
    if fmt is not None and "%z" not in fmt:
        naive = text.str.to_datetime(fmt, strict=False, time_unit="us")
    else:
        normalized = text.str.replace("T", " ", literal=True)
        naive = pl.coalesce(
            [normalized.str.to_datetime(f, strict=False, time_unit="us") for f in NAIVE_FORMATS]
        )
    aware = text.str.to_datetime(
        fmt if fmt and "%z" in fmt else "%+", strict=False, time_zone="UTC", time_unit="us"
    )
    work = frame.select(
        pl.col(ROW),
        text.alias("raw"),
        has_offset.alias("has_offset"),
        naive.alias("naive"),
        aware.alias("aware"),
        pl.col(zone_column),
    )
    earliest: pl.Expr = pl.lit(None, dtype=pl.Datetime("us", "UTC"))
    latest: pl.Expr = pl.lit(None, dtype=pl.Datetime("us", "UTC"))
    for zone in work[zone_column].drop_nulls().unique().to_list():
        in_zone = pl.col(zone_column) == zone
        local = pl.col("naive")
        earliest = (
            pl.when(in_zone)
            .then(
                local.dt.replace_time_zone(
                    zone, ambiguous="earliest", non_existent="null"
                ).dt.convert_time_zone("UTC")
            )
            .otherwise(earliest)
        )
        latest = (
            pl.when(in_zone)
            .then(
                local.dt.replace_time_zone(
                    zone, ambiguous="latest", non_existent="null"
                ).dt.convert_time_zone("UTC")
            )
            .otherwise(latest)
        )
    work = work.with_columns(earliest.alias("earliest"), latest.alias("latest"))
    work = work.with_columns(
        pl.when(pl.col("has_offset"))
        .then(pl.col("aware"))
        .otherwise(pl.col("earliest"))
        .alias("instant")
    )
    unreadable = pl.col("raw").is_not_null() & pl.col("aware").is_null() & pl.col("naive").is_null()
    problems.add(
        problem_rows(
            work,
            unreadable,
            column=label,
            value=pl.col("raw"),
            expected="a timestamp such as 2026-03-02T09:14:05+00:00"
            + (f" or matching {fmt}" if fmt else ""),
        )
    )
    gap = (
        ~pl.col("has_offset")
        & pl.col("naive").is_not_null()
        & pl.col("earliest").is_null()
        & pl.col(zone_column).is_not_null()
    )
    problems.add(
        problem_rows(
            work,
            gap,
            column=label,
            value=pl.col("raw"),
            expected=pl.format(
                "a local time that exists in {} (this one falls in the daylight-saving gap)",
                pl.col(zone_column),
            ),
        )
    )
    repeated = ~pl.col("has_offset") & (pl.col("earliest") != pl.col("latest"))
    problems.add(
        problem_rows(
            work,
            repeated,
            column=label,
            value=pl.col("raw"),
            expected="an unambiguous local time: this hour repeats when the "
            "clocks go back, the earlier instant was taken",
        ),
        warning=True,
    )
    future = pl.col("instant") > pl.lit(now + dt.timedelta(minutes=5))
    problems.add(
        problem_rows(
            work,
            future,
            column=label,
            value=pl.col("raw"),
            expected="a time that is not in the future",
        )
    )
    return work["instant"]


def check_field(
    frame: pl.DataFrame, definition: Field, spec: FieldSpec | None, label: str, problems: Problems
) -> pl.Expr | None:
    """Record the problems of one simple field; return its typed expression (None for
    timestamps and CSAT, which need other columns)."""
    name = definition.name
    raw = pl.col(name)
    present = raw.is_not_null()

    def flag(mask: pl.Expr, expected: str) -> None:
        problems.add(problem_rows(frame, mask, column=label, value=raw, expected=expected))

    match definition.type:
        case FieldType.TEXT:
            flag(present & (raw.str.len_chars() > definition.max_length), definition.expected)
            return raw
        case FieldType.CODE:
            code = raw.str.to_lowercase()
            flag(present & ~code.str.contains(CODE_PATTERN), definition.expected)
            return code
        case FieldType.BOOL:
            parsed = parse_bool(name)
            flag(present & parsed.is_null(), definition.expected)
            return parsed
        case FieldType.CHOICE:
            choice = raw.str.to_lowercase()
            flag(present & ~choice.is_in(definition.choices), definition.expected)
            return choice
        case FieldType.DATE:
            parsed = parse_date(name, spec.format if spec else None)
            flag(
                present & parsed.is_null(),
                "a date as " + (spec.format if spec and spec.format else "YYYY-MM-DD"),
            )
            return parsed
        case FieldType.DURATION:
            unit = spec.duration if spec else None
            parsed = parse_duration(name, unit)
            unit_words = {
                None: "seconds",
                "seconds": "seconds",
                "ms": "milliseconds",
                "minutes": "minutes",
                "hh:mm:ss": "hh:mm:ss",
                "mm:ss": "mm:ss",
            }[unit]
            flag(present & parsed.is_null(), f"a duration in {unit_words}")
            out_of_range = (
                present & parsed.is_not_null() & ((parsed < 0) | (parsed > MAX_DURATION_S))
            )
            flag(out_of_range, "a duration from 0 to 86,400 seconds")
            return pl.when(out_of_range).then(None).otherwise(parsed)
        case FieldType.NPS:
            number = raw.cast(pl.Float64, strict=False)  # "7.0" is a 7
            parsed = pl.when(number == number.round(0)).then(number).cast(pl.Int64)
            bad = present & (parsed.is_null() | (parsed < 0) | (parsed > 10))
            problems.add(
                problem_rows(frame, bad, column=label, value=raw, expected=definition.expected)
            )
            return parsed
        case _:
            return None


def plausibility_warnings(
    frame: pl.DataFrame, columns: dict[str, str], limit_s: float, problems: Problems
) -> None:
    """Durations that are valid but implausibly long: kept, and counted as warnings."""
    for name, label in columns.items():
        problems.add(
            problem_rows(
                frame,
                pl.col(name) > limit_s,
                column=label,
                value=pl.col(name).cast(pl.Utf8),
                expected=f"a plausible duration (at most {limit_s:,.0f} s); kept as given",
            ),
            warning=True,
        )


def typed_fields(
    text: pl.DataFrame, mapping: Mapping, kind: str, problems: Problems
) -> dict[str, pl.Expr]:
    """Check every simple field of ``kind`` (recording its problems) and return the typed
    expression of each (timestamps and CSAT, which need other columns, are left out)."""
    typed: dict[str, pl.Expr] = {}
    for name, definition in fields_of(kind).items():
        expression = check_field(
            text, definition, mapping.columns.get(name), label_of(mapping, name), problems
        )
        if expression is not None:
            typed[name] = expression
    return typed


REQUIRED = "a value (this column is required)"


def require_values(
    rows: pl.DataFrame, mapping: Mapping, problems: Problems, expected: dict[str, str]
) -> None:
    """An empty cell in a field every row needs is an error, saying what belongs there."""
    for name, what in expected.items():
        problems.add(
            problem_rows(
                rows,
                pl.col(name).is_null(),
                column=label_of(mapping, name),
                value=pl.lit(None),
                expected=what,
            )
        )
