"""The error file of a batch: every rejected row as it was given, plus where and why."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import polars as pl

from coachloop.ingest.frames import ROW

EXTRA = ["_row", "_column", "_value", "_expected"]
_NUMBER = re.compile(r"^[-+]?\d+(\.\d+)?$")


def neutralise(value: str | None) -> str:
    """Stop a spreadsheet from running a value as a formula (CSV injection)."""
    if value is None:
        return ""
    if value[:1] in ("=", "+", "-", "@", "\t", "\r") and not _NUMBER.match(value):
        return "'" + value
    return value


class ErrorFile:
    """Written on the first rejected row: an import without errors leaves no file."""

    def __init__(self, path: Path, header: list[str]) -> None:
        self.path = path
        self.header = header
        self.lines = 0

    def _start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerow([neutralise(h) for h in self.header + EXTRA])

    def append(self, raw: pl.DataFrame | None, errors: pl.DataFrame) -> None:
        """One line per problem, with the row's original values when we have them."""
        if errors.height == 0:
            return
        if self.lines == 0:
            self._start()
        originals: dict[int, list[str | None]] = {}
        if raw is not None and raw.height:
            wanted = raw.filter(pl.col(ROW).is_in(errors[ROW].unique().implode()))
            columns = [name for name in self.header if name in wanted.columns]
            for record in wanted.select(ROW, *columns).iter_rows():
                originals[record[0]] = list(record[1:])
        with self.path.open("a", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            for row, column, value, expected in errors.iter_rows():
                values = originals.get(row, [None] * len(self.header))
                writer.writerow(
                    [neutralise(v) for v in values] + [row, column, neutralise(value), expected]
                )
                self.lines += 1
