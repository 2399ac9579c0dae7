"""Same arguments, same bytes; another seed, another world."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from coachloop.simulator.services import simulate
from coachloop.simulator.tests.conftest import Run
from coachloop.simulator.writers import FILES


def test_same_arguments_write_identical_bytes_in_every_file(sim: Run, tmp_path: Path) -> None:
    simulate(out=tmp_path, **sim.args)
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (sim.out / name).read_bytes(), name


def test_a_different_seed_writes_different_files(sim: Run, simulated: Callable[..., Run]) -> None:
    other = simulated(seed=4)
    for name in ("roster.csv", "interactions.csv", "agent_days.csv", "truth.json"):
        assert (other.out / name).read_bytes() != (sim.out / name).read_bytes(), name
    assert (other.out / "scorecard.json").read_bytes() == (sim.out / "scorecard.json").read_bytes()
