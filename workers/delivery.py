"""Getting a job's message to a worker: sending it, and the sweeper that sends it again when it is lost.

The job row is the truth (db.jobs); a message only says "run job X". A send that fails leaves the row
queued and saying so; the sweeper sends it when the broker is back, re-sends messages nobody took,
and queues again (or fails) jobs whose worker died. It runs as the `vitalis.jobs.sweep` task from beat
and, where no beat is expected (the embedded default), from a timer inside each worker.
"""

from __future__ import annotations

import logging
import socket
import threading
import uuid
from datetime import datetime
from typing import Any

import redis.exceptions
from celery import Celery, bootsteps
from kombu.exceptions import OperationalError as KombuOperationalError

from db import jobs
from db.engine import worker_scope

log = logging.getLogger(__name__)

# What a broker (or Celery's Redis result store, which subscribes before the send) raises when it is
# stopped, frozen or unreachable. Celery's Redis result consumer gives up with a RuntimeError.
SEND_ERRORS = (KombuOperationalError, redis.exceptions.RedisError, OSError, socket.timeout, RuntimeError)


class BrokerUnavailable(RuntimeError):
    """The job is recorded (queued) but its message could not be handed to the broker."""

    def __init__(self, message: str, job_id: uuid.UUID) -> None:
        super().__init__(message)
        self.job_id = job_id


def broker_address(app: Celery) -> str:
    conn = app.connection_for_write()
    uri = conn.as_uri()  # the password, if any, is masked
    return uri if conn.password else uri.replace("//:**@", "//")


def _why(exc: BaseException) -> str:
    """The root of a send failure in words: refused, or no answer (a frozen or unreachable broker)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, redis.exceptions.TimeoutError | socket.timeout):
            return "did not answer in time (frozen or unreachable)"
        if isinstance(seen, redis.exceptions.ConnectionError | ConnectionRefusedError):
            return "refused the connection (not running?)"
        seen = seen.__cause__ or seen.__context__
    return f"failed ({type(exc).__name__})"


def send(app: Celery, task_name: str, job_id: uuid.UUID, task_id: str | None, eta: datetime | None = None) -> None:
    app.send_task(task_name, args=[str(job_id)], task_id=task_id, eta=eta)


def unsent_note(app: Celery, exc: BaseException) -> str:
    return (
        f"the broker at {broker_address(app)} {_why(exc)}; "
        "the job stays queued and is sent when the broker answers again"
    )


def sweep(app: Celery, *, limit: int = 200) -> dict[str, int]:
    """One pass: decide in one transaction, then send after it commits (a message never outruns its row)."""
    resend_after = float(app.conf.get("vitalis_resend_after_seconds", 300))
    with worker_scope() as session:
        plan = jobs.sweep(session, resend_after=resend_after, limit=limit)
    if plan.closed:
        close_documents(plan.closed)
    sent = 0
    for item in plan.resend:
        try:
            send(app, item.task_name, item.job_id, item.task_id, eta=item.not_before)
        except SEND_ERRORS as exc:
            # The broker is away: leave every job of this pass for a later one instead of waiting on each.
            with worker_scope() as session:
                jobs.mark_unsent(session, [r.job_id for r in plan.resend[sent:]], unsent_note(app, exc))
            log.warning(
                "sweep: the broker did not answer (%s); %d job(s) wait for it",
                type(exc).__name__,
                len(plan.resend) - sent,
            )
            break
        sent += 1
    counts = {"sent": sent, "requeued": plan.requeued, "failed": plan.failed}
    if any(counts.values()):
        log.info("sweep: sent %(sent)d job(s) again (%(requeued)d from a lost worker), failed %(failed)d", counts)
    return counts


def close_documents(failed: list[jobs.JobSnapshot]) -> None:
    """A job failed for good without its task's own handling (its worker died): the document it was
    working on fails with the job's reason instead of staying `processing`."""
    from db.documents import fail_documents_of

    try:
        fail_documents_of(failed)
    except Exception as exc:  # the jobs are failed either way; the documents say so at the next look
        log.warning("the documents of %d failed job(s) could not be marked (%s)", len(failed), type(exc).__name__)


def sweep_in_worker(app: Celery) -> bool:
    """On by default where no beat is expected: the embedded default, whose broker is the database.
    With Redis (the server deployment) beat runs the sweep."""
    setting = app.conf.get("vitalis_sweep_in_worker")
    if setting is None:
        with app.connection_for_write() as conn:  # no connection is made: only the transport is named
            return conn.transport.driver_type != "redis"
    return str(setting).lower() in ("1", "true", "yes", "on")


class SweepStep(bootsteps.StartStopStep):
    """Runs the sweep every `vitalis_sweep_interval_seconds` on the worker's own timer.

    The pass itself runs on a thread of its own, so a slow database or broker never stalls the
    worker's event loop, and a pass still running makes the next tick skip.
    """

    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self.enabled = sweep_in_worker(worker.app)
        self.tref: Any = None
        self._running = threading.Lock()
        self._failing = False  # a database outage is reported once, not at every tick

    def start(self, worker: Any) -> None:
        interval = float(worker.app.conf.get("vitalis_sweep_interval_seconds", 15))
        self.tref = worker.timer.call_repeatedly(interval, self._tick, (worker.app,), priority=10)
        log.info("job sweeper: every %gs in this worker", interval)

    def stop(self, worker: Any) -> None:
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None

    def _tick(self, app: Celery) -> None:
        if self._running.acquire(blocking=False):
            threading.Thread(target=self._pass, args=(app,), name="vitalis-sweep", daemon=True).start()

    def _pass(self, app: Celery) -> None:
        try:
            sweep(app)
            if self._failing:
                log.info("sweep: the database answers again")
            self._failing = False
        except Exception as exc:  # the database is away; the next tick tries again
            if not self._failing:
                log.warning("sweep skipped until the database answers (%s)", type(exc).__name__)
            self._failing = True
        finally:
            self._running.release()
