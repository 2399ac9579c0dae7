"""``coachloop demo``: build the demo organization, print its logins, and serve it."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from coachloop.core import demo
from coachloop.core.env import env_int, env_str


class Command(BaseCommand):
    help = "Build the demo contact center (refuses a non-empty database without --reset)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-serve", action="store_true", help="Build, then exit")
        parser.add_argument("--agents", type=int, default=120, help="Agents (at least 10)")
        parser.add_argument("--days", type=int, default=90, help="Days of history to yesterday")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Empty the database first (everything in it is lost)",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Build only when the database is empty; otherwise just serve "
            "(what `make run` uses)",
        )
        parser.add_argument("--host", default=env_str("COACHLOOP_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=env_int("COACHLOOP_PORT", 8000))

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("The demo is refused when COACHLOOP_ENV=production")
        # Check the arguments before anything is emptied.
        if options["agents"] < 10:
            raise CommandError("The demo needs at least 10 agents (--agents)")
        if not 1 <= options["days"] <= 3660:
            raise CommandError("--days must be from 1 to 3660")
        if options["seed"] < 0:
            raise CommandError("--seed must be 0 or more")
        started = time.perf_counter()
        call_command("migrate", interactive=False, verbosity=0)
        self._stage("migrate", started)
        if options["reset"]:
            stage = time.perf_counter()
            call_command("flush", interactive=False, verbosity=0)
            self._stage("reset", stage)
        if demo.database_is_empty():
            self.stderr.write(
                f"Building the demo: {options['agents']} agents x "
                f"{options['days']} days, seed {options['seed']}"
            )
            try:
                report = demo.build_demo(
                    agents=options["agents"],
                    days=options["days"],
                    seed=options["seed"],
                    progress=self.stderr.write,
                )
            except demo.DemoError as exc:
                raise CommandError(str(exc)) from None
            self.stderr.write(f"  {'total':<16} {time.perf_counter() - started:6.1f} s")
            self.stderr.write(
                "  "
                + ", ".join(f"{count:,} {kind}" for kind, count in report.counts.items())
                + " imported"
            )
            logins = [login.as_dict() for login in report.logins]
        elif options["if_empty"]:
            self.stderr.write("The database already has data: serving it as it is.")
            logins = demo.read_logins()
        else:
            raise CommandError(
                "The database is not empty: run `coachloop demo --reset` to "
                "replace everything in it with the demo."
            )
        self._print_logins(logins)
        if not options["no_serve"]:
            from coachloop.core.management.commands.serve import serve

            call_command("collectstatic", interactive=False, verbosity=0)
            self.stdout.write(
                f"Serving on http://{options['host']}:{options['port']}/ (Ctrl-C to stop)"
            )
            self.stdout.flush()
            serve(
                bind=f"{options['host']}:{options['port']}",
                workers=env_int("COACHLOOP_WEB_WORKERS", 2),
                threads=env_int("COACHLOOP_WEB_THREADS", 4),
            )

    def _stage(self, name: str, started: float) -> None:
        self.stderr.write(f"  {name:<16} {time.perf_counter() - started:6.1f} s")

    def _print_logins(self, logins: list[dict[str, Any]]) -> None:
        if not logins:
            self.stdout.write("No demo logins on file (this database was not built by the demo).")
            return
        self.stdout.write(f"\nDemo logins (all of them are in {demo.logins_path()}):")
        shown: set[str] = set()
        for login in logins:
            role = login["roles"][0] if login["roles"] else "-"
            if role in shown:
                continue
            shown.add(role)
            scope = login["scope"]
            where = ", ".join(scope.get("teams") or scope.get("programs") or [])
            self.stdout.write(
                f"  {role:<8} {login['username']:<16} {login['password']:<16} {where}"
            )
        self.stdout.write("")
