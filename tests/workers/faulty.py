"""Tasks that misbehave on purpose, imported by the worker processes of tests/workers/test_faults.py."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

from celery import shared_task

from db import jobs
from db.engine import user_scope
from db.models.enums import DataSource
from workers import daily
from workers.jobtask import JobTask, TransientError


@shared_task(bind=True, base=JobTask, name="tests.faults.daily")
def daily_that_holds(self: JobTask, job_id: str) -> dict[str, Any]:
    """The manual daily task, which then holds on for `hold` seconds on the attempts listed in `hold_on`
    (after its rows are committed), leaving a marker file so a test knows when to strike."""

    def work(job: jobs.JobSnapshot) -> dict[str, Any]:
        spec = dict(job.payload)
        hold, hold_on = spec.pop("hold", 0), spec.pop("hold_on", [])
        with user_scope(job.user_id, request_id=job.job_id) as session:
            result = daily.record_daily(session, job.user_id, DataSource.MANUAL, spec)
        if job.attempts in hold_on:
            Path(os.environ["VITALIS_FAULT_DIR"], f"{job.job_id}.{job.attempts}").touch()
            time.sleep(hold)
        return result

    return self.run_job(job_id, work)


@shared_task(bind=True, base=JobTask, name="tests.faults.flaky_daily")
def flaky_daily(self: JobTask, job_id: str) -> dict[str, Any]:
    """Fails transiently on its first attempt, after holding on for `hold` seconds (a marker file says
    when), then records the day."""

    def work(job: jobs.JobSnapshot) -> dict[str, Any]:
        spec = dict(job.payload)
        hold = spec.pop("hold", 0)
        if job.attempts == 1:
            Path(os.environ["VITALIS_FAULT_DIR"], f"{job.job_id}.1").touch()
            time.sleep(hold)
            raise TransientError("provider answered 503 Service Unavailable")
        with user_scope(job.user_id, request_id=job.job_id) as session:
            return daily.record_daily(session, job.user_id, DataSource.MANUAL, spec)

    return self.run_job(job_id, work)


@shared_task(bind=True, base=JobTask, name="tests.faults.kill_worker", max_retries=1)
def kill_worker(self: JobTask, job_id: str) -> dict[str, Any]:
    """Kills the process running it, every time (a poison task: a parser that segfaults, an OOM kill).
    Two attempts, not the usual four, to keep the test short: the bound is what is tested."""

    def work(job: jobs.JobSnapshot) -> dict[str, Any]:
        os.kill(os.getpid(), signal.SIGKILL)
        return {}

    return self.run_job(job_id, work)
