"""Reading export files as chunks of text rows: CSV (any delimiter and encoding Excel and ACDs
write), XLSX (typed cells rendered as ISO text) and JSON Lines. Files are streamed, so a file
far larger than memory is fine. A row that cannot be read (a broken delimiter, bad JSON) is
reported with its number and the rest go on."""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import json
import re
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
    # (row, the record as it was written, why it cannot be read)
    unreadable: list[tuple[int, str, str]] = field(default_factory=list)

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
            "csv, xlsx or jsonl (json for a scorecard)"
        )
    return found


def read_json_document(path: Path, encoding: str | None = None) -> Any:
    """A whole file that is one JSON value (a scorecard). An unreadable file raises
    InvalidInput saying where it stops being JSON."""
    try:
        text = path.read_text(encoding=encoding or "utf-8-sig")
    except UnicodeError as exc:
        raise InvalidInput(f"{path.name} is not {encoding or 'UTF-8'} text: {exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"{path.name} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None


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
        with path.open("rb") as handle:
            raw = handle.read(SAMPLE_BYTES)
        table.encoding = encoding or detect_encoding(raw, path)
        text = _decode_sample(raw, table.encoding)
        table.delimiter = delimiter or detect_delimiter(text)
        try:
            with _open_text(table) as handle:
                reader = csv.reader(handle, delimiter=table.delimiter)
                table.header = _clean_header(next(reader, []))
        except UnicodeError as exc:
            raise InvalidInput(
                f"The file is not valid {table.encoding} in its header: {exc}. "
                "Give the file's encoding (--encoding cp1252, utf-16, ...)."
            ) from None
    elif fmt == "xlsx":
        table.header = _xlsx_header(table)
    elif fmt == "jsonl":
        table.header = _jsonl_header(path)
    if not table.header:
        raise InvalidInput(f"{path.name} has no header row")
    named = [name for name in table.header if name]
    repeated = sorted({name for name in named if named.count(name) > 1})
    if repeated:
        raise InvalidInput(
            "The header names a column more than once: " + ", ".join(repeated) + ". Rename "
            "them so that each column has its own name."
        )
    return table


def detect_encoding(raw: bytes, path: Path | None = None) -> str:
    """UTF-8 (with or without BOM), UTF-16 as Excel writes it, else Windows-1252/Latin-1.

    ``raw`` is the start of the file; with ``path``, the whole file is checked (streamed), so
    a single accented name far into an otherwise ASCII file still decides the encoding."""
    if raw.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if path is not None:
        return _whole_file_encoding(path)
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


def _whole_file_encoding(path: Path) -> str:
    """UTF-8 if every byte of the file decodes as UTF-8, else cp1252 if it all decodes as that,
    else Latin-1 (which decodes anything). Decoding is streamed in blocks of 1 MiB."""
    for encoding in ("utf-8", "cp1252"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    decoder.decode(block)
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return encoding
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
    """Chunks of records; a record with the wrong number of fields is reported, not read.
    Values stay as given here (blank is cleaned later, column-wise)."""
    width = len(table.header)
    with _open_text(table) as handle:
        reader = csv.reader(handle, delimiter=table.delimiter or ",")
        next(reader, None)
        records: list[list[str]] = []
        numbers: list[int] = []
        unreadable: list[tuple[int, str, str]] = []
        number = 0
        try:
            for record in reader:
                if not record or (len(record) == 1 and not record[0].strip()):
                    continue  # blank line
                number += 1
                if len(record) == width:
                    records.append(record)
                    numbers.append(number)
                else:
                    unreadable.append(
                        (
                            number,
                            _record_text(record, table.delimiter),
                            f"{width} fields separated by "
                            f"{_name(table.delimiter)}, found {len(record)}",
                        )
                    )
                if len(records) + len(unreadable) >= size:
                    yield _columns_chunk(table.header, records, numbers, unreadable)
                    records, numbers, unreadable = [], [], []
        except UnicodeDecodeError as exc:
            raise InvalidInput(
                f"The file is not valid {table.encoding} after row {number}: {exc.reason}. "
                "Give the file's encoding (--encoding cp1252, utf-16, ...)."
            ) from None
        except csv.Error as exc:
            raise InvalidInput(f"Row {number + 1} cannot be read as CSV: {exc}") from None
        if records or unreadable:
            yield _columns_chunk(table.header, records, numbers, unreadable)


def _columns_chunk(
    header: list[str],
    records: list[list[str]],
    numbers: list[int],
    unreadable: list[tuple[int, str, str]],
) -> Chunk:
    # Transposing in C (zip) is several times faster than appending field by field.
    columns = list(zip(*records, strict=True)) if records else [() for _ in header]
    return Chunk(
        header=header,
        columns={name: list(values) for name, values in zip(header, columns, strict=True)},
        rows=numbers,
        unreadable=unreadable,
    )


def _record_text(record: list[str], delimiter: str | None, limit: int = 500) -> str:
    text = (delimiter or ",").join(record)
    return text if len(text) <= limit else text[: limit - 1] + "…"


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


@contextlib.contextmanager
def _worksheet(table: TableFile) -> Iterator[Any]:
    """The sheet to read; the workbook is closed afterwards (read-only workbooks hold their
    file open until then)."""
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(table.path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not XLSX
        raise InvalidInput(f"{table.path.name} cannot be read as XLSX: {exc}") from None
    try:
        if table.sheet is None:
            yield workbook.worksheets[0]
        elif table.sheet not in workbook.sheetnames:
            raise InvalidInput(
                f"No sheet named {table.sheet!r}; the sheets are " + ", ".join(workbook.sheetnames)
            )
        else:
            yield workbook[table.sheet]
    finally:
        workbook.close()


def _shows_time(number_format: str) -> bool:
    """Whether a cell's number format shows a time of day (``yyyy-mm-dd hh:mm``), not a bare
    date: Excel stores both as a datetime, so only the format tells a date cell from midnight."""
    plain = re.sub(r'"[^"]*"|\[[^\]]*\]', "", number_format.lower())
    return "h" in plain or "s" in plain


def cell_text(value: Any, number_format: str = "") -> str | None:
    """A cell as text: dates and times as ISO, durations as h:mm:ss, whole floats as integers.
    A datetime at midnight is a date unless its number format shows a time."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        rounded = _round_datetime(value)
        if rounded.time() == dt.time(0) and not _shows_time(number_format):
            return rounded.date().isoformat()
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
    with _worksheet(table) as sheet:
        for row in sheet.iter_rows(max_row=1, values_only=True):
            return _clean_header([cell_text(value) or "" for value in row])
    return []


def _xlsx_chunks(table: TableFile, size: int) -> Iterator[Chunk]:
    width = len(table.header)
    chunk = _new_chunk(table.header)
    number = 0
    with _worksheet(table) as sheet:
        for row in sheet.iter_rows(min_row=2):
            values = [
                cell_text(cell.value, getattr(cell, "number_format", "") or "")
                for cell in row[:width]
            ]
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


JSONL_SAMPLE_LINES = 1000


def _jsonl_header(path: Path) -> list[str]:
    """The keys of the first lines, in order of appearance: a writer may leave out an empty
    key, so one line does not show them all (keys first seen later are read too)."""
    keys: dict[str, None] = {}
    objects = 0
    try:
        with path.open("r", encoding="utf-8-sig") as handle:
            for line in handle:
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue  # reported as a row error when the rows are read
                if isinstance(record, dict):
                    keys.update(dict.fromkeys(record))
                    objects += 1
                    if objects >= JSONL_SAMPLE_LINES:
                        break
    except UnicodeError as exc:
        raise InvalidInput(f"JSON Lines must be UTF-8: {exc}") from None
    if not objects:
        raise InvalidInput(f"{path.name} has no line with a JSON object")
    return list(keys)


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


def _lines(handle: IO[str]) -> Iterator[str]:
    try:
        yield from handle
    except UnicodeError as exc:
        raise InvalidInput(f"JSON Lines must be UTF-8: {exc}") from None


def _jsonl_chunks(table: TableFile, size: int) -> Iterator[Chunk]:
    chunk = _new_chunk(list(table.header))
    number = 0
    with table.path.open("r", encoding="utf-8-sig") as handle:
        for line in _lines(handle):
            if not line.strip():
                continue
            number += 1
            try:
                record = json.loads(line)
                if not isinstance(record, dict):
                    raise ValueError("not an object")
            except ValueError:
                text = line.strip()
                text = text if len(text) <= 500 else text[:499] + "…"
                chunk.unreadable.append((number, text, "a JSON object on one line"))
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
