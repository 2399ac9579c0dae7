"""``coachloop recompute [--since DATE]``: bring the KPI rollups up to date."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from coachloop.metrics import services


class Command(BaseCommand):
    help = (
        "Apply every pending recompute mark now (bare), or rebuild the KPI rollups from a date "
        "(--since YYYY-MM-DD)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", help="Rebuild every program's rollups from this day on")
        parser.add_argument("--all", action="store_true", help="Rebuild all history")

    def handle(self, *args: Any, **options: Any) -> None:
        since = None
        if options["since"]:
            try:
                since = dt.date.fromisoformat(options["since"])
            except ValueError as exc:
                raise CommandError(
                    f"--since: '{options['since']}' is not a date YYYY-MM-DD"
                ) from exc

        def progress(text: str) -> None:
            self.stderr.write(f"  {text}")

        if since or options["all"]:
            summary = services.rollups_rebuild(since=since, progress=progress)
        else:
            summary = services.rollups_apply_marks(progress=progress)
        self.stdout.write(
            f"Recomputed {summary.days} program days in {summary.ranges} ranges "
            f"({summary.programs} programs) in {summary.seconds:.1f} s"
        )
