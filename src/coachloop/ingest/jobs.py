"""The import job kind: the worker (or a command, inline) runs a batch."""

from __future__ import annotations

from coachloop.core.jobs import Progress, job_handler
from coachloop.core.models import Job


def _abandoned(job: Job, reason: str) -> None:
    from coachloop.ingest.services import import_abandon

    import_abandon(batch_id=int(job.params["batch_id"]), reason=reason)


@job_handler("import", on_abandoned=_abandoned)
def run_import(job: Job, progress: Progress) -> None:
    from coachloop.ingest.models import ImportBatch
    from coachloop.ingest.services import import_run

    batch = ImportBatch.objects.get(pk=job.params["batch_id"])
    try:
        import_run(batch=batch, progress=progress)
    except Exception as exc:
        # The job shows the traceback; the batch must not stay "running" for ever.
        _abandoned(job, f"{exc.__class__.__name__}: {exc}")
        raise
