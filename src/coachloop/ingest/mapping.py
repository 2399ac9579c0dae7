"""Mapping files (CONTRACTS.md, "Mapping files"): how an export's columns become canonical
fields. Parsed strictly: an unknown key is an error that names it, so a typo never silently
drops a column."""

from __future__ import annotations

import codecs
import re
import tomllib
import zoneinfo
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from coachloop.core.errors import ErrorDetail, InvalidInput
from coachloop.ingest.fields import CSAT_SCALES, EXTRA_ID_PREFIX, KIND_FIELDS, fields_of

DURATION_UNITS = ("seconds", "ms", "minutes", "hh:mm:ss", "mm:ss")
SOURCE_KEYS = {"kind", "name", "delimiter", "encoding", "timezone", "sheet"}
SPEC_KEYS = {"column", "template", "date", "time", "format", "map", "duration", "scale"}
TEMPLATE_PART = re.compile(r"{([^{}]+)}")


@dataclass(frozen=True)
class FieldSpec:
    """Where one canonical field comes from."""

    field: str
    column: str | None = None
    template: str | None = None
    date: str | None = None
    time: str | None = None
    format: str | None = None
    map: dict[str, str] = dc_field(default_factory=dict)
    duration: str | None = None
    scale: str | None = None

    @property
    def source_columns(self) -> list[str]:
        if self.template is not None:
            return TEMPLATE_PART.findall(self.template)
        if self.date is not None:
            return [self.date] + ([self.time] if self.time else [])
        return [self.column] if self.column else []

    @property
    def label(self) -> str:
        """The name an error message uses: the user's column where there is one."""
        columns = self.source_columns
        return columns[0] if len(columns) == 1 else self.field


@dataclass(frozen=True)
class Mapping:
    kind: str | None = None
    source: str = "canonical"
    delimiter: str | None = None
    encoding: str | None = None
    timezone: str | None = None
    sheet: str | None = None
    constants: dict[str, str] = dc_field(default_factory=dict)
    columns: dict[str, FieldSpec] = dc_field(default_factory=dict)


def _problem(key: str, value: object, expected: str) -> InvalidInput:
    return InvalidInput(
        f"Mapping file: {key} = {value!r} is not valid, expected {expected}",
        [
            ErrorDetail(
                column=key,
                value=value if isinstance(value, str | int | float) else str(value),
                expected=expected,
            )
        ],
    )


def _as_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_mapping(text: str, *, kind: str) -> Mapping:
    """Parse a mapping file for an import of ``kind``; raises InvalidInput naming the bad key."""
    if kind not in KIND_FIELDS:
        # A scorecard is one JSON document in its own shape: there are no columns to map.
        raise InvalidInput(
            f"A {kind} import takes no mapping file: the file is read as it is",
            [ErrorDetail(column="mapping", value=kind, expected="no mapping for this kind")],
        )
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"Mapping file is not valid TOML: {exc}") from None
    unknown_tables = set(data) - {"source", "constants", "columns"}
    if unknown_tables:
        raise _problem(sorted(unknown_tables)[0], "...", "only [source], [constants], [columns]")
    source = data.get("source", {})
    for key in set(source) - SOURCE_KEYS:
        raise _problem(f"source.{key}", source[key], "one of " + ", ".join(sorted(SOURCE_KEYS)))
    mapped_kind = source.get("kind")
    if mapped_kind is not None and mapped_kind != kind:
        raise _problem("source.kind", mapped_kind, f"{kind!r}, the kind being imported")
    timezone = source.get("timezone")
    if timezone is not None:
        try:
            zoneinfo.ZoneInfo(str(timezone))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise _problem("source.timezone", timezone, "an IANA time zone") from None
    name = str(source.get("name", "canonical"))
    if not is_source_name(name):
        raise _problem("source.name", name, SOURCE_NAME_EXPECTED)
    encoding = source.get("encoding")
    if encoding is not None and not is_encoding(str(encoding)):
        raise _problem("source.encoding", encoding, ENCODING_EXPECTED)
    delimiter = _delimiter(source.get("delimiter"))
    if delimiter is not None and len(delimiter) != 1:
        raise _problem("source.delimiter", source.get("delimiter"), "one character, or \\t")
    valid = _valid_fields(kind)
    constants = {}
    for key, value in data.get("constants", {}).items():
        if not _is_field(key, kind):
            raise _problem(f"constants.{key}", value, f"a field of {kind}: {', '.join(valid)}")
        constants[key] = _as_text(value)
    columns = {}
    for key, value in data.get("columns", {}).items():
        if not _is_field(key, kind):
            raise _problem(f"columns.{key}", value, f"a field of {kind}: {', '.join(valid)}")
        columns[key] = _parse_spec(key, value)
    return Mapping(
        kind=mapped_kind,
        source=name,
        delimiter=delimiter,
        encoding=str(encoding) if encoding is not None else None,
        timezone=timezone,
        sheet=source.get("sheet"),
        constants=constants,
        columns=columns,
    )


SOURCE_NAME_EXPECTED = "at most 50 letters, digits, '-' or '_'"
ENCODING_EXPECTED = "an encoding such as utf-8, utf-8-sig, cp1252, latin-1 or utf-16"


def is_source_name(name: str) -> bool:
    return bool(re.fullmatch(r"[-a-zA-Z0-9_]{1,50}", name))


def is_encoding(name: str) -> bool:
    try:
        codecs.lookup(name)
    except LookupError:
        return False
    return True


def _valid_fields(kind: str) -> list[str]:
    return [f.name for f in KIND_FIELDS[kind]]


def _is_field(key: str, kind: str) -> bool:
    if key in _valid_fields(kind):
        return True
    # Only the roster carries a person's ids in other systems, as `external_id:<source>`.
    return kind == "roster" and key.startswith(EXTRA_ID_PREFIX) and len(key) > len(EXTRA_ID_PREFIX)


def _delimiter(value: object) -> str | None:
    if value is None:
        return None
    text = str(value)
    return "\t" if text in ("\\t", "tab") else text


def _parse_spec(key: str, value: object) -> FieldSpec:
    if isinstance(value, str):
        return FieldSpec(field=key, column=value, map={})
    if not isinstance(value, dict):
        raise _problem(f"columns.{key}", value, "a column name or a table such as { column = ... }")
    for spec_key in set(value) - SPEC_KEYS:
        raise _problem(
            f"columns.{key}.{spec_key}", value[spec_key], "one of " + ", ".join(sorted(SPEC_KEYS))
        )
    sources = [name for name in ("column", "template", "date") if name in value]
    if len(sources) != 1:
        raise _problem(f"columns.{key}", value, "exactly one of column, template or date")
    if "time" in value and "date" not in value:
        raise _problem(f"columns.{key}.time", value["time"], "time only together with date")
    duration = value.get("duration")
    if duration is not None and duration not in DURATION_UNITS:
        raise _problem(f"columns.{key}.duration", duration, "one of " + ", ".join(DURATION_UNITS))
    scale = value.get("scale")
    if scale is not None and scale not in CSAT_SCALES:
        raise _problem(f"columns.{key}.scale", scale, "one of " + ", ".join(CSAT_SCALES))
    raw_map = value.get("map", {})
    if not isinstance(raw_map, dict):
        raise _problem(f"columns.{key}.map", raw_map, "a table such as { AGENT = true }")
    return FieldSpec(
        field=key,
        column=value.get("column"),
        template=value.get("template"),
        date=value.get("date"),
        time=value.get("time"),
        format=value.get("format"),
        map={str(k): _as_text(v) for k, v in raw_map.items()},
        duration=duration,
        scale=scale,
    )


def identity_mapping(kind: str, header: list[str], base: Mapping | None = None) -> Mapping:
    """Complete ``base`` with every canonical field whose column has its canonical name."""
    base = base or Mapping()
    columns = dict(base.columns)
    for name in fields_of(kind):
        if name not in columns and name not in base.constants and name in header:
            columns[name] = FieldSpec(field=name, column=name, map={})
    if kind == "roster":
        for column in header:
            if column.startswith(EXTRA_ID_PREFIX) and column not in columns:
                columns[column] = FieldSpec(field=column, column=column, map={})
    return Mapping(
        kind=base.kind,
        source=base.source,
        delimiter=base.delimiter,
        encoding=base.encoding,
        timezone=base.timezone,
        sheet=base.sheet,
        constants=base.constants,
        columns=columns,
    )


def missing_required_columns(kind: str, mapping: Mapping, header: list[str]) -> list[str]:
    """Required fields with no column and no constant, and mapped columns absent from the file."""
    missing = []
    for field_def in KIND_FIELDS[kind]:
        spec = mapping.columns.get(field_def.name)
        if spec is None and field_def.name not in mapping.constants and field_def.required_column:
            missing.append(field_def.name)
    for spec in mapping.columns.values():
        missing.extend(column for column in spec.source_columns if column not in header)
    return list(dict.fromkeys(missing))


def describe(mapping: Mapping) -> dict[str, Any]:
    return {
        "source": mapping.source,
        "constants": mapping.constants,
        "columns": {k: v.source_columns for k, v in mapping.columns.items()},
    }
