"""The base class of every job task: ingestion_jobs bookkeeping, bounded retries, no sleeping.

A task receives a job id, re-reads the job, and runs a plain function with it. Transient failures
(a provider's 429/5xx, a dropped connection) are retried later by Celery with exponential backoff or the
provider's Retry-After; anything else fails the job at once with the error recorded on it.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import Any

from celery import Task
from celery.exceptions import SoftTimeLimitExceeded

from db import jobs
from db.engine import worker_scope
from db.models.enums import JobStatus

log = logging.getLogger(__name__)


class TransientError(Exception):
    """A failure worth retrying later; `retry_after` (seconds) is the provider's own hint, if any."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class JobFailed(Exception):
    """What leaves the worker when a job fails: the job id and the error's kind, never its message.

    The full message is on the job row, behind row-level security. Celery logs a failed task's
    exception and stores it in the result backend, and a validation message can quote a health value.
    """


def describe(exc: BaseException) -> str:
    if isinstance(exc, SoftTimeLimitExceeded):
        return "the job ran past its time limit and was stopped"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class JobTask(Task):
    acks_late = True
    max_retries = 3

    def retry_countdown(self, exc: TransientError) -> float:
        base = float(self.app.conf.get("vitalis_retry_base_seconds", 30))
        cap = float(self.app.conf.get("vitalis_retry_max_seconds", 3600))
        backoff = min(cap, base * 2**self.request.retries)
        # Full jitter spreads a burst of retries (many users hitting one provider's outage) over time.
        countdown = random.uniform(backoff / 2, backoff)  # noqa: S311 (not cryptographic)
        return max(countdown, exc.retry_after or 0.0)

    def run_job(self, job_id: str, work: Callable[[jobs.JobSnapshot], dict[str, Any]]) -> dict[str, Any]:
        with worker_scope() as session:
            job = jobs.start(session, job_id, task_id=self.request.id)
        if job.status == JobStatus.SUCCEEDED:
            # Redelivered after it finished (acks_late and a lost ack): the work is done, do not redo it.
            return job.result or {}
        log.info("job %s (%s) attempt %d started", job.job_id, job.job_type, job.attempts)
        try:
            result = work(job)
        except TransientError as exc:
            if self.request.retries < self.max_retries:
                countdown = self.retry_countdown(exc)
                with worker_scope() as session:
                    jobs.retry_later(session, job_id, describe(exc), countdown)
                log.warning("job %s attempt %d will retry in %.0fs", job.job_id, job.attempts, countdown)
                # The job id travels explicitly: a run that created its own job retries that same job.
                raise self.retry(args=[str(job.job_id)], kwargs={}, exc=exc, countdown=countdown) from exc
            raise self._fail(job, exc) from None
        except Exception as exc:
            raise self._fail(job, exc) from None
        with worker_scope() as session:
            jobs.succeed(session, job_id, result)
        log.info("job %s succeeded", job.job_id)
        return result

    def _fail(self, job: jobs.JobSnapshot, exc: BaseException) -> JobFailed:
        with worker_scope() as session:
            jobs.fail(session, job.job_id, describe(exc))
        kind = type(exc).__name__
        log.error("job %s failed after %d attempt(s): %s", job.job_id, job.attempts, kind)
        return JobFailed(f"job {job.job_id} failed ({kind}); the job record holds the details")
