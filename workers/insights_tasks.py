"""Celery tasks of the nightly insights run: one batch of users per job (see workers.nightly_insights).

`vitalis.nightly` (workers.tasks) queues the batches. A batch job runs each of its users in a
transaction of their own. A user failing for a transient reason (a lost connection, a deadlock with a
writer) makes the job retry with backoff once the others are done, and the retry runs only the users
still needing a run; a user failing otherwise, or still failing on the last attempt, is reported on the
job's result by id and error kind (the error's text, which may quote a value, stays on the job row) and
stays stale for the next night.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import Any

from celery import shared_task
from sqlalchemy import update

from db import jobs
from db.engine import worker_scope
from db.models import IngestionJob
from workers.jobtask import JobTask, TransientError

BATCH_TASK = "vitalis.insights.run_batch"
PROGRESS_EVERY_SECONDS = 1.0


def _add(earlier: dict[str, Any], counts: dict[str, int]) -> dict[str, int]:
    """Counts of this attempt plus those of earlier attempts of the same job (the users they finished)."""
    out = dict(counts)
    for key, value in earlier.items():
        if key in out and key not in ("users", "skipped", "failed"):
            out[key] += value
    return out


def _write(job_id: uuid.UUID, **values: Any) -> None:
    with worker_scope() as session:
        session.execute(update(IngestionJob).where(IngestionJob.job_id == job_id).values(**values))


@shared_task(bind=True, base=JobTask, name=BATCH_TASK)
def run_batch(self: JobTask, job_id: str) -> dict[str, Any]:
    """payload: user_ids (list of ids), today (YYYY-MM-DD)."""

    def work(job: jobs.JobSnapshot) -> dict[str, Any]:
        payload = job.payload if isinstance(job.payload, dict) else {}
        try:
            user_ids = [uuid.UUID(str(u)) for u in payload["user_ids"]]
            today = dt.date.fromisoformat(payload["today"])
        except (KeyError, TypeError, ValueError):
            raise ValueError("payload needs user_ids (a list of user ids) and today (YYYY-MM-DD)") from None
        before = job.result or {}
        earlier, failed = before.get("counts", {}), list(before.get("failed", []))
        reasons = dict(before.get("reasons", {}))
        given_up = {f["user_id"] for f in failed}  # failed for good on an earlier attempt: not run again
        last_note = [0.0]

        def progress(done: int, of: int) -> None:
            if time.monotonic() - last_note[0] >= PROGRESS_EVERY_SECONDS:
                last_note[0] = time.monotonic()
                _write(job.job_id, result={**before, "progress": {"done": done, "of": of}})

        todo = [u for u in user_ids if str(u) not in given_up]
        from workers.nightly_insights import run_users  # numpy and scipy load with the first batch

        report = run_users(todo, today, request_id=job.job_id, on_user=progress)
        counts = _add(earlier, report.counts())
        retry = job.attempts < job.max_attempts
        retrying = [u for u in report.failed if u.transient and retry]
        failed += [{"user_id": str(u.user_id), "error": u.kind} for u in report.failed if u not in retrying]
        reasons.update({str(u.user_id): u.error for u in report.failed if u not in retrying})
        counts["users"], counts["failed"] = len(user_ids), len(failed)
        counts["skipped"] = len(user_ids) - counts["analysed"] - len(failed) - len(retrying)
        if retrying:
            # What this attempt finished is kept: the next attempt adds to it and runs only those left.
            _write(job.job_id, result={"counts": counts, "failed": failed, "reasons": reasons})
            raise TransientError(f"{len(retrying)} of {len(todo)} users hit a transient error ({retrying[0].kind})")
        result = {"counts": counts, "failed": failed, "seconds": round(report.seconds, 2)}
        return result | ({"reasons": reasons} if reasons else {})

    result = self.run_job(job_id, work)
    # The reasons in words stay on the job row (one may quote a value); Celery's result store gets the kinds.
    return {k: v for k, v in result.items() if k != "reasons"}
