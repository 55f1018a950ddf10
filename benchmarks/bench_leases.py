"""What the job lease costs: bookkeeping per job (claim, one renewal, succeed: each its own transaction,
as a worker does them) and one sweep pass over a large ingestion_jobs table.

Needs DATABASE_URL pointing at a migrated database it may write to; its rows are removed afterwards.
Run by hand: `DATABASE_URL=postgresql://… python benchmarks/bench_leases.py [jobs] [table rows]`.
"""

from __future__ import annotations

import sys
import time
import uuid

from sqlalchemy import delete, insert, text, update

from db import jobs
from db.engine import admin_scope, worker_scope
from db.models import IngestionJob
from db.models.enums import JobStatus, JobType

MARK = f"bench-{uuid.uuid4().hex[:8]}"  # task_id prefix of this run's rows, for the clean-up


def bookkeeping(n: int) -> tuple[float, float]:
    """Seconds for n claim+succeed pairs (what every job pays), and for n lease renewals (one per third
    of a lease a job runs: none for a job shorter than that)."""
    with worker_scope() as session:
        ids = [
            jobs.create(session, job_type=JobType.SMOKE, task_id=MARK, task_name="vitalis.nightly") for _ in range(n)
        ]
    claims = renewing = 0.0
    for job_id in ids:
        t0 = time.perf_counter()
        with worker_scope() as session:
            claim = jobs.claim(session, job_id, task_id=MARK, lease_seconds=30)
        t1 = time.perf_counter()
        with worker_scope() as session:
            jobs.renew(session, job_id, claim.token, 30)
        t2 = time.perf_counter()
        with worker_scope() as session:
            jobs.succeed(session, job_id, claim.token, {"ok": 1})
        claims += (t1 - t0) + (time.perf_counter() - t2)
        renewing += t2 - t1
    return claims, renewing


def sweep_pass(rows: int, stale: int) -> tuple[float, int]:
    """One sweep over `rows` finished jobs and `stale` whose send failed (rolled back, so nothing is sent)."""
    finished = {"job_type": JobType.SMOKE, "status": JobStatus.SUCCEEDED, "task_id": MARK, "task_name": "x"}
    with admin_scope() as session:
        session.execute(insert(IngestionJob), [finished] * rows)
        session.execute(insert(IngestionJob), [{**finished, "status": JobStatus.QUEUED}] * stale)
        session.execute(
            update(IngestionJob)
            .where(IngestionJob.task_id == MARK, IngestionJob.status == JobStatus.QUEUED)
            .values(dispatched_at=None)
        )
        session.execute(text("ANALYZE ingestion_jobs"))
    with worker_scope() as session:
        started = time.perf_counter()
        plan = jobs.sweep(session, resend_after=300, limit=stale)
        took = time.perf_counter() - started
        session.rollback()
    return took, len(plan.resend)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    try:
        claims, renewing = bookkeeping(n)
        print(
            f"bookkeeping: claim + succeed {claims / n * 1000:.2f} ms per job ({n / claims:.0f} jobs/s on one"
            f" connection); one lease renewal {renewing / n * 1000:.2f} ms"
        )
        took, found = sweep_pass(rows, 200)
        print(f"sweep: one pass over {rows:,} finished + 200 unsent jobs took {took * 1000:.1f} ms ({found} to send)")
    finally:
        with admin_scope() as session:
            session.execute(delete(IngestionJob).where(IngestionJob.task_id == MARK))


if __name__ == "__main__":
    main()
