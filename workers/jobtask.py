"""The base class of every job task: a claimed lease on the job row, bounded retries, no sleeping.

A task receives a job id and claims the job (see db.jobs): only one attempt at a time can hold it, a
heartbeat renews the lease while the work runs, and the outcome is written only if the attempt still
holds the claim. A delivery of a job another attempt is running is a duplicate and does nothing; a
delivery of a finished job hands back its result. Transient failures (a provider's 429/5xx, a
dropped database connection) are retried later by Celery with exponential backoff or the provider's
Retry-After; anything else fails the job at once with the error recorded on it. If even that cannot
be recorded (the database is down), the lease runs out and the sweeper takes the job up again.
"""

from __future__ import annotations

import logging
import random
import threading
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
from celery import Task
from celery.exceptions import Ignore, Reject, SoftTimeLimitExceeded
from sqlalchemy import exc as sa_exc

from db import jobs
from db.engine import worker_scope
from workers import delivery

log = logging.getLogger(__name__)
T = TypeVar("T")


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


# A dropped or refused database connection, a deadlock or a serialization failure: worth another try.
DATABASE_TRANSIENT = (sa_exc.OperationalError, sa_exc.InterfaceError, psycopg.OperationalError, psycopg.InterfaceError)


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, (TransientError, *DATABASE_TRANSIENT)):
        return True
    return isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated


def describe(exc: BaseException) -> str:
    """The error as it goes on the job row: a plain sentence, never SQL text or its bound parameters."""
    if isinstance(exc, SoftTimeLimitExceeded):
        return "the job ran past its time limit and was stopped"
    if isinstance(exc, sa_exc.StatementError):
        return _describe_database(exc)
    if isinstance(exc, psycopg.Error):
        return _describe_database(exc)
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _describe_database(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    if isinstance(exc, DATABASE_TRANSIENT) or isinstance(orig, DATABASE_TRANSIENT):
        return f"the database could not be reached or gave up on the statement ({type(orig).__name__})"
    if not isinstance(orig, psycopg.Error):  # a value the driver could not send, raised before any SQL ran
        return f"a value could not be sent to the database ({type(orig).__name__})"
    diag = getattr(orig, "diag", None)
    primary = (getattr(diag, "message_primary", None) or "").strip()
    # The primary message names the constraint or the type; the detail line is where values appear.
    reason = f": {primary}" if primary else ""
    if isinstance(orig, psycopg.IntegrityError | psycopg.DataError):
        return f"the database refused the data ({type(orig).__name__}){reason}"
    return f"the database refused the statement ({type(orig).__name__}){reason}"


class Lease:
    """Renews this attempt's lease from a daemon thread while the work runs."""

    def __init__(self, job_id: uuid.UUID, token: uuid.UUID, seconds: float) -> None:
        self.job_id, self.token, self.seconds = job_id, token, seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"lease-{job_id}", daemon=True)

    def __enter__(self) -> Lease:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=2)

    def _beat(self) -> None:
        failing = False
        while not self._stop.wait(self.seconds / 3):
            try:
                with worker_scope() as session:
                    held = jobs.renew(session, self.job_id, self.token, self.seconds)
            except Exception as exc:  # the database is away; try again at the next beat, say so once
                if not failing:
                    log.warning("job %s: lease not renewed (%s)", self.job_id, type(exc).__name__)
                failing = True
                continue
            failing = False
            if not held:
                log.warning(
                    "job %s: this attempt no longer holds the job; its outcome will not be recorded", self.job_id
                )
                return


class JobTask(Task):
    acks_late = True
    max_retries = 3

    def retry_countdown(self, exc: BaseException, attempt: int) -> float:
        base = float(self.app.conf.get("vitalis_retry_base_seconds", 30))
        cap = float(self.app.conf.get("vitalis_retry_max_seconds", 3600))
        backoff = min(cap, base * 2 ** max(attempt - 1, 0))
        # Full jitter spreads a burst of retries (many users hitting one provider's outage) over time.
        countdown = random.uniform(backoff / 2, backoff)  # noqa: S311 (not cryptographic)
        return max(countdown, getattr(exc, "retry_after", None) or 0.0)

    def _record(self, job_id: uuid.UUID | str, step: Callable[..., T], *args: Any) -> T:
        """One bookkeeping step in its own transaction. If the database cannot take it, this delivery
        ends without a state in the result store (the attempt that records the job will set it): the
        job stays queued, or running under a lease nobody renews, and the sweeper takes it up again."""
        try:
            with worker_scope() as session:
                return step(session, job_id, *args)
        except (sa_exc.SQLAlchemyError, psycopg.Error) as exc:
            log.error(
                "job %s: the job record could not be updated (%s); the sweeper takes the job up again once "
                "the database answers",
                job_id,
                type(exc).__name__,
            )
            raise Ignore() from None

    def run_job(self, job_id: str, work: Callable[[jobs.JobSnapshot], dict[str, Any]]) -> dict[str, Any]:
        lease_seconds = float(self.app.conf.get("vitalis_job_lease_seconds", 30))
        claim = self._record(job_id, _claim, self.request.id, lease_seconds)
        job = claim.job
        if claim.outcome is jobs.Outcome.FINISHED:
            # Redelivered after it finished (acks_late and a lost ack): the work is done, do not redo it.
            return job.result or {}
        if claim.outcome in (jobs.Outcome.BUSY, jobs.Outcome.CLOSED):
            log.info("job %s is %s; this delivery is a duplicate and does nothing", job.job_id, job.status.value)
            raise Ignore()
        if claim.outcome is jobs.Outcome.EXHAUSTED:
            log.error("job %s failed: its worker stopped during its last attempt", job.job_id)
            delivery.close_documents([job])
            raise JobFailed(f"job {job.job_id} failed (WorkerLost); the job record holds the details")
        assert claim.token is not None
        token = claim.token
        log.info("job %s (%s) attempt %d started", job.job_id, job.job_type, job.attempts)
        try:
            with Lease(job.job_id, token, lease_seconds):
                result = work(job)
        except Exception as exc:
            if is_transient(exc) and job.attempts < job.max_attempts:
                countdown = self.retry_countdown(exc, job.attempts)
                if not self._record(job.job_id, jobs.retry_later, token, describe(exc), countdown):
                    raise self._lost(job) from None
                log.warning(
                    "job %s attempt %d will retry in %.0fs (%s)",
                    job.job_id,
                    job.attempts,
                    countdown,
                    type(exc).__name__,
                )
                # The job id travels explicitly: a run that created its own job retries that same job.
                # The exception given to Celery names only the kind: Celery logs it and stores it.
                try:
                    raise self.retry(
                        args=[str(job.job_id)],
                        kwargs={},
                        exc=TransientError(f"job {job.job_id} will retry ({type(exc).__name__})"),
                        countdown=countdown,
                        max_retries=job.max_attempts,
                    ) from None
                except Reject as rejected:  # Celery's word for a retry it could not send
                    if not isinstance(rejected.reason, delivery.SEND_ERRORS):
                        raise
                    # The broker is away: the sweeper sends the retry when it is due and the broker is back.
                    self._record(job.job_id, _mark_unsent, delivery.unsent_note(self.app, rejected.reason))
                    raise Ignore() from None
            if not self._record(job.job_id, jobs.fail, token, describe(exc)):
                raise self._lost(job) from None
            kind = type(exc).__name__
            log.error("job %s failed after %d attempt(s): %s", job.job_id, job.attempts, kind)
            raise JobFailed(f"job {job.job_id} failed ({kind}); the job record holds the details") from None
        if not self._record(job.job_id, jobs.succeed, token, result):
            raise self._lost(job)
        log.info("job %s succeeded", job.job_id)
        return result

    def _lost(self, job: jobs.JobSnapshot) -> Ignore:
        # The lease ran out (a long pause, an unreachable database) and the job went on without this attempt.
        log.warning(
            "job %s attempt %d lost its claim; the attempt that holds the job records it", job.job_id, job.attempts
        )
        return Ignore()


def _mark_unsent(session: Any, job_id: uuid.UUID | str, note: str) -> None:
    jobs.mark_unsent(session, [uuid.UUID(str(job_id))], note)


def _claim(session: Any, job_id: uuid.UUID | str, task_id: str | None, lease_seconds: float) -> jobs.Claim:
    return jobs.claim(session, job_id, task_id=task_id, lease_seconds=lease_seconds)
