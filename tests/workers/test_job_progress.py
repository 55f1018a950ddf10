"""Progress on a running job's row: written at a bounded rate, only by the attempt that holds the job,
and shown by `vitalis jobs`."""

from __future__ import annotations

from sqlalchemy import func, update

from db import jobs
from db.engine import worker_scope
from db.models import IngestionJob
from db.models.enums import JobType
from workers.cli import main
from workers.job_progress import JobProgress
from workers.tasks import create_job


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _claimed(user) -> jobs.JobSnapshot:
    job_id = create_job(JobType.APPLE_HEALTH_IMPORT, user_id=user, payload={"document_id": "x"})
    with worker_scope() as session:
        return jobs.claim(session, job_id, task_id=None, lease_seconds=30).job


def _result(job_id) -> dict | None:
    with worker_scope() as session:
        return jobs.get(session, job_id).result


def test_progress_is_written_at_most_once_per_interval(committed_users) -> None:
    user, _ = committed_users
    job = _claimed(user)
    clock = Clock()
    progress = JobProgress(job, interval=1.0, clock=clock)

    assert progress.update({"records": 10, "fraction": 0.1}, document_id="d")
    assert _result(job.job_id) == {"document_id": "d", "progress": {"records": 10, "fraction": 0.1}}
    clock.now += 0.5
    assert not progress.update({"records": 20, "fraction": 0.2}, document_id="d")
    assert _result(job.job_id)["progress"]["records"] == 10
    clock.now += 0.5
    assert progress.update({"records": 30, "fraction": 0.3}, document_id="d")
    assert _result(job.job_id)["progress"]["records"] == 30


def test_an_attempt_that_no_longer_holds_the_job_writes_nothing(committed_users) -> None:
    user, _ = committed_users
    job = _claimed(user)
    JobProgress(job, interval=0).update({"records": 5})
    with worker_scope() as session:
        # The lease ran out and another attempt claimed the job.
        session.execute(
            update(IngestionJob).where(IngestionJob.job_id == job.job_id).values(lease_expires_at=func.now())
        )
    with worker_scope() as session:
        successor = jobs.claim(session, job.job_id, task_id=None, lease_seconds=30)
    assert successor.outcome is jobs.Outcome.CLAIMED and successor.job.attempts == 2

    assert not JobProgress(job, interval=0).update({"records": 999})  # the stale attempt
    assert _result(job.job_id) == {"progress": {"records": 5}}
    with worker_scope() as session:
        jobs.succeed(session, job.job_id, successor.token, {"records": 40})
    assert not JobProgress(successor.job, interval=0).update({"records": 41})  # after the end
    assert _result(job.job_id) == {"records": 40}


def test_vitalis_jobs_shows_a_running_job_s_progress(committed_users, capsys) -> None:
    user, _ = committed_users
    job = _claimed(user)
    JobProgress(job, interval=0).update({"records": 120_000, "rows": 3_000, "fraction": 0.4213}, document_id="d")

    assert main(["jobs", "-n", "50"]) == 0

    out = capsys.readouterr().out
    assert f"{job.job_id}\n" in out
    note = out.split(f"{job.job_id}\n", 1)[1].splitlines()[0]
    head, rest = note.strip().split(": ", 1)
    counts, extra = rest.split("; ")
    assert (head, set(counts.split(", ")), extra) == ("└ 42% done", {"records=120000", "rows=3000"}, "document_id=d")
