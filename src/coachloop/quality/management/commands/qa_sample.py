"""``coachloop qa_sample [--program CODE] [--week YYYY-MM-DD]``: fill the QA queues."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from coachloop.metrics.selectors import week_start
from coachloop.org.models import Program
from coachloop.quality import services


class Command(BaseCommand):
    help = (
        "Fill each program's QA queue from its sampling policy, for the week containing --week "
        "(default: last week, the latest complete one)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--program", help="A program code (default: every program)")
        parser.add_argument("--week", help="Any day of the week to sample, YYYY-MM-DD")

    def handle(self, *args: Any, **options: Any) -> None:
        programs = Program.objects.all()
        if options["program"]:
            programs = programs.filter(code=options["program"])
            if not programs.exists():
                raise CommandError(f"--program: no program with code {options['program']!r}")
        day = timezone.localdate() - dt.timedelta(days=7)
        if options["week"]:
            try:
                day = dt.date.fromisoformat(options["week"])
            except ValueError as exc:
                raise CommandError(f"--week: {options['week']!r} is not a date YYYY-MM-DD") from exc
        for program in programs:
            start = week_start(day, program)
            samples = services.samples_fill(program=program, week_start=start, by=None)
            self.stdout.write(f"{program.code}: week of {start}: {len(samples)} new samples")
