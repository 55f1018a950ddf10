"""`ingestion_jobs` bookkeeping: what happened to each upload, sync and nightly run.

A job row is created (queued) before its task is sent, and every state change is its own short
transaction, so a user can follow a job while it runs and a crash leaves the last known state.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import IngestionJob
from db.models.enums import DataSource, JobStatus, JobType

ERROR_LIMIT = 4000


@dataclass(frozen=True, slots=True)
class JobSnapshot:
    """What a task needs to know about its job, detached from any session."""

    job_id: uuid.UUID
    user_id: uuid.UUID | None
    job_type: JobType
    source: DataSource | None
    payload: dict[str, Any]
    status: JobStatus
    attempts: int
    result: dict[str, Any] | None
    error_message: str | None
    task_id: str | None


class JobNotFound(LookupError):
    pass


def create(
    session: Session,
    *,
    job_type: JobType,
    user_id: uuid.UUID | None = None,
    source: DataSource | None = None,
    payload: dict[str, Any] | None = None,
    priority: int = 5,
    max_attempts: int = 3,
    task_id: str | None = None,
) -> uuid.UUID:
    job = IngestionJob(
        task_id=task_id,
        user_id=user_id,
        job_type=job_type,
        source=source,
        payload=payload or {},
        priority=priority,
        max_attempts=max_attempts,
    )
    session.add(job)
    session.flush()
    return job.job_id


def _get(session: Session, job_id: uuid.UUID | str) -> IngestionJob:
    job = session.get(IngestionJob, uuid.UUID(str(job_id)), with_for_update=True)
    if job is None:
        raise JobNotFound(f"no ingestion job {job_id}")
    return job


def _snapshot(job: IngestionJob) -> JobSnapshot:
    return JobSnapshot(
        job_id=job.job_id,
        user_id=job.user_id,
        job_type=job.job_type,
        source=job.source,
        payload=dict(job.payload or {}),
        status=job.status,
        attempts=job.attempts,
        result=job.result,
        error_message=job.error_message,
        task_id=job.task_id,
    )


def start(session: Session, job_id: uuid.UUID | str, *, task_id: str | None) -> JobSnapshot:
    """Mark an attempt as running. A job that already succeeded is returned as is, not restarted."""
    job = _get(session, job_id)
    if job.status == JobStatus.SUCCEEDED:
        return _snapshot(job)
    job.status = JobStatus.RUNNING
    job.attempts += 1
    job.started_at = datetime.now(UTC)
    job.next_retry_at = None
    job.task_id = task_id
    session.flush()
    return _snapshot(job)


def succeed(session: Session, job_id: uuid.UUID | str, result: dict[str, Any]) -> None:
    job = _get(session, job_id)
    job.status = JobStatus.SUCCEEDED
    job.result = result
    job.error_message = None
    job.completed_at = datetime.now(UTC)


def retry_later(session: Session, job_id: uuid.UUID | str, error: str, countdown: float) -> None:
    job = _get(session, job_id)
    job.status = JobStatus.QUEUED
    job.error_message = error[:ERROR_LIMIT]
    job.next_retry_at = datetime.now(UTC) + timedelta(seconds=countdown)


def fail(session: Session, job_id: uuid.UUID | str, error: str) -> None:
    job = _get(session, job_id)
    job.status = JobStatus.FAILED
    job.error_message = error[:ERROR_LIMIT]
    job.completed_at = datetime.now(UTC)
    job.next_retry_at = None


def get(session: Session, job_id: uuid.UUID | str) -> JobSnapshot:
    job = session.get(IngestionJob, uuid.UUID(str(job_id)))
    if job is None:
        raise JobNotFound(f"no ingestion job {job_id}")
    return _snapshot(job)


def recent(session: Session, *, limit: int = 20, user_id: uuid.UUID | None = None) -> list[IngestionJob]:
    query = select(IngestionJob).order_by(IngestionJob.queued_at.desc()).limit(limit)
    if user_id is not None:
        query = query.where(IngestionJob.user_id == user_id)
    return list(session.scalars(query))
