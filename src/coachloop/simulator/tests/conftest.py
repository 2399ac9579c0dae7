"""Simulated folders shared by the simulator's tests: each set of arguments is generated once."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest

from coachloop.simulator.services import simulate

START = date(2026, 1, 5)
REPEAT_WINDOW = timedelta(hours=168)


@dataclass
class Run:
    """One simulated folder, with its files parsed on demand."""

    out: Path
    args: dict[str, Any] = field(default_factory=dict)

    def rows(self, name: str) -> list[dict[str, str]]:
        with (self.out / name).open(encoding="utf-8", newline="") as f:
            return list(csv.DictReader(f))

    def header(self, name: str) -> list[str]:
        with (self.out / name).open(encoding="utf-8", newline="") as f:
            return next(csv.reader(f))

    @cached_property
    def interactions(self) -> list[dict[str, str]]:
        return self.rows("interactions.csv")

    @cached_property
    def roster(self) -> list[dict[str, str]]:
        return self.rows("roster.csv")

    @cached_property
    def truth(self) -> dict[str, Any]:
        return json.loads((self.out / "truth.json").read_text(encoding="utf-8"))

    @cached_property
    def scorecard(self) -> dict[str, Any]:
        return json.loads((self.out / "scorecard.json").read_text(encoding="utf-8"))

    @cached_property
    def repeated(self) -> dict[str, bool]:
        """external_id -> whether the same customer contacted the same program on the same
        call type again within (t, t + 168 h]: ARCHITECTURE's derived FCR, for known customers."""
        times: dict[tuple[str, str, str], list[tuple[datetime, str]]] = defaultdict(list)
        for r in self.interactions:
            if r["customer_ref"]:
                key = (r["program"], r["customer_ref"], r["call_type"])
                times[key].append((datetime.fromisoformat(r["started_at"]), r["external_id"]))
        out: dict[str, bool] = {}
        for contacts in times.values():
            contacts.sort()
            for i, (t, external_id) in enumerate(contacts):
                later = [u for u, _ in contacts[i + 1 :] if t < u]
                out[external_id] = bool(later) and later[0] <= t + REPEAT_WINDOW
        return out


@pytest.fixture(scope="session")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Run]:
    """simulated(**overrides) -> Run; the same arguments give the same (cached) folder."""
    cache: dict[tuple[tuple[str, Any], ...], Run] = {}

    def make(**overrides: Any) -> Run:
        args: dict[str, Any] = {
            "agents": 40,
            "days": 45,
            "start": START,
            "seed": 3,
            "coaching_effect": 0.5,
            "program_problem": True,
        }
        args.update(overrides)
        key = tuple(sorted(args.items()))
        if key not in cache:
            out = tmp_path_factory.mktemp("sim")
            simulate(out=out, **args)
            cache[key] = Run(out=out, args=args)
        return cache[key]

    return make


@pytest.fixture(scope="session")
def sim(simulated: Callable[..., Run]) -> Run:
    """The default small run most tests read."""
    return simulated()
