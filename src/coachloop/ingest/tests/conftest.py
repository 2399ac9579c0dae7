"""Import tests run at a fixed time, with COACHLOOP_HOME in the test's own folder."""

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


@pytest.fixture
def marks_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """Imports rebuild the KPI rollups for the days they marked and then drop the marks; tests
    about *which* days an import marks keep the marks by leaving the rebuild out (the rebuild
    itself is tested in coachloop.metrics)."""
    monkeypatch.setattr("coachloop.ingest.services.rollups_apply_marks", lambda: None)
