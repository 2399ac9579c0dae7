"""``coachloop simulate --out DIR``: a synthetic contact center with known ground truth.

Writes the eight canonical files (CONTRACTS.md) into DIR and prints a short summary to stderr.
See docs/simulator.md for what is planted and how it maps to truth.json.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from coachloop.simulator.services import SimulationError, simulate


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"--start: {text!r} is not a date (YYYY-MM-DD)") from exc


class Command(BaseCommand):
    help = "Write a synthetic contact center (canonical files + truth.json) into a folder."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", required=True, type=Path, help="Folder to write into")
        parser.add_argument("--agents", type=int, default=120, help="Agents at the start (120)")
        parser.add_argument("--days", type=int, default=90, help="Days of data (90)")
        parser.add_argument(
            "--start", type=_date, default=None, help="First day (default: D days ending yesterday)"
        )
        parser.add_argument("--seed", type=int, default=1, help="Random seed (1)")
        parser.add_argument(
            "--coaching-effect",
            type=float,
            default=None,
            help="SD of the targeted skill gained per coaching session (0.5)",
        )
        parser.add_argument(
            "--placebo", action="store_true", help="Coaching changes nothing (effect 0)"
        )
        parser.add_argument(
            "--no-program-problem",
            action="store_true",
            help="Do not plant the program-wide problem",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        effect: float | None = options["coaching_effect"]
        if options["placebo"]:
            if effect not in (None, 0.0):
                raise CommandError("--placebo means an effect of 0; drop --coaching-effect")
            effect = 0.0
        try:
            summary = simulate(
                out=options["out"],
                agents=options["agents"],
                days=options["days"],
                start=options["start"],
                seed=options["seed"],
                coaching_effect=0.5 if effect is None else effect,
                program_problem=not options["no_program_problem"],
            )
        except SimulationError as exc:
            raise CommandError(str(exc)) from exc
        for line in summary.lines():
            self.stderr.write(line)
