"""Celery tasks: thin wrappers that take a job id and call plain functions (see workers.jobtask)."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from celery import Celery, Task, shared_task
from sqlalchemy.exc import SQLAlchemyError

from db import jobs, partitions
from db.engine import admin_scope, user_scope, worker_scope
from db.models.enums import DataSource, JobType
from workers import daily, delivery
from workers.jobtask import JobTask

log = logging.getLogger(__name__)


class JobNotSaved(RuntimeError):
    """The job row could not be written, so nothing was queued."""


@shared_task(bind=True, base=JobTask, name="vitalis.ingest.manual_daily")
def ingest_manual_daily(self: JobTask, job_id: str) -> dict[str, Any]:
    """Record a daily summary a person typed in (payload: date, metrics)."""

    def work(job: jobs.JobSnapshot) -> dict[str, Any]:
        if job.user_id is None:
            raise ValueError("a manual daily summary needs a user")
        with user_scope(job.user_id, request_id=job.job_id) as session:
            return daily.record_daily(session, job.user_id, DataSource.MANUAL, job.payload)

    return self.run_job(job_id, work)


@shared_task(bind=True, base=JobTask, name="vitalis.nightly")
def nightly(self: JobTask, job_id: str | None = None) -> dict[str, Any]:
    """The nightly run: partition upkeep ahead of need, then one insights batch job per
    `vitalis_insights_batch_size` users whose insights are stale, never computed or expired."""
    if job_id is None:  # started by beat: the run records itself
        job_id = str(create_job(JobType.NIGHTLY, task_id=self.request.id, task_name=self.name))

    def work(job: jobs.JobSnapshot) -> dict[str, Any]:
        from workers.nightly_insights import fan_out

        with admin_scope() as session:
            result: dict[str, Any] = partitions.ensure_ahead(session)
        # The night's date is fixed here, so every batch (and its retries) computes the same night.
        today = datetime.now(UTC).date()
        batch_size = int(self.app.conf.get("vitalis_insights_batch_size", 50))
        result["insights"] = fan_out(self.app, job.job_id, today, batch_size)
        return result

    return self.run_job(job_id, work)


def create_job(
    job_type: JobType,
    *,
    user_id: uuid.UUID | None = None,
    source: DataSource | None = None,
    payload: dict[str, Any] | None = None,
    max_attempts: int = JobTask.max_retries + 1,
    task_id: str | None = None,
    task_name: str | None = None,
) -> uuid.UUID:
    with worker_scope() as session:
        return jobs.create(
            session,
            job_type=job_type,
            user_id=user_id,
            source=source,
            payload=payload,
            max_attempts=max_attempts,
            task_id=task_id,
            task_name=task_name,
        )


@shared_task(bind=True, name="vitalis.jobs.sweep", ignore_result=True)
def sweep(self: Task) -> dict[str, int]:
    """Send lost jobs again and take up jobs whose worker died (see workers.delivery)."""
    return delivery.sweep(self.app)


def enqueue(
    task: Task | str,
    job_type: JobType,
    *,
    user_id: uuid.UUID | None = None,
    source: DataSource | None = None,
    payload: dict[str, Any] | None = None,
) -> uuid.UUID:
    """Record a queued job, then send its task. The job row is committed before the message exists, so
    a worker never receives a job id it cannot find. A task given by name is looked up on workers.app.

    If the broker does not take the message (stopped, frozen: the timeouts in celeryconfig bound the
    wait), the row says so and BrokerUnavailable is raised; the sweeper sends the job once the broker
    is back, so the job is delayed, not lost."""
    if isinstance(task, str):
        from workers.app import app

        task = app.tasks[task]
    task_id = str(uuid.uuid4())
    try:
        job_id = create_job(
            job_type,
            user_id=user_id,
            source=source,
            payload=payload,
            max_attempts=task.max_retries + 1,
            task_id=task_id,
            task_name=task.name,
        )
    except SQLAlchemyError as exc:
        # The driver's message can quote the statement's values (the payload): name only the kind.
        raise JobNotSaved(f"the job could not be saved ({type(exc).__name__}); nothing was queued") from None
    app: Celery = task.app
    try:
        delivery.send(app, task.name, job_id, task_id)
    except delivery.SEND_ERRORS as exc:
        note = delivery.unsent_note(app, exc)
        try:
            with worker_scope() as session:
                jobs.mark_unsent(session, [job_id], note)
        except SQLAlchemyError as db_exc:  # the row still looks sent; the sweeper resends it a little later
            log.warning("job %s: could not note the failed send (%s)", job_id, type(db_exc).__name__)
        raise delivery.BrokerUnavailable(f"job {job_id} is saved but not sent: {note}", job_id) from None
    return job_id
