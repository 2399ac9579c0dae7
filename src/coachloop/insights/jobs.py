"""The worker keeps each program's stored diagnosis context current (``contexts.py``): when it
has nothing queued it checks, every CHECK_EVERY_S seconds and right after any job it ran (an
import), whether any program's data changed since its context was stored, and if so enqueues a
``contexts`` job that rebuilds those (seen, with the time each took, on the jobs page like any
other job). A check is a handful of small aggregate queries per program."""

from __future__ import annotations

from coachloop.core.jobs import Progress, idle_task, job_enqueue, job_handler
from coachloop.core.models import Job, JobStatus

KIND = "contexts"
CHECK_EVERY_S = 5.0


@job_handler(KIND)
def run_contexts_refresh(job: Job, progress: Progress) -> None:
    from coachloop.insights.contexts import contexts_refresh

    rebuilt = contexts_refresh()
    for program, seconds in rebuilt:
        progress.log(f"{program.name}: context built and stored in {seconds:.1f} s")
    if not rebuilt:
        progress.log("Every program's context was already current")


@idle_task(KIND, every_s=CHECK_EVERY_S)
def enqueue_when_stale() -> None:
    from coachloop.insights.contexts import stale_programs

    pending = Job.objects.filter(kind=KIND, status__in=[JobStatus.QUEUED, JobStatus.RUNNING])
    if not pending.exists() and stale_programs():
        job_enqueue(kind=KIND, params={})
