"""`coachloop simulate` through Django's call_command (no database needed)."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from coachloop.simulator.services import default_start
from coachloop.simulator.writers import FILES


def test_simulate_command_writes_all_eight_files_and_a_summary_to_stderr(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "simulate", "--out", str(tmp_path / "sim"), "--agents", "12", "--days", "5",
        "--start", "2026-03-02", "--seed", "9", "--placebo", "--no-program-problem",
        stdout=out, stderr=err,
    )  # fmt: skip
    assert sorted(p.name for p in (tmp_path / "sim").iterdir()) == sorted(FILES)
    assert out.getvalue() == ""
    summary = err.getvalue()
    for name in FILES:
        assert name in summary
    assert "2026-03-02 to 2026-03-06" in summary and " s" in summary
    truth = json.loads((tmp_path / "sim" / "truth.json").read_text())
    assert truth["seed"] == 9 and truth["days"] == 5 and truth["start"] == "2026-03-02"
    assert truth["coaching_effect"]["value"] == 0.0
    assert truth["program_problems"] == []


def test_the_default_period_is_the_given_days_ending_yesterday(tmp_path: Path) -> None:
    call_command("simulate", "--out", str(tmp_path), "--agents", "10", "--days", "2",
                 stderr=io.StringIO())  # fmt: skip
    truth = json.loads((tmp_path / "truth.json").read_text())
    assert truth["start"] == default_start(2).isoformat()


def test_yesterday_is_over_in_every_programs_time_zone() -> None:
    # 02:00 UTC on 10 March is still 9 March in New York: its yesterday is 8 March.
    now = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
    assert default_start(7, now) == date(2026, 3, 2)
    assert default_start(7, datetime(2026, 3, 10, 12, 0, tzinfo=UTC)) == date(2026, 3, 3)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--placebo", "--coaching-effect", "0.5"], "--placebo"),
        (["--agents", "2"], "--agents"),
        (["--days", "0"], "--days"),
        (["--start", "yesterday"], "--start"),
        (["--seed", "-1"], "--seed"),
    ],
)
def test_bad_arguments_are_refused_with_a_message(
    tmp_path: Path, args: list[str], message: str
) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("simulate", "--out", str(tmp_path / "x"), *args, stderr=io.StringIO())
    assert not (tmp_path / "x").exists()
