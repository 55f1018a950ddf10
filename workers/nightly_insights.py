"""The nightly insights run over many users: who needs a run, batches of them as jobs, and one batch's run.

Plain functions (no Celery inside): workers.insights_tasks wraps them in jobs, `vitalis insights run`
calls them directly. A batch is loaded set-based in one read-only snapshot over its users
(`analytics_scope`: the worker's own cross-user policies show no health data, and nothing loaded for
many people should be writable in the same transaction); each user is then analysed and stored in a
transaction of their own scope (worker role), which also marks them computed (insights.runs). A failing
user is counted and the others go on.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from celery import Celery
from sqlalchemy import text

from db import jobs
from db.engine import WORKER_ROLE, analytics_scope, user_scope, worker_scope
from db.models.enums import JobType
from insights import runs
from insights.load import load_batch
from insights.nightly import analyze
from insights.store import StoreSummary, write_user
from workers import delivery
from workers.insights_tasks import BATCH_TASK
from workers.jobtask import describe, is_transient

HISTORY_DAYS = 5 * 365
VALID_DAYS = 7


@dataclass
class UserRun:
    user_id: uuid.UUID
    stored: StoreSummary | None = None
    marked: bool = False  # False after a store: the data changed meanwhile, so the user stays stale
    error: str | None = None  # a plain sentence (may quote a value: never leaves the job row or terminal)
    kind: str | None = None  # the error's class name: what may leave the job row
    transient: bool = False


@dataclass
class BatchRun:
    today: dt.date
    asked: int = 0
    users: list[UserRun] = field(default_factory=list)
    load_seconds: float = 0.0
    seconds: float = 0.0

    @property
    def failed(self) -> list[UserRun]:
        return [u for u in self.users if u.error is not None]

    def counts(self) -> dict[str, int]:
        done = [u for u in self.users if u.stored is not None]
        totals = {k: sum(getattr(u.stored, k) for u in done) for k in asdict(StoreSummary())}
        return {
            "users": self.asked,
            "analysed": len(done),
            "skipped": self.asked - len(self.users),  # not needing a run any more (a retry, a run by hand)
            "changed_during_run": sum(1 for u in done if not u.marked),
            "failed": len(self.failed),
            **totals,
        }


def run_users(
    user_ids: Sequence[uuid.UUID],
    today: dt.date,
    *,
    only_needing: bool = True,
    request_id: uuid.UUID | None = None,
    history_days: int = HISTORY_DAYS,
    valid_days: int = VALID_DAYS,
    on_user: Callable[[int, int], None] | None = None,
) -> BatchRun:
    """Analyse and store `user_ids` for the night of `today`; with only_needing, those that still need it."""
    started = time.perf_counter()
    report = BatchRun(today, asked=len(user_ids))
    ids = list(dict.fromkeys(user_ids))
    if only_needing and ids:
        with worker_scope() as session:
            ids = runs.still_needing_run(session, ids, today)
    if not ids:
        report.seconds = time.perf_counter() - started
        return report
    with analytics_scope() as session:
        seen = runs.changes_seen(session, ids)  # same snapshot as the data
        loaded = load_batch(session, ids, today, history_days)
    report.load_seconds = time.perf_counter() - started
    for n, user_id in enumerate(ids, 1):
        data = loaded.pop(user_id, None)  # freed as it goes: a batch's arrays are most of its memory
        outcome = UserRun(user_id)
        if data is None:  # deleted since it was picked
            continue
        try:
            result = analyze(data, today)
            with user_scope(user_id, role=WORKER_ROLE, request_id=request_id) as session:
                outcome.stored = write_user(session, user_id, result.insights, result.alerts, today, valid_days)
                outcome.marked = runs.mark_computed(session, user_id, seen[user_id], today, valid_days)
        except Exception as exc:  # one person's failure must not cost the others their night
            outcome.stored, outcome.marked = None, False
            outcome.error, outcome.kind, outcome.transient = describe(exc), type(exc).__name__, is_transient(exc)
        report.users.append(outcome)
        if on_user:
            on_user(n, len(ids))
    report.seconds = time.perf_counter() - started
    return report


def users_needing_run(today: dt.date) -> list[uuid.UUID]:
    with worker_scope() as session:
        return runs.users_needing_run(session, today)


def fan_out(app: Celery, nightly_job_id: uuid.UUID, today: dt.date, batch_size: int) -> dict[str, Any]:
    """Queue one batch job per `batch_size` users needing a run. Users already in an unfinished batch are
    left to it. Running again for the same nightly job (a retry) queues nothing new: its batches exist."""
    task = app.tasks[BATCH_TASK]
    with worker_scope() as session:
        existing = session.scalar(
            text("SELECT count(*) FROM ingestion_jobs WHERE job_type = 'insights' AND payload ->> 'nightly' = :id"),
            {"id": str(nightly_job_id)},
        )
        if existing:
            return {"batches": existing, "already_queued": True}
        busy = set(
            session.scalars(
                text("""
                SELECT DISTINCT CAST(jsonb_array_elements_text(payload -> 'user_ids') AS uuid) FROM ingestion_jobs
                WHERE job_type = 'insights' AND status IN ('queued', 'running')""")
            )
        )
        needing = runs.users_needing_run(session, today)
        users = [u for u in needing if u not in busy]
        queued = []
        for start in range(0, len(users), batch_size):
            batch = [str(u) for u in users[start : start + batch_size]]
            task_id = str(uuid.uuid4())
            payload = {"user_ids": batch, "today": today.isoformat(), "nightly": str(nightly_job_id)}
            job_id = jobs.create(
                session,
                job_type=JobType.INSIGHTS,
                payload=payload,
                max_attempts=task.max_retries + 1,
                task_id=task_id,
                task_name=task.name,
            )
            queued.append((job_id, task_id))
    # Rows first, messages after the commit: a worker never gets a job it cannot find.
    unsent = 0
    for n, (job_id, task_id) in enumerate(queued):
        try:
            delivery.send(app, task.name, job_id, task_id)
        except delivery.SEND_ERRORS as exc:  # the sweeper sends the rest when the broker is back
            unsent = len(queued) - n
            with worker_scope() as session:
                jobs.mark_unsent(session, [j for j, _ in queued[n:]], delivery.unsent_note(app, exc))
            break
    return {
        "users": len(users),
        "batches": len(queued),
        "batch_size": batch_size,
        "in_unfinished_batches": len(needing) - len(users),
        "unsent": unsent,
    }
