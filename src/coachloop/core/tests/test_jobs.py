"""The job runner: atomic claims, visible status and errors, stale jobs swept."""

from __future__ import annotations

import pytest
from django.utils import timezone

from coachloop.core import jobs
from coachloop.core.models import Job, JobStatus
from coachloop.core.tests.workers import worker_polls

pytestmark = pytest.mark.django_db
ran: list[int] = []


@jobs.job_handler("test-ok")
def _ok(job: Job, progress: jobs.Progress) -> None:
    progress(0.5, "half way", force=True)
    progress.log("did the thing")
    ran.append(job.pk)


@jobs.job_handler("test-boom")
def _boom(job: Job, progress: jobs.Progress) -> None:
    raise ValueError("the file is gone")


abandoned: list[tuple[int, str]] = []


@jobs.job_handler("test-abandon", on_abandoned=lambda job, why: abandoned.append((job.pk, why)))
def _never(job: Job, progress: jobs.Progress) -> None:
    raise AssertionError("not run in these tests")


def test_a_queued_job_is_claimed_once_and_runs_to_success() -> None:
    job = jobs.job_enqueue(kind="test-ok", params={})
    claimed = jobs.job_claim(worker="host:1")
    assert claimed is not None and claimed.pk == job.pk
    assert jobs.job_claim(worker="host:2") is None  # nothing left to claim
    finished = jobs.job_run(claimed)
    assert finished.status == JobStatus.SUCCEEDED
    assert finished.progress == 1.0
    assert "did the thing" in finished.log
    assert job.pk in ran


def test_a_second_worker_cannot_claim_a_job_already_claimed() -> None:
    job = jobs.job_enqueue(kind="test-ok", params={})
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, worker="other:1")
    assert jobs.job_claim(worker="host:2") is None


def test_a_failing_job_records_its_error_and_traceback() -> None:
    job = jobs.job_run_inline(kind="test-boom", params={})
    assert job.status == JobStatus.FAILED
    assert job.error == "ValueError: the file is gone"
    assert "Traceback" in job.log


def test_a_running_job_whose_process_died_is_swept_as_failed() -> None:
    job = jobs.job_enqueue(kind="test-abandon", params={})
    dead_pid = 2**22 + 12345  # above the kernel's pid_max: no such process
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING,
        heartbeat_at=timezone.now(),
        worker=f"{jobs.worker_name().rpartition(':')[0]}:{dead_pid}",
    )
    swept = jobs.jobs_sweep_stale()
    job.refresh_from_db()
    assert [j.pk for j in swept] == [job.pk]
    assert job.status == JobStatus.FAILED
    assert "process stopped" in job.error
    assert abandoned[-1] == (job.pk, "its process stopped")


def test_a_live_running_job_is_left_alone() -> None:
    job = jobs.job_enqueue(kind="test-abandon", params={})
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, heartbeat_at=timezone.now(), worker=jobs.worker_name()
    )
    assert jobs.jobs_sweep_stale() == []


def test_the_worker_loop_runs_what_is_queued_and_stops() -> None:
    first = jobs.job_enqueue(kind="test-ok", params={})
    second = jobs.job_enqueue(kind="test-ok", params={})
    assert jobs.worker_loop(once=True, poll_s=0) == 2
    assert set(
        Job.objects.filter(pk__in=[first.pk, second.pk]).values_list("status", flat=True)
    ) == {JobStatus.SUCCEEDED}


def test_an_unknown_job_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="Unknown job kind"):
        jobs.job_enqueue(kind="nope", params={})


def test_a_silent_job_of_a_live_process_on_this_machine_is_not_swept() -> None:
    job = jobs.job_enqueue(kind="test-abandon", params={})
    long_ago = timezone.now() - jobs.HEARTBEAT_STALE_AFTER * 3
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, heartbeat_at=long_ago, worker=jobs.worker_name()
    )
    assert jobs.jobs_sweep_stale() == []


def test_a_silent_job_of_another_machine_is_swept() -> None:
    job = jobs.job_enqueue(kind="test-abandon", params={})
    long_ago = timezone.now() - jobs.HEARTBEAT_STALE_AFTER * 3
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, heartbeat_at=long_ago, worker="elsewhere.example:42"
    )
    assert [j.pk for j in jobs.jobs_sweep_stale()] == [job.pk]


def test_idle_tasks_run_when_the_queue_is_empty_and_again_right_after_a_job(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    jobs._load_kinds()  # the apps' idle tasks, which this test sets aside
    calls: list[str] = []
    monkeypatch.setattr(jobs, "_IDLE", {})
    jobs.idle_task("test-check", every_s=3600)(lambda: calls.append("check"))
    worker_polls(3)
    assert calls == ["check"]  # due at once, then not for an hour
    jobs.job_enqueue(kind="test-ok", params={})
    worker_polls(3)
    assert calls == ["check", "check"]  # the job may have changed data: checked again


def test_a_failing_idle_task_does_not_stop_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    jobs._load_kinds()
    monkeypatch.setattr(jobs, "_IDLE", {})

    def broken() -> None:
        raise RuntimeError("the check failed")

    jobs.idle_task("test-broken", every_s=0)(broken)
    queued = jobs.job_enqueue(kind="test-ok", params={})
    worker_polls(4)
    queued.refresh_from_db()
    assert queued.status == JobStatus.SUCCEEDED
