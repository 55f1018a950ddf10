"""Job throughput on each broker: N real `vitalis.ingest.manual_daily` jobs through 2 worker processes.

For each broker (the database transport, then Redis if a URL is given) this starts `vitalis worker -c 2`
(prefork: one consumer, two worker processes) in a fresh process, waits until it is ready, enqueues N jobs
and waits until every job row is terminal. It prints jobs/s, the time to drain, how many jobs failed,
`kombu_message` rows before and after, and the workers' peak resident memory and CPU time per job
(Linux /proc; CPU per job is the steadier figure on a busy machine).

Run by hand (it drops and recreates the database it is given, `vitalis_bench` by default):

    python benchmarks/bench_jobs.py [-n 500] [--database-url URL] [--redis-url redis://127.0.0.1:6379/13]

With no --database-url, DATABASE_URL's server is used with the database `vitalis_bench`.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import create_engine, make_url, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def recreate(url: str) -> None:
    target = make_url(url)
    server = target.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (target.database,),
        )
        conn.execute(f'DROP DATABASE IF EXISTS "{target.database}"')
        conn.execute(f'CREATE DATABASE "{target.database}"')


def kombu_rows(engine) -> int | None:
    with engine.connect() as conn:
        if conn.execute(text("SELECT to_regclass('kombu_message')")).scalar() is None:
            return None
        return conn.execute(text("SELECT count(*) FROM kombu_message")).scalar_one()


def process_tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            todo += [int(p) for p in task.read_text().split()]
    return pids


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "workers.cli", "worker", "-c", "2", "--pool", "prefork", "-l", "INFO"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    deadline = time.monotonic() + 120
    while b"ready." not in log.read_bytes():
        if worker.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the worker did not start; its log:\n{log.read_text()}")
        time.sleep(0.1)
    return worker


def run(label: str, n: int, database_url: str, broker: str | None, backend: str | None) -> None:
    from db.models.enums import JobStatus, JobType
    from workers.app import make_app
    from workers.tasks import enqueue

    terminal = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELED)

    engine = create_engine(database_url)
    with engine.begin() as conn:
        user_id = conn.execute(
            text(
                "WITH a AS (INSERT INTO accounts DEFAULT VALUES RETURNING account_id)"
                " INSERT INTO users (account_id, email, display_name)"
                " SELECT account_id, :email, 'Bench' FROM a RETURNING user_id"
            ),
            {"email": f"bench-{uuid.uuid4().hex[:8]}@example.test"},
        ).scalar_one()
    before = kombu_rows(engine)

    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"}}
    env["DATABASE_URL"] = database_url
    env["PYTHONWARNINGS"] = "ignore:You're running the worker with superuser privileges"
    if broker:
        env["CELERY_BROKER_URL"], env["CELERY_RESULT_BACKEND"] = broker, backend or broker
    app = make_app(broker_url=broker, result_backend=backend)
    task = app.tasks["vitalis.ingest.manual_daily"]

    first = date(2025, 1, 1)
    started = time.monotonic()
    job_ids = [
        str(
            enqueue(
                task,
                JobType.SMOKE,
                user_id=user_id,
                payload={"date": (first + timedelta(days=i)).isoformat(), "metrics": {"steps": 1000 + i}},
            )
        )
        for i in range(n)
    ]
    enqueued = time.monotonic() - started
    queued = kombu_rows(engine)

    def finished() -> tuple[int, int]:
        with engine.connect() as conn:
            counts = dict(
                conn.execute(
                    text(
                        "SELECT status::text, count(*) FROM ingestion_jobs"
                        " WHERE job_id = ANY(CAST(:ids AS uuid[])) GROUP BY status"
                    ),
                    {"ids": job_ids},
                ).all()
            )
        return sum(counts.get(s.value, 0) for s in terminal), counts.get(JobStatus.FAILED.value, 0)

    with tempfile.TemporaryDirectory() as tmp:
        # The backlog is in place before the workers start, so the figure is the brokers' delivery rate,
        # not this script's enqueue rate; jobs finished while the worker was still starting are left out.
        worker = start_worker(env, Path(tmp) / "worker.log")
        peak: dict[int, int] = {}
        try:
            ready = time.monotonic()
            done_at_ready, _ = finished()
            cpu_at_ready = sum(cpu_seconds(pid) for pid in process_tree(worker.pid))
            done = failed = 0
            deadline = ready + max(600, n)
            while time.monotonic() < deadline:
                for pid in process_tree(worker.pid):
                    peak[pid] = max(peak.get(pid, 0), rss_kib(pid))
                done, failed = finished()
                if done >= n:
                    break
                time.sleep(0.05)
            drained = time.monotonic() - ready
            cpu = sum(cpu_seconds(pid) for pid in process_tree(worker.pid)) - cpu_at_ready
        finally:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                worker.kill()
    after = kombu_rows(engine)
    engine.dispose()
    rows = "n/a" if broker or queued is None else f"{before or 0} before, {queued} queued, {after} after"
    note = "" if done == n else f" (only {done} finished before the deadline)"
    print(
        f"{label:9} {n} jobs: {(done - done_at_ready) / drained:6.1f} jobs/s, drained in {drained:6.1f}s"
        f" after the workers were ready (enqueue {n / enqueued:4.0f} jobs/s), failed {failed}{note};"
        f" kombu_message rows {rows}; workers' peak RSS {sum(peak.values()) / 1024:.0f} MiB"
        f" over {len(peak)} processes; workers' CPU {cpu * 1000 / max(1, done - done_at_ready):.1f} ms/job"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--jobs", type=int, default=500)
    parser.add_argument("--database-url", help="a database this script may drop and recreate")
    parser.add_argument("--redis-url", help="a Redis database for the Redis run (skipped if not given)")
    args = parser.parse_args()

    url = args.database_url
    if not url:
        server = os.environ.get("DATABASE_URL")
        if not server:
            raise SystemExit("give --database-url (a database this script may recreate) or set DATABASE_URL")
        url = make_url(server).set(database="vitalis_bench").render_as_string(hide_password=False)
    from db.settings import sqlalchemy_url

    url = sqlalchemy_url(url)
    os.environ["DATABASE_URL"] = url
    for name in ("REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"):
        os.environ.pop(name, None)

    recreate(url)
    from db import migrate
    from db.engine import admin_scope
    from db.partitions import ensure_years
    from db.reference import seed_reference_data

    migrate.upgrade(url)
    with admin_scope() as session:
        seed_reference_data(session)
        # Made ahead so the run measures the broker, not the first writers racing to create a partition.
        ensure_years(session, range(2025, 2025 + args.jobs // 365 + 2))

    run("database", args.jobs, url, None, None)
    if args.redis_url:
        run("redis", args.jobs, url, args.redis_url, args.redis_url)


if __name__ == "__main__":
    main()
