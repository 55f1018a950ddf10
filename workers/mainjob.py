"""`vitalis run`: set up the database and take one job through the whole pipeline, showing each step."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from time import monotonic

from sqlalchemy import select, text

from db.jobs import JobSnapshot
from db.models.enums import JobStatus, JobType

DEMO_EMAIL = "demo@vitalis.local"
# A plausible morning summary, typed in by hand: the pipeline's simplest input.
DEMO_METRICS = {"steps": 9214, "resting_hr_bpm": 56, "hrv_rmssd_ms": 48.5, "spo2_avg_pct": 97.0}
TERMINAL = {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELED}


@contextmanager
def step(title: str) -> Iterator[None]:
    started = monotonic()
    print(f"→ {title} …", flush=True)
    yield
    print(f"  done in {monotonic() - started:.1f}s", flush=True)


def main_job(timeout: float = 120.0) -> int:
    from db import migrate
    from db.engine import database_url, get_engine
    from db.settings import load_settings

    settings = load_settings()
    with step("database"):
        database_url()
        where = f"embedded PostgreSQL under {settings.home}" if settings.embedded else "DATABASE_URL"
        print(f"  using {where}")
    with step("schema (migrations) and reference data"):
        stats = migrate.prepare()
        print("  " + ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in stats.items()))
    with step("demo user"):
        user_id = _demo_user()
        print(f"  {DEMO_EMAIL} ({user_id})")

    worker_log = settings.home / "worker.log"
    worker = _start_worker(worker_log)
    try:
        from workers.tasks import enqueue

        with step("job: record today's summary through a worker"):
            job_id = enqueue(
                "vitalis.ingest.manual_daily",
                JobType.SMOKE,
                user_id=user_id,
                payload={"date": date.today().isoformat(), "metrics": DEMO_METRICS},
            )
            print(f"  job {job_id} queued")
            job = _wait(job_id, timeout, worker)
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()

    print()
    print(f"job {job.job_id}: {job.status.value} after {job.attempts} attempt(s)")
    if job.status != JobStatus.SUCCEEDED:
        print(f"error: {job.error_message}")
        return 1
    print("result: " + ", ".join(f"{k}={v}" for k, v in sorted((job.result or {}).items())))
    with get_engine().connect() as conn:
        audit = conn.execute(
            text("SELECT count(*) FROM audit_log WHERE user_id = :u AND table_name = 'wearable_daily'"),
            {"u": user_id},
        ).scalar_one()
    print(f"audit trail: {audit} change(s) recorded for this user's daily summaries")
    print("see every job with `vitalis jobs`; check the setup with `vitalis doctor`")
    return 0


def _demo_user() -> uuid.UUID:
    from db.engine import admin_scope
    from db.models import Account, User

    with admin_scope() as session:
        user = session.scalar(select(User).where(User.email == DEMO_EMAIL))
        if user is None:
            account = Account()
            session.add(account)
            session.flush()
            user = User(account_id=account.account_id, email=DEMO_EMAIL, display_name="Demo")
            session.add(user)
            session.flush()
        return user.user_id


def _start_worker(log_path: Path) -> subprocess.Popen[bytes]:
    with step("worker"):
        # A separate process, as in production; it joins the same database (embedded or not).
        env = os.environ.copy()
        # Celery warns about running as root; in a container or CI that is the norm, not news.
        env["PYTHONWARNINGS"] = "ignore:You're running the worker with superuser privileges"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log:
            worker = subprocess.Popen(
                [sys.executable, "-m", "workers.cli", "worker", "--pool", "solo", "--loglevel", "INFO"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        print(f"  worker pid {worker.pid}, log {log_path}")
    return worker


def _wait(job_id: uuid.UUID, timeout: float, worker: subprocess.Popen[bytes]) -> JobSnapshot:
    """Follow the job through its result; Celery does the polling, this reports each status change."""
    from celery.exceptions import TimeoutError as CeleryTimeout
    from celery.result import AsyncResult

    from db import jobs
    from db.engine import worker_scope
    from workers.app import app

    seen: list[JobSnapshot] = []

    def report() -> None:
        with worker_scope() as session:
            job = jobs.get(session, job_id)
        if not seen or job.status != seen[-1].status:
            print(f"  {job.status.value}", flush=True)
        seen.append(job)
        if job.status not in TERMINAL and worker.poll() is not None:
            raise RuntimeError(f"the worker exited (code {worker.returncode}) before the job finished")

    report()
    try:
        AsyncResult(seen[-1].task_id, app=app).get(timeout=timeout, interval=0.2, propagate=False, on_interval=report)
    except CeleryTimeout:
        raise RuntimeError(
            f"job {job_id} did not finish within {timeout:.0f}s (status {seen[-1].status.value})"
        ) from None
    report()
    return seen[-1]
