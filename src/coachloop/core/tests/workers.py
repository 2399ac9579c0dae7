"""Running the job worker's loop in a test for a fixed number of polls."""

from __future__ import annotations

from coachloop.core import jobs


def worker_polls(count: int) -> None:
    """Run the worker loop for ``count`` polls without sleeping: a job claimed or an idle
    moment each (idle tasks run when due)."""
    polls = iter(range(count))
    jobs.worker_loop(poll_s=0, stop=lambda: next(polls, None) is None)
