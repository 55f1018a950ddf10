"""Backfill jobs through real worker processes: N people's year of Oura data from the sandbox, each a
`vitalis.sync.provider` job on Redis, run by W worker processes of T threads each.

Prints the time from the first enqueue to the last job row terminal, jobs/s, requests/s, upserted row
operations/s and final rows/s; then the same final rows written with one plain COPY per table (into
temporary copies of the tables) and the ratio. The sandbox runs in a process of its own with its quota
lifted, and so is the app's (VITALIS_OURA_QUOTA), so the figures measure this code, not the quota.

Run by hand (it drops and recreates the database it is given):

    python benchmarks/bench_sync_jobs.py --database-url URL --redis-url redis://127.0.0.1:6379/13 \
        [--people 50] [--days 365] [--workers 2] [--threads 4]
"""

from __future__ import annotations

import argparse
import io
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TABLES = ("wearable_daily", "wearable_sleep", "wearable_activities", "measurements")
QUOTA = "1000000000/300"
SANDBOX = [sys.executable, "-m", "integrations.sandbox", "oura", "--quota-requests", str(10**9)]
WORKER = [sys.executable, "-m", "celery", "-A", "workers.app", "worker", "-Q", "sync", "--pool", "threads"]
WORKER += ["-l", "WARNING", "--without-gossip"]


def recreate(url: str) -> None:
    import psycopg
    from sqlalchemy import make_url

    target = make_url(url)
    server = target.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{target.database}"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--people", type=int, default=50)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()

    from db import crypto

    os.environ.update(
        DATABASE_URL=args.database_url,
        VITALIS_TOKEN_KEYS=os.environ.get("VITALIS_TOKEN_KEYS") or crypto.new_key(),
        VITALIS_OURA_QUOTA=QUOTA,
    )
    os.environ.pop("REDIS_URL", None)
    recreate(args.database_url)
    from db import migrate

    migrate.upgrade(args.database_url)

    sandbox = subprocess.Popen(  # noqa: S603 (our own module, fixed arguments)
        [*SANDBOX, "--days", str(args.days), "--page-size", "100", "--series-page-size", "1000"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    url = sandbox.stdout.readline().strip()  # type: ignore[union-attr]
    env = {
        **os.environ,
        "REDIS_URL": args.redis_url,
        "VITALIS_OURA_CLIENT_ID": "sandbox-client",
        "VITALIS_OURA_CLIENT_SECRET": "sandbox-secret",
        "VITALIS_OURA_BASE_URL": url,
        "VITALIS_OURA_REDIRECT_URI": "http://127.0.0.1:9/callback",
        "PYTHONWARNINGS": "ignore::celery.exceptions.SecurityWarning",
    }
    os.environ.update({k: v for k, v in env.items() if k.startswith("VITALIS_OURA_")})
    workers = []
    try:
        people = connect_people(args.people)
        from workers.app import make_app
        from workers.sync_tasks import enqueue_sync

        celery_app = make_app(broker_url=args.redis_url, result_backend=args.redis_url)
        for n in range(args.workers):
            workers.append(
                subprocess.Popen(  # noqa: S603
                    [*WORKER, "-c", str(args.threads), "-n", f"bench{n}@%h"],
                    env=env,
                    cwd=ROOT,
                )
            )
        time.sleep(3)  # the workers are up before the clock starts
        today = datetime.now(UTC).date()
        start = today - timedelta(days=args.days - 1)
        began = time.perf_counter()
        job_ids = [enqueue_sync(user, "oura", start=start, celery_app=celery_app) for user in people]
        results = wait_all(job_ids)
        elapsed = time.perf_counter() - began
    finally:
        for proc in workers:
            proc.send_signal(signal.SIGTERM)
        for proc in workers:
            proc.wait(30)
        sandbox.terminate()
        sandbox.wait(10)

    failed = [r for r in results if r is None]
    requests = sum(r["requests"] for r in results if r)
    operations = sum(
        t["inserted"] + t["updated"] for r in results if r for res in r["resources"] for t in res["rows"].values()
    )
    final_rows, copy_elapsed = copy_same_rows(people)
    print(f"jobs:  {len(job_ids)} backfills of {args.days} days, {args.workers} workers x {args.threads} threads")
    print(f"       {elapsed:.2f}s from first enqueue to last job done = {len(job_ids) / elapsed:.2f} jobs/s")
    print(f"       {len(failed)} failed")
    print(f"       {requests} requests = {requests / elapsed:,.0f} requests/s")
    print(f"       {operations} upserted row operations = {operations / elapsed:,.0f}/s")
    print(f"       {final_rows} final rows = {final_rows / elapsed:,.0f} rows/s")
    print(f"COPY:  the same {final_rows} rows in {copy_elapsed:.2f}s = {final_rows / copy_elapsed:,.0f} rows/s")
    print(f"ratio: COPY is {elapsed / copy_elapsed:.1f}x the jobs' end-to-end rate")


def connect_people(count: int) -> list:
    import httpx

    from db.engine import admin_scope
    from db.models import Account, User
    from integrations.oauth import begin_connect, finish_connect

    people = []
    with admin_scope() as session:
        for n in range(count):
            account = Account()
            session.add(account)
            session.flush()
            user = User(account_id=account.account_id, email=f"bench-{n}@example.test", display_name="Bench")
            session.add(user)
            session.flush()
            people.append(user.user_id)
    for user in people:
        request = begin_connect(user, "oura")
        location = httpx.URL(httpx.get(request.url).headers["location"])
        finish_connect(request.state, location.params["code"])
    return people


def wait_all(job_ids: list) -> list:
    from db import jobs
    from db.engine import worker_scope
    from db.models.enums import JobStatus

    results: dict = {}
    while len(results) < len(job_ids):
        time.sleep(0.2)
        with worker_scope() as session:
            for job_id in job_ids:
                if job_id in results:
                    continue
                job = jobs.get(session, job_id)
                if job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
                    results[job_id] = job.result if job.status is JobStatus.SUCCEEDED else None
    return [results[j] for j in job_ids]


def copy_same_rows(people: list) -> tuple[int, float]:
    """Dump the synced rows and COPY them into empty copies of the tables: the floor any writer has."""
    from db.engine import get_engine

    ids = [str(u) for u in people]
    raw = get_engine().raw_connection()
    try:
        dumps, final_rows = {}, 0
        with raw.cursor() as cur:
            for table in TABLES:
                buffer = io.BytesIO()
                with cur.copy(f"COPY (SELECT * FROM {table} WHERE user_id = ANY(%s)) TO STDOUT", (ids,)) as copy:
                    for block in copy:
                        buffer.write(block)
                dumps[table] = buffer.getvalue()
                final_rows += dumps[table].count(b"\n")
                cur.execute(f"CREATE TEMP TABLE copy_{table} (LIKE {table} INCLUDING DEFAULTS)")
        raw.commit()
        began = time.perf_counter()
        with raw.cursor() as cur:
            for table, data in dumps.items():
                with cur.copy(f"COPY copy_{table} FROM STDIN") as copy:
                    copy.write(data)
        raw.commit()
        return final_rows, time.perf_counter() - began
    finally:
        raw.close()


if __name__ == "__main__":
    main()
