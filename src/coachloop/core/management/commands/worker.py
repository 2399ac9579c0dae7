"""``coachloop worker``: run queued jobs (imports, recomputations) until stopped."""

from __future__ import annotations

import signal
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from coachloop.core.jobs import worker_loop, worker_name


class Command(BaseCommand):
    help = "Run background jobs from the database queue until stopped (Ctrl-C or SIGTERM)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Run what is queued, then exit")
        parser.add_argument("--poll", type=float, default=1.0, help="Seconds between polls")

    def handle(self, *args: Any, **options: Any) -> None:
        stopping = {"now": False}

        def stop(signum: int, frame: Any) -> None:
            stopping["now"] = True  # finish the current job, then exit

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stderr.write(f"worker {worker_name()} waiting for jobs")
        ran = worker_loop(
            once=options["once"], poll_s=options["poll"], stop=lambda: stopping["now"]
        )
        self.stderr.write(f"worker stopped after {ran} job(s)")
