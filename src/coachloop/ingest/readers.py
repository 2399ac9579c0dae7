"""Reading export files as chunks of text rows: CSV (any delimiter and encoding Excel and ACDs
write), XLSX (typed cells rendered as ISO text) and JSON Lines. Files are streamed, so a file
far larger than memory is fine. A row that cannot be read (a broken delimiter, bad JSON) is
reported with its number and the rest go on."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from coachloop.core.errors import InvalidInput

CHUNK_ROWS = 50_000
SAMPLE_BYTES = 64 * 1024
DELIMITERS = ",;\t|"
FORMATS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
}

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


@dataclass
class Chunk:
    """Rows as columns of text (None = empty), with their row numbers (1 = first record)."""

    header: list[str]
    columns: dict[str, list[str | None]]
    rows: list[int]
    unreadable: list[tuple[int, str]] = field(default_factory=list)  # (row, why)

    def __len__(self) -> int:
        return len(self.rows)


@dataclass
class TableFile:
    path: Path
    format: str
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    header: list[str] = field(default_factory=list)

    def chunks(self, size: int = CHUNK_ROWS) -> Iterator[Chunk]:
        if self.format == "csv":
            yield from _csv_chunks(self, size)
        elif self.format == "xlsx":
            yield from _xlsx_chunks(self, size)
        elif self.format == "jsonl":
            yield from _jsonl_chunks(self, size)
        else:
            raise InvalidInput(f"Cannot read {self.format} files for this kind of import")


def detect_format(path: Path, given: str | None, delimiter: str | None) -> str:
    if given:
        return given
    if delimiter:
        return "csv"  # a mapping's delimiter implies CSV
    found = FORMATS.get(path.suffix.lower())
    if found is None:
        raise InvalidInput(
            f"Cannot tell the format of {path.name!r} from its extension: give --format "
            "csv, xlsx or jsonl"
        )
    return found


def open_table(
    path: Path,
    *,
    fmt: str,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
) -> TableFile:
    """Open ``path`` and read its header, detecting encoding and delimiter when not given."""
    table = TableFile(path=path, format=fmt, encoding=encoding, delimiter=delimiter, sheet=sheet)
    if fmt == "csv":
        raw = path.open("rb").read(SAMPLE_BYTES)
        table.encoding = encoding or detect_encoding(raw)
        text = _decode_sample(raw, table.encoding)
        table.delimiter = delimiter or detect_delimiter(text)
        with _open_text(table) as handle:
            reader = csv.reader(handle, delimiter=table.delimiter)
            table.header = _clean_header(next(reader, []))
    elif fmt == "xlsx":
        table.header = _xlsx_header(table)
    elif fmt == "jsonl":
        table.header = _jsonl_header(path)
    if not table.header:
        raise InvalidInput(f"{path.name} has no header row")
    return table


def detect_encoding(raw: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 as Excel writes it, else Windows-1252/Latin-1."""
    if raw.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    # A multi-byte character may be cut at the end of a full sample: ignore its last 3 bytes.
    sample = raw[:-3] if len(raw) >= SAMPLE_BYTES else raw
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        raw.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def _decode_sample(raw: bytes, encoding: str) -> str:
    return raw.decode(encoding, errors="ignore")


def detect_delimiter(text: str) -> str:
    lines = [line for line in text.splitlines()[:20] if line.strip()]
    if not lines:
        return ","
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=DELIMITERS).delimiter
    except csv.Error:
        header = lines[0]
        return max(DELIMITERS, key=header.count)


def _open_text(table: TableFile) -> IO[str]:
    return table.path.open("r", encoding=table.encoding, newline="")


def _clean_header(names: list[str]) -> list[str]:
    return [name.strip().lstrip("\ufeff") for name in names]


def _csv_chunks(table: TableFile, size: int) -> Iterator[Chunk]:
    width = len(table.header)
    with _open_text(table) as handle:
        reader = csv.reader(handle, delimiter=table.delimiter or ",")
        next(reader, None)
        chunk = _new_chunk(table.header)
        number = 0
        try:
            for record in reader:
                if not record or (len(record) == 1 and not record[0].strip()):
                    continue  # blank line
                number += 1
                if len(record) != width:
                    chunk.unreadable.append(
                        (
                            number,
                            f"{width} fields separated by "
                            f"{_name(table.delimiter)}, found {len(record)}",
                        )
                    )
                else:
                    _append(chunk, record, number)
                if len(chunk.rows) + len(chunk.unreadable) >= size:
                    yield chunk
                    chunk = _new_chunk(table.header)
        except UnicodeDecodeError as exc:
            raise InvalidInput(
                f"The file is not valid {table.encoding} after row {number}: {exc.reason}. "
                "Give the file's encoding (--encoding cp1252, utf-16, ...)."
            ) from None
        except csv.Error as exc:
            raise InvalidInput(f"Row {number + 1} cannot be read as CSV: {exc}") from None
        if chunk.rows or chunk.unreadable:
            yield chunk


def _name(delimiter: str | None) -> str:
    return {"\t": "tabs", ",": "commas", ";": "semicolons", "|": "pipes"}.get(
        delimiter or ",", repr(delimiter)
    )


def _new_chunk(header: list[str]) -> Chunk:
    return Chunk(header=header, columns={name: [] for name in header}, rows=[])


def _append(chunk: Chunk, record: list[Any], number: int) -> None:
    for name, value in zip(chunk.header, record, strict=True):
        text = value.strip() if isinstance(value, str) else value
        chunk.columns[name].append(text if text != "" else None)
    chunk.rows.append(number)


# --- XLSX -------------------------------------------------------------------------------------


def _worksheet(table: TableFile) -> Any:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(table.path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not XLSX
        raise InvalidInput(f"{table.path.name} cannot be read as XLSX: {exc}") from None
    if table.sheet is None:
        return workbook.worksheets[0]
    if table.sheet not in workbook.sheetnames:
        raise InvalidInput(
            f"No sheet named {table.sheet!r}; the sheets are " + ", ".join(workbook.sheetnames)
        )
    return workbook[table.sheet]


def cell_text(value: Any) -> str | None:
    """A cell as text: dates and times as ISO, durations as h:mm:ss, whole floats as integers."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0) and value.microsecond == 0:
            return value.date().isoformat()
        return _round_datetime(value).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        seconds = value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6
        return _hms(round(seconds))
    if isinstance(value, dt.timedelta):
        return _hms(round(value.total_seconds()))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


def _round_datetime(value: dt.datetime) -> dt.datetime:
    return (value + dt.timedelta(microseconds=500_000)).replace(microsecond=0)


def _hms(total: int) -> str:
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}"


def _xlsx_header(table: TableFile) -> list[str]:
    sheet = _worksheet(table)
    for row in sheet.iter_rows(max_row=1, values_only=True):
        return _clean_header([cell_text(value) or "" for value in row])
    return []


def _xlsx_chunks(table: TableFile, size: int) -> Iterator[Chunk]:
    sheet = _worksheet(table)
    width = len(table.header)
    chunk = _new_chunk(table.header)
    number = 0
    for row in sheet.iter_rows(min_row=2, values_only=True):
        values = [cell_text(value) for value in row[:width]]
        if all(value is None for value in values):
            continue
        number += 1
        values += [None] * (width - len(values))
        _append(chunk, values, number)
        if len(chunk.rows) >= size:
            yield chunk
            chunk = _new_chunk(table.header)
    if chunk.rows:
        yield chunk


# --- JSON Lines --------------------------------------------------------------------------------


def _jsonl_header(path: Path) -> list[str]:
    with path.open("r", encoding="utf-8-sig") as handle:
        for line in handle:
            if line.strip():
                try:
                    first = json.loads(line)
                except json.JSONDecodeError:
                    raise InvalidInput("The first line is not a JSON object") from None
                if not isinstance(first, dict):
                    raise InvalidInput("Each line must be a JSON object")
                return list(first)
    return []


def _json_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value)
    text = str(value).strip()
    return text or None


def _jsonl_chunks(table: TableFile, size: int) -> Iterator[Chunk]:
    chunk = _new_chunk(list(table.header))
    number = 0
    with table.path.open("r", encoding="utf-8-sig") as handle:
        for line in handle:
            if not line.strip():
                continue
            number += 1
            try:
                record = json.loads(line)
                if not isinstance(record, dict):
                    raise ValueError("not an object")
            except ValueError:
                chunk.unreadable.append((number, "a JSON object on one line"))
                continue
            for key in record:
                if key not in chunk.columns:  # a key first seen here: earlier rows lack it
                    chunk.header.append(key)
                    chunk.columns[key] = [None] * len(chunk.rows)
            _append(chunk, [_json_text(record.get(name)) for name in chunk.header], number)
            if len(chunk.rows) + len(chunk.unreadable) >= size:
                yield chunk
                chunk = _new_chunk(list(chunk.header))
    if chunk.rows or chunk.unreadable:
        yield chunk
