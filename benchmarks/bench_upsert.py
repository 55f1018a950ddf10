"""Throughput of the idempotent write path: wearable_daily upserts through user scopes (RLS, CHECKs,
audit trigger and partition routing all on), first load and identical re-run.

Uses DATABASE_URL when set, else a throw-away embedded PostgreSQL. Prints rows/second and peak RSS.
Run by hand: `python benchmarks/bench_upsert.py [users] [days]`.
"""

from __future__ import annotations

import os
import random
import resource
import sys
import tempfile
import time
from datetime import date, timedelta


def main(users: int = 20, days: int = 1826) -> None:
    if not os.environ.get("DATABASE_URL"):
        os.environ["VITALIS_HOME"] = tempfile.mkdtemp(prefix="vitalis-bench-")
    from sqlalchemy import delete

    from db import migrate
    from db.engine import admin_scope, user_scope
    from db.models import Account, User, WearableDaily
    from db.models.enums import DataSource
    from db.upsert import upsert

    migrate.upgrade()
    rng = random.Random(7)  # noqa: S311 (benchmark data, not secrets)
    start = date(2021, 1, 1)
    with admin_scope() as session:
        ids = []
        for n in range(users):
            account = Account()
            session.add(account)
            session.flush()
            user = User(account_id=account.account_id, email=f"bench-{n}-{rng.random()}@example.test", display_name="B")
            session.add(user)
            session.flush()
            ids.append((account.account_id, user.user_id))
    batches = {
        user_id: [
            {
                "user_id": user_id,
                "date": start + timedelta(days=d),
                "source": DataSource.OURA,
                "steps": rng.randint(2000, 16000),
                "resting_hr_bpm": rng.randint(45, 70),
                "hrv_rmssd_ms": round(rng.uniform(20, 90), 2),
                "spo2_avg_pct": round(rng.uniform(94, 99), 1),
                "readiness_score": rng.randint(50, 95),
            }
            for d in range(days)
        ]
        for _, user_id in ids
    }
    total = users * days
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        for label in ("first load", "identical re-run"):
            t0 = time.perf_counter()
            counts = {"inserted": 0, "updated": 0, "unchanged": 0}
            for user_id, rows in batches.items():
                with user_scope(user_id) as session:
                    for k, v in upsert(session, WearableDaily, rows).as_dict().items():
                        counts[k] += v
            elapsed = time.perf_counter() - t0
            print(f"{label:18} {total:>7} rows in {elapsed:6.2f}s = {total / elapsed:8,.0f} rows/s  {counts}")
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(f"peak RSS {rss_after / 1024:.0f} MiB (grew {(rss_after - rss_before) / 1024:.0f} MiB while writing)")
    finally:
        with admin_scope() as session:
            session.execute(delete(Account).where(Account.account_id.in_([a for a, _ in ids])))


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
