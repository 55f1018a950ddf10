"""Backfill a year of Oura data for many people from the loopback sandbox, in threads standing in for
workers (the Celery task is not wired yet), and write the same final rows with a plain COPY to compare.

Prints requests/s, upserted row operations/s and final rows/s for the sync, rows/s for COPY, and the
ratio. The sandbox's quota and the app's are raised so the figures measure this code, not the quota.
Uses DATABASE_URL when set (a migrated database), else a throw-away embedded PostgreSQL.
Run by hand: `python benchmarks/bench_oura_sync.py [people] [days] [threads]`.
"""

from __future__ import annotations

import dataclasses
import io
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta

TABLES = ("wearable_daily", "wearable_sleep", "wearable_activities", "measurements")


def main(people: int = 50, days: int = 365, threads: int = 4) -> None:
    if not os.environ.get("DATABASE_URL"):
        os.environ["VITALIS_HOME"] = tempfile.mkdtemp(prefix="vitalis-bench-")
    from db import crypto

    os.environ.setdefault("VITALIS_TOKEN_KEYS", crypto.new_key())
    import httpx
    from sqlalchemy import delete, text

    from db import migrate
    from db.engine import admin_scope, get_engine
    from db.models import Account, User
    from integrations import oura
    from integrations.apps import ProviderApp
    from integrations.oauth import begin_connect, finish_connect
    from integrations.pacing import LocalBucket
    from integrations.provider import Quota
    from integrations.sandbox.server import SandboxConfig
    from integrations.sync import sync

    migrate.upgrade()
    today = datetime.now(UTC).date()
    # The sandbox runs in a process of its own, as the real API would (and off this process's GIL).
    config = SandboxConfig(days=days, page_size=100, series_page_size=1000, quota_requests=10**9)
    server = subprocess.Popen(  # noqa: S603 (our own module, fixed arguments)
        [
            sys.executable,
            "-m",
            "integrations.sandbox",
            "oura",
            "--days",
            str(days),
            "--page-size",
            "100",
            "--series-page-size",
            "1000",
            "--quota-requests",
            str(10**9),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    url = server.stdout.readline().strip()  # type: ignore[union-attr]
    provider = dataclasses.replace(oura.PROVIDER, quota=Quota(10**9, 300))
    app = ProviderApp(provider, config.client_id, config.client_secret, "http://127.0.0.1:9/cb", url)
    bucket = LocalBucket()

    def new_people(n: int) -> list[tuple[object, object]]:
        with admin_scope() as session:
            made = []
            for _ in range(n):
                account = Account()
                session.add(account)
                session.flush()
                user = User(
                    account_id=account.account_id, email=f"bench-{account.account_id}@example.test", display_name="B"
                )
                session.add(user)
                session.flush()
                made.append((account.account_id, user.user_id))
            return made

    synced, copied = new_people(people), new_people(people)
    try:
        t0 = time.perf_counter()
        for _, user_id in synced:
            request = begin_connect(user_id, "oura", app=app)
            location = httpx.URL(httpx.get(request.url).headers["location"])
            finish_connect(request.state, location.params["code"], app=app, bucket=bucket)
        print(f"connected {people} people in {time.perf_counter() - t0:.2f}s")

        queue = [u for _, u in synced]
        lock = threading.Lock()
        reports = []

        def worker() -> None:
            while True:
                with lock:
                    if not queue:
                        return
                    user_id = queue.pop()
                report = sync(
                    user_id, "oura", start=today - timedelta(days=days - 1), app=app, bucket=bucket, today=today
                )
                with lock:
                    reports.append(report)

        t0 = time.perf_counter()
        pool = [threading.Thread(target=worker) for _ in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        elapsed = time.perf_counter() - t0
        requests = sum(r.requests for r in reports)
        operations = sum(
            v["inserted"] + v["updated"] for r in reports for res in r.resources for v in res.rows.values()
        )

        ids = [str(u) for _, u in synced]
        raw = get_engine().raw_connection()
        try:
            with raw.cursor() as cur:
                dumps, final_rows = {}, 0
                for table in TABLES:
                    columns = [
                        c
                        for (c,) in cur.execute(
                            "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
                            "AND column_name NOT IN ('daily_id','sleep_id','activity_id','measurement_id',"
                            "'created_at','updated_at') AND table_schema = 'public'",
                            (table,),
                        )
                    ]
                    buffer = io.BytesIO()
                    query = f"COPY (SELECT {', '.join(columns)} FROM {table} WHERE user_id = ANY(%s)) TO STDOUT"
                    with cur.copy(query, (ids,)) as copy:
                        for block in copy:
                            buffer.write(block)
                    data = buffer.getvalue()
                    final_rows += data.count(b"\n")
                    for (_, old), (_, new) in zip(synced, copied, strict=True):
                        data = data.replace(str(old).encode(), str(new).encode())
                    dumps[table] = (columns, data)
            raw.commit()
            t1 = time.perf_counter()
            with raw.cursor() as cur:
                for table, (columns, data) in dumps.items():
                    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                        copy.write(data)
            raw.commit()
            copy_elapsed = time.perf_counter() - t1
        finally:
            raw.close()

        print(f"sync:  {people} people x {days} days, {threads} threads, {elapsed:.2f}s")
        print(f"       {requests} requests = {requests / elapsed:,.0f} requests/s")
        print(f"       {operations} upserted row operations = {operations / elapsed:,.0f}/s")
        print(f"       {final_rows} final rows = {final_rows / elapsed:,.0f} rows/s")
        print(f"COPY:  the same {final_rows} rows in {copy_elapsed:.2f}s = {final_rows / copy_elapsed:,.0f} rows/s")
        print(f"ratio: COPY is {elapsed / copy_elapsed:.1f}x the sync's end-to-end rate")
    finally:
        server.terminate()
        server.wait(10)
        with admin_scope() as session:
            session.execute(text("SET LOCAL statement_timeout = 0"))
            session.execute(delete(Account).where(Account.account_id.in_([a for a, _ in synced + copied])))


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:4]))
