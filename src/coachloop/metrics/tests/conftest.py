"""Metrics tests run at a fixed time (the personas are hired 200 days before it), with
COACHLOOP_HOME in the test's own folder for the imports some of them run."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import time_machine

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def pinned_time() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def home(tmp_path: Path, settings: object) -> Path:
    settings.COACHLOOP_HOME = tmp_path  # type: ignore[attr-defined]
    return tmp_path
