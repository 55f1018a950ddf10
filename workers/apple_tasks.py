"""The Apple Health import as a job on the documents queue: an uploaded export read from the store.

The upload is a `documents` row (see db.apple_health_documents); the job's payload names it
(`{"document_id": ...}`), never carries its bytes. The task streams the stored object into the
importer, keeps progress (records, rows, bytes, fraction) on the job row, and ends with the import
report as the job's result and on the document. An export that cannot be read fails both with its
specific reason. A worker that dies midway leaves a lease nobody renews: the sweeper queues the job
again and the next attempt runs the whole import, whose idempotent upserts leave what the first
attempt wrote as it was.

A push (the JSON the iOS app Health Auto Export posts to `vitalis serve`) is the same kind of job on its
own task: its document is mapped by parsers.apple_health.push and written by the same writer.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from celery import Celery, shared_task
from sqlalchemy import select

from db import jobs
from db.apple_health import BATCH_SIZE, ImportProgress
from db.apple_health_documents import import_export_document, import_push_document, mark_failed
from db.engine import worker_scope
from db.models import IngestionJob
from db.models.enums import DataSource, JobStatus, JobType
from db.storage import StoreError
from parsers.apple_health import ExportError
from parsers.apple_health.push import PushError
from workers.job_progress import JobProgress
from workers.jobtask import JobTask, TransientError, describe, is_transient
from workers.tasks import enqueue

log = logging.getLogger(__name__)

TASK_NAME = "vitalis.documents.import_apple_health"
PUSH_TASK_NAME = "vitalis.documents.import_apple_health_push"


@shared_task(bind=True, base=JobTask, name=TASK_NAME)
def import_apple_health_export(self: JobTask, job_id: str) -> dict[str, Any]:
    """Import the Apple Health export a job's payload names (`document_id`)."""
    return self.run_job(job_id, import_job)


def enqueue_import(user_id: uuid.UUID, document_id: uuid.UUID, *, app: Celery | None = None) -> uuid.UUID:
    """Queue the import of a stored export; the job row is committed before its message is sent.
    The task is sent through `app` (default: workers.app)."""
    return enqueue(
        app.tasks[TASK_NAME] if app is not None else TASK_NAME,
        JobType.APPLE_HEALTH_IMPORT,
        user_id=user_id,
        source=DataSource.APPLE_HEALTH,
        payload={"document_id": str(document_id)},
    )


@shared_task(bind=True, base=JobTask, name=PUSH_TASK_NAME)
def import_apple_health_push(self: JobTask, job_id: str) -> dict[str, Any]:
    """Write the Health Auto Export push a job's payload names (`document_id`)."""
    return self.run_job(job_id, push_job)


def enqueue_push(user_id: uuid.UUID, document_id: uuid.UUID, *, app: Celery | None = None) -> uuid.UUID:
    """Queue the import of a stored push (see enqueue_import)."""
    return enqueue(
        app.tasks[PUSH_TASK_NAME] if app is not None else PUSH_TASK_NAME,
        JobType.APPLE_HEALTH_IMPORT,
        user_id=user_id,
        source=DataSource.APPLE_HEALTH,
        payload={"document_id": str(document_id), "push": True},
    )


def push_job(job: jobs.JobSnapshot) -> dict[str, Any]:
    """The work of one push job: the pushed document written, its report returned as the job's result."""
    if job.user_id is None:
        raise ValueError("an Apple Health push needs a user")
    document_id = document_of(job)
    try:
        try:
            report = import_push_document(job.user_id, document_id, job_id=job.job_id)
        except StoreError as exc:
            raise TransientError(str(exc)) from None
    except PushError:
        raise  # the document already says why
    except Exception as exc:
        if not is_transient(exc) or job.attempts >= job.max_attempts:
            _fail_document(job, document_id, describe(exc))
        raise
    return {"document_id": str(document_id), **report}


def import_job(
    job: jobs.JobSnapshot,
    *,
    on_progress: Callable[[ImportProgress], None] | None = None,
    workers: int | None = None,
    batch_size: int = BATCH_SIZE,
    progress_every: int = 10_000,
) -> dict[str, Any]:
    """The work of one import job: the document imported, its report returned as the job's result.

    The reader reports every `progress_every` records and the writer after every batch; the job row
    takes at most one of those a second (workers.job_progress), `on_progress` (a terminal's bar) all."""
    if job.user_id is None:
        raise ValueError("an Apple Health import needs a user")
    document_id = document_of(job)
    recorder = JobProgress(job)

    def progress(step: ImportProgress) -> None:
        recorder.update(
            {
                "records": step.records_read,
                "rows": step.rows_written,
                "bytes": step.bytes_read,
                "bytes_total": step.bytes_total,
                "fraction": round(step.fraction, 4),
            },
            document_id=str(document_id),
        )
        if on_progress is not None:
            on_progress(step)

    try:
        try:
            result = import_export_document(
                job.user_id,
                document_id,
                job_id=job.job_id,
                progress=progress,
                workers=workers,
                batch_size=batch_size,
                progress_every=progress_every,
            )
        except StoreError as exc:  # S3 unreachable or refusing: worth another try later
            raise TransientError(str(exc)) from None
    except ExportError:
        raise  # the document already says why
    except Exception as exc:
        if not is_transient(exc) or job.attempts >= job.max_attempts:
            _fail_document(job, document_id, describe(exc))
        raise
    return {"document_id": str(document_id), **result.as_dict()}


def document_of(job: jobs.JobSnapshot) -> uuid.UUID:
    raw = job.payload.get("document_id") if isinstance(job.payload, dict) else None
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        raise ValueError(f"payload.document_id {raw!r} is not a document id") from None


def active_import(user_id: uuid.UUID, document_id: uuid.UUID) -> uuid.UUID | None:
    """A queued or running import job of this document, if any."""
    with worker_scope() as session:
        return session.scalar(
            select(IngestionJob.job_id)
            .where(
                IngestionJob.user_id == user_id,
                IngestionJob.job_type == JobType.APPLE_HEALTH_IMPORT,
                IngestionJob.status.in_((JobStatus.QUEUED, JobStatus.RUNNING)),
                IngestionJob.payload["document_id"].astext == str(document_id),
            )
            .order_by(IngestionJob.queued_at.desc())
            .limit(1)
        )


def _fail_document(job: jobs.JobSnapshot, document_id: uuid.UUID, message: str) -> None:
    assert job.user_id is not None
    try:
        mark_failed(job.user_id, document_id, message, job_id=job.job_id)
    except Exception as exc:  # the job row still records the failure; the document keeps "processing"
        log.warning("job %s: the document's failure could not be recorded (%s)", job.job_id, type(exc).__name__)
