"""``coachloop serve``: the app behind gunicorn, static files by WhiteNoise."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from coachloop.core.env import env_int, env_str


class Command(BaseCommand):
    help = "Serve coachloop with gunicorn (production-grade; static files via WhiteNoise)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=env_str("COACHLOOP_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=env_int("COACHLOOP_PORT", 8000))
        parser.add_argument("--workers", type=int, default=env_int("COACHLOOP_WEB_WORKERS", 2))
        parser.add_argument("--threads", type=int, default=env_int("COACHLOOP_WEB_THREADS", 4))
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="Do not start a job worker beside the web server (run `coachloop worker`)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("collectstatic", interactive=False, verbosity=0)
        serve(
            bind=f"{options['host']}:{options['port']}",
            workers=options["workers"],
            threads=options["threads"],
            with_worker=not options["no_worker"],
        )


def start_job_worker() -> subprocess.Popen[bytes]:
    """One `coachloop worker` beside the web server, so uploads are processed out of the box."""
    return subprocess.Popen([sys.executable, "-m", "coachloop.cli", "worker"])


def serve(*, bind: str, workers: int, threads: int, with_worker: bool = True) -> None:
    from gunicorn.app.base import BaseApplication

    from coachloop.wsgi import application

    class CoachloopServer(BaseApplication):
        def load_config(self) -> None:
            config = {
                "bind": bind,
                "workers": workers,
                "threads": threads,
                "worker_class": "gthread",
                "accesslog": "-",
                "timeout": 120,
                "graceful_timeout": 20,
            }
            for key, value in config.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return application

    job_worker = start_job_worker() if with_worker else None
    try:
        CoachloopServer().run()
    finally:
        if job_worker is not None:
            job_worker.terminate()  # it finishes the job in hand, then exits
            try:
                job_worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                job_worker.kill()  # its job is swept as failed at the next start
