"""An Apple Health import that can be struck midway, imported by the worker processes of
tests/workers/test_apple_tasks.py."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from celery import shared_task

from db import jobs
from db.apple_health import ImportProgress
from workers.apple_tasks import import_job
from workers.jobtask import JobTask

HOLD_SECONDS = 60
BATCH_SIZE = 10


@shared_task(bind=True, base=JobTask, name="tests.faults.apple_import_holding")
def apple_import_holding(self: JobTask, job_id: str) -> dict[str, Any]:
    """The Apple Health import job in batches of ten rows, which on its first attempt holds on once its
    first batch is committed and its progress recorded, leaving a marker file so a test knows when to strike."""

    def work(job: jobs.JobSnapshot) -> dict[str, Any]:
        def hold(step: ImportProgress) -> None:
            if job.attempts == 1 and step.rows_written > 0:
                Path(os.environ["VITALIS_FAULT_DIR"], f"{job.job_id}.1").touch()
                time.sleep(HOLD_SECONDS)

        return import_job(job, on_progress=hold, batch_size=BATCH_SIZE, progress_every=5)

    return self.run_job(job_id, work)
