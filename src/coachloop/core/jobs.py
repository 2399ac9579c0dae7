"""The job runner: the database is the queue (ARCHITECTURE.md, "Background work").

A job kind is a function registered with ``@job_handler("kind")``; it receives the Job and a
``Progress`` to report through. An idle task (``@idle_task("name", every_s=...)``) is a cheap
check the worker runs between jobs at most that often, which may enqueue a job (the insights
app's one keeps each program's stored diagnosis context current). ``coachloop worker`` claims
and runs queued jobs; commands run their job inline with ``job_run_inline``. A job whose
process died (killed, machine restarted) is found by ``jobs_sweep_stale`` and marked failed, and
its kind's ``on_abandoned`` hook cleans up (for an import: drop its staging table, mark the
batch failed).
"""

from __future__ import annotations

import logging
import os
import socket
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from coachloop.core.models import Job, JobStatus

logger = logging.getLogger(__name__)

HEARTBEAT_STALE_AFTER = timedelta(minutes=10)
PROGRESS_WRITE_INTERVAL_S = 0.5
LOG_LIMIT = 50_000


@dataclass(frozen=True)
class JobKind:
    run: Callable[[Job, Progress], None]
    on_abandoned: Callable[[Job, str], None] | None = None


_KINDS: dict[str, JobKind] = {}


@dataclass
class IdleTask:
    run: Callable[[], None]
    every_s: float
    last_run: float = float("-inf")


_IDLE: dict[str, IdleTask] = {}


def job_handler(
    kind: str, *, on_abandoned: Callable[[Job, str], None] | None = None
) -> Callable[[Callable[[Job, Progress], None]], Callable[[Job, Progress], None]]:
    """Register ``function`` as the runner of jobs of ``kind``."""

    def register(function: Callable[[Job, Progress], None]) -> Callable[[Job, Progress], None]:
        _KINDS[kind] = JobKind(run=function, on_abandoned=on_abandoned)
        return function

    return register


def idle_task(name: str, *, every_s: float) -> Callable[[Callable[[], None]], Callable[[], None]]:
    """Register ``function`` to run when the worker has nothing queued, at most every
    ``every_s`` seconds, and at once after the worker has run a job."""

    def register(function: Callable[[], None]) -> Callable[[], None]:
        _IDLE[name] = IdleTask(run=function, every_s=every_s)
        return function

    return register


def _load_kinds() -> None:
    # Job kinds and idle tasks live in their apps; importing the modules registers them.
    import coachloop.ingest.jobs
    import coachloop.insights.jobs  # noqa: F401


def idle_tasks_make_due() -> None:
    """Every idle task runs at the worker's next idle moment, however recently it ran."""
    for task in _IDLE.values():
        task.last_run = float("-inf")


def jobs_run_idle_tasks() -> None:
    """Run the idle tasks that are due. One that fails is logged and tried again when next
    due: a check must never stop the worker."""
    _load_kinds()
    for name, task in _IDLE.items():
        now = time.monotonic()
        if now - task.last_run < task.every_s:
            continue
        task.last_run = now
        try:
            task.run()
        except Exception:
            logger.exception("Idle task %s failed", name)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Progress:
    """Reports progress on a job: throttled writes, so a tight loop costs nothing."""

    def __init__(self, job: Job, echo: Callable[[float, str], None] | None = None) -> None:
        self.job = job
        self.echo = echo
        self._last_write = 0.0

    def __call__(self, fraction: float, text: str = "", *, force: bool = False) -> None:
        fraction = min(max(fraction, 0.0), 1.0)
        if self.echo is not None:
            self.echo(fraction, text)
        now = time.monotonic()
        if not force and now - self._last_write < PROGRESS_WRITE_INTERVAL_S:
            return
        self._last_write = now
        self.job.progress, self.job.progress_text = fraction, text[:200]
        Job.objects.filter(pk=self.job.pk).update(
            progress=fraction, progress_text=text[:200], heartbeat_at=timezone.now()
        )

    def log(self, line: str) -> None:
        self.job.log = (self.job.log + line + "\n")[-LOG_LIMIT:]
        Job.objects.filter(pk=self.job.pk).update(log=self.job.log, heartbeat_at=timezone.now())


def job_enqueue(*, kind: str, params: dict[str, Any], by: Any = None) -> Job:
    _load_kinds()
    if kind not in _KINDS:
        raise ValueError(f"Unknown job kind {kind!r}")
    created_by = by if by is not None and getattr(by, "is_authenticated", False) else None
    return Job.objects.create(kind=kind, params=params, created_by=created_by)


def job_claim(*, worker: str | None = None) -> Job | None:
    """Claim the oldest queued job, or None. Safe with any number of workers: the claim is a
    conditional update, and only the worker whose update changed the row runs the job."""
    name = worker or worker_name()
    for _ in range(5):
        candidate = Job.objects.filter(status=JobStatus.QUEUED).order_by("created_at", "id").first()
        if candidate is None:
            return None
        now = timezone.now()
        claimed = Job.objects.filter(pk=candidate.pk, status=JobStatus.QUEUED).update(
            status=JobStatus.RUNNING, started_at=now, heartbeat_at=now, worker=name
        )
        if claimed == 1:
            candidate.refresh_from_db()
            return candidate
    return None


def job_run(job: Job, *, echo: Callable[[float, str], None] | None = None) -> Job:
    """Run a claimed job to the end; its status, error and log say how it went."""
    _load_kinds()
    kind = _KINDS[job.kind]
    progress = Progress(job, echo)
    try:
        kind.run(job, progress)
    except Exception as exc:
        logger.exception("Job %s failed", job)
        Job.objects.filter(pk=job.pk).update(
            status=JobStatus.FAILED,
            error=f"{exc.__class__.__name__}: {exc}"[:2000],
            log=(job.log + traceback.format_exc())[-LOG_LIMIT:],
            finished_at=timezone.now(),
        )
    else:
        Job.objects.filter(pk=job.pk).update(
            status=JobStatus.SUCCEEDED, progress=1.0, finished_at=timezone.now()
        )
    job.refresh_from_db()
    return job


def job_run_inline(
    *,
    kind: str,
    params: dict[str, Any],
    by: Any = None,
    echo: Callable[[float, str], None] | None = None,
) -> Job:
    """What commands do: create the job and run it in this process, visible like any other."""
    job = job_enqueue(kind=kind, params=params, by=by)
    now = timezone.now()
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, started_at=now, heartbeat_at=now, worker=worker_name()
    )
    job.refresh_from_db()
    return job_run(job, echo=echo)


def _process_is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def jobs_sweep_stale() -> list[Job]:
    """Mark failed the running jobs whose process is gone (same host) or whose heartbeat is old."""
    _load_kinds()
    host = socket.gethostname()
    stale: list[Job] = []
    cutoff = timezone.now() - HEARTBEAT_STALE_AFTER
    for job in Job.objects.filter(status=JobStatus.RUNNING):
        job_host, _, pid = job.worker.rpartition(":")
        here = job_host == host and pid.isdigit()
        dead_here = here and not _process_is_alive(int(pid))
        # Silence only counts for a job on another machine: a live process here may be in a
        # long step (a big roster transaction) that reports no progress.
        silent = not here and (job.heartbeat_at is None or job.heartbeat_at < cutoff)
        if not (dead_here or silent):
            continue
        reason = "its process stopped" if dead_here else "no heartbeat for 10 minutes"
        with transaction.atomic():
            updated = Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
                status=JobStatus.FAILED,
                error=f"Abandoned: {reason} (worker {job.worker})",
                finished_at=timezone.now(),
            )
        if updated:
            job.refresh_from_db()
            kind = _KINDS.get(job.kind)
            if kind is not None and kind.on_abandoned is not None:
                kind.on_abandoned(job, reason)
            stale.append(job)
    return stale


def worker_loop(
    *, once: bool = False, poll_s: float = 1.0, stop: Callable[[], bool] | None = None
) -> int:
    """Claim and run jobs until stopped; returns how many ran."""
    jobs_sweep_stale()
    ran = 0
    last_sweep = time.monotonic()
    while stop is None or not stop():
        job = job_claim()
        if job is not None:
            job_run(job)
            ran += 1
            # A job may have changed data (an import): the checks run as soon as it is idle.
            idle_tasks_make_due()
            continue
        if once:
            break
        jobs_run_idle_tasks()
        if time.monotonic() - last_sweep > 60:
            jobs_sweep_stale()
            last_sweep = time.monotonic()
        time.sleep(poll_s)
    return ran
