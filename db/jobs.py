"""`ingestion_jobs` bookkeeping: what happened to each upload, sync and nightly run.

The job row is the truth and a broker message only says "look at job X". A job is created (queued)
before its task is sent; an attempt claims it with a lease (one conditional UPDATE, so only one
attempt can move it to running) and renews the lease while it works; its final write counts only if
it still holds the claim. Jobs whose message was lost or whose worker died are found again by
`sweep`. Every state change is its own short transaction, so a user can follow a job while it runs.
Times come from the database's clock, so workers with skewed clocks agree on when a lease ran out.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, update
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
    payload: Any
    status: JobStatus
    attempts: int
    max_attempts: int
    result: dict[str, Any] | None
    error_message: str | None
    task_id: str | None


class JobNotFound(LookupError):
    pass


class Outcome(enum.Enum):
    CLAIMED = "claimed"  # this attempt holds the job: run it
    FINISHED = "finished"  # it succeeded earlier: hand back its result
    CLOSED = "closed"  # it failed or was canceled earlier: nothing to do
    BUSY = "busy"  # another attempt holds a live lease: this delivery is a duplicate
    EXHAUSTED = "exhausted"  # no attempts left: the job has just been failed


@dataclass(frozen=True, slots=True)
class Claim:
    outcome: Outcome
    job: JobSnapshot
    token: uuid.UUID | None = None


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
    task_name: str | None = None,
) -> uuid.UUID:
    job = IngestionJob(
        task_id=task_id,
        task_name=task_name,
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


def _snapshot(job: IngestionJob) -> JobSnapshot:
    return JobSnapshot(
        job_id=job.job_id,
        user_id=job.user_id,
        job_type=job.job_type,
        source=job.source,
        payload=job.payload if job.payload is not None else {},  # a task checks its shape
        status=job.status,
        attempts=job.attempts,
        max_attempts=job.max_attempts,
        result=job.result,
        error_message=job.error_message,
        task_id=job.task_id,
    )


def _lease_ran_out() -> ColumnElement[bool]:
    # A running row with no lease predates leases: nobody can be holding it.
    return or_(IngestionJob.lease_expires_at.is_(None), IngestionJob.lease_expires_at < func.now())


def _takeable() -> ColumnElement[bool]:
    return or_(
        IngestionJob.status == JobStatus.QUEUED,
        and_(IngestionJob.status == JobStatus.RUNNING, _lease_ran_out()),
    )


def _held(job_id: uuid.UUID | str, token: uuid.UUID) -> ColumnElement[bool]:
    return and_(
        IngestionJob.job_id == uuid.UUID(str(job_id)),
        IngestionJob.claim_token == token,
        IngestionJob.status == JobStatus.RUNNING,
    )


def _exhausted_message() -> ColumnElement[str]:
    return func.format(
        "the worker stopped before finishing attempt %s of %s, and no attempts are left",
        IngestionJob.attempts,
        IngestionJob.max_attempts,
    )


def claim(session: Session, job_id: uuid.UUID | str, *, task_id: str | None, lease_seconds: float) -> Claim:
    """Take the job for one attempt, or say why this delivery must not run it."""
    jid = uuid.UUID(str(job_id))
    token = uuid.uuid4()
    taken = session.scalars(
        update(IngestionJob)
        .where(IngestionJob.job_id == jid, _takeable(), IngestionJob.attempts < IngestionJob.max_attempts)
        .values(
            status=JobStatus.RUNNING,
            attempts=IngestionJob.attempts + 1,
            claim_token=token,
            lease_expires_at=func.now() + timedelta(seconds=lease_seconds),
            started_at=func.now(),
            next_retry_at=None,
            task_id=task_id,
        )
        .returning(IngestionJob)
        .execution_options(populate_existing=True)
    ).one_or_none()
    if taken is not None:
        return Claim(Outcome.CLAIMED, _snapshot(taken), token)
    # A delivery after the last attempt's worker died: the job ends here, with a reason a person can read.
    exhausted = session.scalars(
        update(IngestionJob)
        .where(IngestionJob.job_id == jid, _takeable(), IngestionJob.attempts >= IngestionJob.max_attempts)
        .values(
            status=JobStatus.FAILED,
            error_message=_exhausted_message(),
            completed_at=func.now(),
            claim_token=None,
            lease_expires_at=None,
            next_retry_at=None,
        )
        .returning(IngestionJob)
        .execution_options(populate_existing=True)
    ).one_or_none()
    if exhausted is not None:
        return Claim(Outcome.EXHAUSTED, _snapshot(exhausted))
    job = session.get(IngestionJob, jid, populate_existing=True)
    if job is None:
        raise JobNotFound(f"no ingestion job {job_id}")
    if job.status == JobStatus.SUCCEEDED:
        return Claim(Outcome.FINISHED, _snapshot(job))
    if job.status in (JobStatus.FAILED, JobStatus.CANCELED):
        return Claim(Outcome.CLOSED, _snapshot(job))
    return Claim(Outcome.BUSY, _snapshot(job))


def renew(session: Session, job_id: uuid.UUID | str, token: uuid.UUID, lease_seconds: float) -> bool:
    """Extend this attempt's lease; False if it no longer holds the job."""
    renewed = session.execute(
        update(IngestionJob)
        .where(_held(job_id, token))
        .values(lease_expires_at=func.now() + timedelta(seconds=lease_seconds))
        .returning(IngestionJob.job_id)
    ).first()
    return renewed is not None


def _finish(session: Session, job_id: uuid.UUID | str, token: uuid.UUID, **values: Any) -> bool:
    done = session.execute(
        update(IngestionJob)
        .where(_held(job_id, token))
        .values(claim_token=None, lease_expires_at=None, **values)
        .returning(IngestionJob.job_id)
    ).first()
    return done is not None


def succeed(session: Session, job_id: uuid.UUID | str, token: uuid.UUID, result: dict[str, Any]) -> bool:
    """Record the result; False (and nothing written) if this attempt lost its claim."""
    return _finish(
        session,
        job_id,
        token,
        status=JobStatus.SUCCEEDED,
        result=result,
        error_message=None,
        completed_at=func.now(),
    )


def retry_later(session: Session, job_id: uuid.UUID | str, token: uuid.UUID, error: str, countdown: float) -> bool:
    return _finish(
        session,
        job_id,
        token,
        status=JobStatus.QUEUED,
        error_message=error[:ERROR_LIMIT],
        next_retry_at=func.now() + timedelta(seconds=countdown),
        dispatched_at=func.now(),
    )


def fail(session: Session, job_id: uuid.UUID | str, token: uuid.UUID, error: str) -> bool:
    return _finish(
        session,
        job_id,
        token,
        status=JobStatus.FAILED,
        error_message=error[:ERROR_LIMIT],
        completed_at=func.now(),
        next_retry_at=None,
    )


def mark_unsent(session: Session, job_ids: Sequence[uuid.UUID], note: str) -> None:
    """The broker did not take these jobs' messages: say so, and leave them for the sweeper."""
    session.execute(
        update(IngestionJob)
        .where(IngestionJob.job_id.in_(job_ids), IngestionJob.status == JobStatus.QUEUED)
        .values(dispatched_at=None, error_message=note[:ERROR_LIMIT])
    )


@dataclass(frozen=True, slots=True)
class Resend:
    job_id: uuid.UUID
    task_name: str
    task_id: str | None
    not_before: datetime | None  # a retry's due time, kept when its message is sent again


@dataclass(frozen=True, slots=True)
class SweepPlan:
    resend: list[Resend]
    requeued: int  # running jobs whose lease ran out, queued again
    failed: int  # jobs that cannot run again (no attempts left, or no task to send)
    closed: list[JobSnapshot] = field(default_factory=list)  # those jobs, as failed here


def sweep(session: Session, *, resend_after: float, limit: int = 200) -> SweepPlan:
    """Find jobs nobody is working on and decide their fate; the caller sends the messages after commit.

    Queued jobs whose message was not taken (the send failed, or it was sent `resend_after` seconds
    ago, or its retry was due that long ago) are sent again; running jobs whose lease ran out are
    queued again while attempts are left, else failed. SKIP LOCKED lets sweepers run side by side.
    """
    now = session.scalar(select(func.now()))
    overdue = now - timedelta(seconds=resend_after)
    stale = or_(
        and_(
            IngestionJob.status == JobStatus.QUEUED,
            or_(
                IngestionJob.dispatched_at.is_(None),
                func.greatest(IngestionJob.dispatched_at, IngestionJob.next_retry_at) < overdue,
            ),
        ),
        and_(IngestionJob.status == JobStatus.RUNNING, _lease_ran_out()),
    )
    rows = session.scalars(
        select(IngestionJob)
        .where(stale)
        .order_by(IngestionJob.queued_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    resend: list[Resend] = []
    closed: list[JobSnapshot] = []
    requeued = failed = 0
    for job in rows:
        lost_attempt = job.status == JobStatus.RUNNING
        if lost_attempt and job.attempts >= job.max_attempts:
            _close(
                job,
                now,
                f"the worker stopped before finishing attempt {job.attempts} of {job.max_attempts}, "
                "and no attempts are left",
            )
            failed += 1
            closed.append(_snapshot(job))
            continue
        if not job.task_name:
            _close(job, now, "the job's message was lost and the job does not record which task runs it")
            failed += 1
            closed.append(_snapshot(job))
            continue
        if lost_attempt:
            requeued += 1
            job.status = JobStatus.QUEUED
            job.claim_token = None
            job.lease_expires_at = None
            job.error_message = (
                f"attempt {job.attempts} stopped before it finished (its worker was lost); it was sent again"
            )
        job.dispatched_at = now
        not_before = job.next_retry_at if job.next_retry_at and job.next_retry_at > now else None
        resend.append(Resend(job.job_id, job.task_name, job.task_id, not_before))
    session.flush()
    return SweepPlan(resend, requeued, failed, closed)


def _close(job: IngestionJob, now: datetime, reason: str) -> None:
    job.status = JobStatus.FAILED
    job.error_message = reason
    job.completed_at = now
    job.claim_token = None
    job.lease_expires_at = None
    job.next_retry_at = None


def get(session: Session, job_id: uuid.UUID | str) -> JobSnapshot:
    job = session.get(IngestionJob, uuid.UUID(str(job_id)), populate_existing=True)
    if job is None:
        raise JobNotFound(f"no ingestion job {job_id}")
    return _snapshot(job)


def recent(session: Session, *, limit: int = 20, user_id: uuid.UUID | None = None) -> list[IngestionJob]:
    query = select(IngestionJob).order_by(IngestionJob.queued_at.desc()).limit(limit)
    if user_id is not None:
        query = query.where(IngestionJob.user_id == user_id)
    return list(session.scalars(query))
