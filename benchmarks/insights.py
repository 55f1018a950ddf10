"""Speed and accuracy of the nightly insight engine on generated users.

Each user has 5 years of daily data in ~40 metrics: autocorrelated series (AR(1)), realistic gaps
(random missing days, weeks the device was not worn, a journal started late, supplement columns only
while on the regimen), a few planted true links at lags 0–3, and everything else independent. The
script times insights.nightly.analyze per user (correlations, intervention effects, biomarker trends,
goal alerts), in one process and in a pool of one process per core, and the straightforward approach
(scipy.stats.pearsonr and spearmanr per pair per lag in a loop) on a subset of the same users. It
reports recall of the planted links and the observed false-discovery rate on the null pairs.

The default run times the engine only. The machine may be shared: the load average is printed before
and after, and figures are wall-clock.

Run by hand: `python benchmarks/insights.py [users] [naive_users]` (defaults 400 and 8).

`python benchmarks/insights.py --db [users]` (default 20) instead stores generated users in the
PostgreSQL of DATABASE_URL (migrated first; use a database of its own) and times the whole path per
user without Celery: loading a batch with insights.load (set-based, as the analytics role), analyzing,
and writing insights and alerts in each user's scope (insights.store), first night and an identical
re-run. Its users are deleted at the end.

`python benchmarks/insights.py --workers [users] [batch]` (defaults 300 and 50) runs the nightly job end
to end through real workers: it stores generated users in the database of DATABASE_URL (as --db does),
starts `vitalis worker -c 2` (prefork, two processes; the database broker, or Redis with REDIS_URL),
lets both worker processes import numpy and scipy (once per process, not per user), sends
`vitalis.nightly` and waits until every batch job it queued is finished. Per night it prints users/s from
the nightly's start to the last batch's end, the CPU per user of the worker processes and of PostgreSQL
(the backends of this database, read from /proc, so the server must run on this machine; and the whole
server's, which includes other databases' work), the workers' peak memory, the load average, and the
extrapolation to 100,000 users on 2 cores from the CPU per user; the first night, then the same with
every user due again and nothing changed. Then the engine alone on the same generated users: recall,
false-discovery rate and the speed-up over the scipy loop.
"""

from __future__ import annotations

import os
import sys

# Run as a script, this file's folder comes first on the path and its name would hide the package.
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path[0] = os.path.dirname(sys.path[0])

# One BLAS thread per process: the nightly run parallelises over users (one worker process per core);
# BLAS threads on top of that only fight over the same cores. Set before numpy is imported (below).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import datetime as dt
import multiprocessing
import resource
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import signal
from scipy import stats as sps

from insights import stats
from insights.correlate import CorrelationSettings
from insights.goals import GoalSpec
from insights.load import GoalRow, MarkerSeries, SupplementCourse, UserData
from insights.nightly import CORRELATION, analyze
from insights.trends import MarkerRanges

DAYS = 5 * 365 + 1
METRICS = 40
TODAY = dt.date(2026, 11, 23)
TARGET_USERS, TARGET_MINUTES, CORES = 100_000, 30, 2


@dataclass
class Planted:
    driver: str
    outcome: str
    lag: int
    r: float  # the correlation the generator aims for


def make_user(seed: int) -> tuple[UserData, list[Planted]]:
    rng = np.random.default_rng(seed)
    t, m = DAYS, METRICS
    names = [f"wearable.m{i:02d}" for i in range(30)] + [f"journal.j{i}" for i in range(4)]
    names += [f"custom.c{i}" for i in range(3)] + [f"supplement.s{i}" for i in range(3)]
    phi = rng.uniform(0.1, 0.8, m)
    x = np.empty((t, m))
    for j in range(m):
        x[:, j] = signal.lfilter([1.0], [1.0, -phi[j]], rng.normal(size=t)) * np.sqrt(1 - phi[j] ** 2)
    # Supplements: taken (dose 1) or not on each day of the regimen.
    for j in range(37, 40):
        x[:, j] = (rng.random(t) < rng.uniform(0.4, 0.9)).astype(float)

    planted = []
    pool = list(rng.permutation(37))  # drivers and outcomes, each used once: links never share a metric
    drivers = [int(rng.integers(37, 40))] + [pool.pop() for _ in range(4)]
    for driver in drivers:
        outcome, lag, r = pool.pop(), int(rng.integers(0, 4)), float(rng.uniform(0.2, 0.5))
        d = x[:, driver]
        z = (d - d.mean()) / d.std()
        shifted = np.r_[np.zeros(lag), z[: t - lag]]
        x[:, outcome] = r * shifted + np.sqrt(1 - r * r) * x[:, outcome]
        planted.append(Planted(names[driver], names[outcome], lag, r))

    # Units and shapes: a few lognormal (steps-like), journal on a 1–5 scale (ties).
    x[:, :5] = np.exp(0.3 * x[:, :5]) * 8000
    x[:, 30:34] = np.clip(np.round(3 + x[:, 30:34]), 1, 5)
    # Missing days: random, plus unworn stretches of the device, a late journal, regimens with an end.
    x[rng.random(x.shape) < rng.uniform(0.03, 0.25, m)] = np.nan
    for _ in range(int(rng.integers(2, 8))):
        start = int(rng.integers(0, t - 30))
        x[start : start + int(rng.integers(3, 30)), :30] = np.nan
    x[: int(rng.integers(0, 3 * 365)), 30:34] = np.nan
    regimen_start = []
    for j in range(37, 40):
        first = int(rng.integers(60, t // 2))
        x[:first, j] = np.nan
        regimen_start.append(first)

    start = TODAY - dt.timedelta(days=t - 1)
    courses = [
        SupplementCourse(names[j], names[j].split(".")[1], start + dt.timedelta(days=s), None)
        for j, s in zip(range(37, 40), regimen_start, strict=True)
    ]
    panels = [start + dt.timedelta(days=int(d)) for d in sorted(rng.choice(t, 8, replace=False))]
    ranges = MarkerRanges(80, 120, 70, 110, 50, 200)
    markers = {
        f"b{k}": MarkerSeries(f"b{k}", "mg/dL", panels, list(100 + rng.normal(0, 10, 8).cumsum()), ranges)
        for k in range(10)
    }
    goals = []
    for k in range(3):
        spec = GoalSpec(names[k], "minimize", high=float(np.nanpercentile(x[:, k], 90)))
        goals.append(GoalRow(uuid.uuid4(), spec, names[k], start))
    groups: list[str | None] = [None] * m
    user = UserData(uuid.uuid4(), start, "female", names, groups, x, markers, courses, goals)
    return user, planted


def score(found: list[tuple[str, str, int]], planted: list[Planted]) -> tuple[int, int, int, int]:
    """(planted links found, found at the planted lag, findings, findings on null pairs)."""
    links = {frozenset((p.driver, p.outcome)): p for p in planted}
    hit = lag_hit = false = 0
    for a, b, lag in found:
        p = links.get(frozenset((a, b)))
        if p is None:
            false += 1
            continue
        hit += 1
        lag_hit += int(lag == p.lag and a == p.driver) or int(lag == 0 == p.lag)
    return hit, lag_hit, len(found), false


def engine_findings(user: UserData) -> tuple[tuple[float, float], list[tuple[str, str, int]]]:
    started, cpu = time.perf_counter(), time.process_time()
    result = analyze(user, TODAY)
    elapsed = (time.perf_counter() - started, time.process_time() - cpu)
    # Lags are not stored on the row; recompute them for scoring only (not timed).
    from insights.correlate import correlate

    lags = {frozenset((c.metric_a, c.metric_b)): (c.metric_a, c.metric_b, c.lag)
            for c in correlate(user.values, user.metrics, CorrelationSettings(), user.groups).findings}  # fmt: skip
    found = [lags[frozenset((d.metric_a, d.metric_b))] for d in result.insights if d.insight_type == CORRELATION]
    return elapsed, found


def timed_user(seed: int) -> tuple[tuple[float, float], tuple[int, int, int, int], int]:
    user, planted = make_user(seed)
    elapsed, found = engine_findings(user)
    return elapsed, score(found, planted), len(planted)


def naive(user: UserData, max_lag: int = 3, min_n: int = 30, fdr: float = 0.05) -> list[tuple[str, str, int]]:
    """The straightforward approach: scipy per pair per lag, then Benjamini–Hochberg (no autocorrelation
    allowance, no vectorization)."""
    x, names = user.values, user.metrics
    t, m = x.shape
    tests = []
    for lag in range(max_lag + 1):
        for a in range(m):
            for b in range(m):
                if a == b or (lag == 0 and b < a):
                    continue
                u, v = x[: t - lag, a], x[lag:, b]
                both = ~np.isnan(u) & ~np.isnan(v)
                if both.sum() < min_n or np.ptp(u[both]) == 0 or np.ptp(v[both]) == 0:
                    continue
                pr = sps.pearsonr(u[both], v[both])
                sr = sps.spearmanr(u[both], v[both])
                tests.append((a, b, lag, pr.statistic, sr.statistic, max(pr.pvalue, sr.pvalue)))
    q = stats.benjamini_hochberg(np.array([p for *_, p in tests]))
    best: dict[frozenset, tuple[float, tuple[str, str, int]]] = {}
    for (a, b, lag, r, rho, p), qi in zip(tests, q, strict=True):
        if qi <= fdr and abs(r) >= 0.1 and np.sign(r) == np.sign(rho):
            key = frozenset((a, b))
            if key not in best or p < best[key][0]:
                best[key] = (p, (names[a], names[b], lag))
    return [found for _, found in best.values()]


def engine_report(seeds: range, naive_users: int = 8) -> bool:
    """The engine on the generated arrays of `seeds` in this process: recall of the planted links, the
    false-discovery rate on null pairs, and the speed-up over the scipy loop on the first `naive_users`.
    True when recall and FDR meet their targets."""
    timed = [timed_user(seed) for seed in seeds]
    cpu_each = np.array([t[0][1] for t in timed])
    hit, lag_hit, n_found, false = (int(v) for v in np.array([t[1] for t in timed]).sum(axis=0))
    n_planted = sum(t[2] for t in timed)
    naive_time = engine_time = 0.0
    for seed, (elapsed, _, _) in zip(seeds[:naive_users], timed, strict=False):
        user, _ = make_user(seed)
        started = time.perf_counter()
        naive(user)
        naive_time += time.perf_counter() - started
        engine_time += elapsed[0]
    n_naive = min(naive_users, len(seeds))
    recall, fdr = hit / n_planted, false / max(n_found, 1)
    print(f"engine alone on the same {len(seeds)} users' arrays: CPU {cpu_each.mean() * 1000:.1f} ms per user;"
          f" scipy loop (pearsonr + spearmanr per pair per lag) on {n_naive} of them {naive_time / n_naive:.2f} s"
          f" per user  →  speed-up ×{naive_time / engine_time:.0f}")  # fmt: skip
    print(f"  recall of {n_planted} planted links {recall:.1%} (target ≥ 90 %), at the planted lag"
          f" {lag_hit / n_planted:.1%}; findings {n_found}, on null pairs {false}: false-discovery rate"
          f" {fdr:.1%} (target ≤ 10 %)")  # fmt: skip
    return recall >= 0.9 and fdr <= 0.10


def main(users: int = 400, naive_users: int = 8) -> None:
    load_before = os.getloadavg()
    print(f"insights benchmark: {users} users × {DAYS} days × {METRICS} metrics, lags 0–3")
    print("engine only: no database, no Celery (--workers runs the nightly job end to end)")
    print(f"load average before: {load_before[0]:.1f} {load_before[1]:.1f} on {os.cpu_count()} cores; the machine is"
          " shared, so wall-clock figures include other people's work; CPU time is this process's own")  # fmt: skip

    gen_started = time.perf_counter()
    make_user(0)
    gen_each = time.perf_counter() - gen_started

    # One process: seconds per user.
    single = [timed_user(seed) for seed in range(users)]
    wall_each = np.array([s[0][0] for s in single])
    cpu_each = np.array([s[0][1] for s in single])
    rss_single = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    # A pool of one process per core, as the nightly run's workers would be.
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(CORES) as pool:
        pooled = pool.map(timed_user, range(users, 2 * users), chunksize=8)
    pool_wall = time.perf_counter() - started
    pool_engine = sum(p[0][0] for p in pooled)  # seconds the processes spent inside the engine
    rss_child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

    total = np.array([s[1] for s in single + pooled]).sum(axis=0)
    n_planted = sum(s[2] for s in single + pooled)
    hit, lag_hit, n_found, false = (int(v) for v in total)

    naive_time = engine_time = 0.0
    naive_total = np.zeros(4, dtype=int)
    naive_planted = 0
    for seed in range(naive_users):
        user, planted = make_user(seed)
        started = time.perf_counter()
        found = naive(user)
        naive_time += time.perf_counter() - started
        engine_time += wall_each[seed]
        naive_total += score(found, planted)
        naive_planted += len(planted)

    ms = 1000.0
    cpu_minutes = TARGET_USERS * float(cpu_each.mean()) / CORES / 60
    pooled_rate = users / (pool_engine / CORES)
    print(f"\ngenerating one user's data: {gen_each * ms:.0f} ms (not counted)")
    print("one process:")
    print(f"  per user: wall median {np.median(wall_each) * ms:.1f} ms, mean {wall_each.mean() * ms:.1f} ms,"
          f" p95 {np.percentile(wall_each, 95) * ms:.1f} ms; CPU mean {cpu_each.mean() * ms:.1f} ms"
          f"  →  {1 / wall_each.mean():.1f} users/s")  # fmt: skip
    print(f"  peak RSS {rss_single:.0f} MiB")
    print(f"pool of {CORES} processes, {users} other users:")
    print(f"  engine mean {pool_engine / users * ms:.1f} ms per user in each process  →  {pooled_rate:.1f} users/s;"
          f" wall {pool_wall:.1f} s including data generation; peak RSS per process {rss_child:.0f} MiB")  # fmt: skip
    print(f"extrapolated, {TARGET_USERS:,} users on {CORES} cores:")
    print(f"  from CPU time per user: {cpu_minutes:.1f} min of compute (target < {TARGET_MINUTES} min)")
    print(f"  from the pool's rate on this shared machine: {TARGET_USERS / pooled_rate / 60:.1f} min of wall time")
    print(f"\nstraightforward scipy loop (pearsonr + spearmanr per pair per lag), {naive_users} of the same users:"
          f" {naive_time / naive_users:.2f} s per user vs engine {engine_time / naive_users * ms:.1f} ms"
          f"  →  speed-up ×{naive_time / engine_time:.0f}")  # fmt: skip
    recall = hit / n_planted
    fdr = false / max(n_found, 1)
    print(f"\naccuracy over {2 * users} users ({n_planted} planted links, r 0.2–0.5, lags 0–3):")
    print(f"  recall of planted links {recall:.1%} (target ≥ 90 %); at the planted lag {lag_hit / n_planted:.1%}")
    print(f"  findings {n_found}, on null pairs {false}: observed false-discovery rate {fdr:.1%} (target ≤ 10 %)")
    nh, _, nf, nfalse = naive_total
    print(f"  the scipy loop without the autocorrelation allowance, {naive_users} users: recall"
          f" {nh / naive_planted:.1%}, false-discovery rate {nfalse / max(nf, 1):.1%} ({nfalse} of {nf})")  # fmt: skip
    load_after = os.getloadavg()
    print(f"\nload average after: {load_after[0]:.1f} {load_after[1]:.1f}")
    ok = cpu_minutes < TARGET_MINUTES and recall >= 0.9 and fdr <= 0.10
    print("targets met (compute, recall, FDR)" if ok else "targets NOT met")


def _db_values(column, z: np.ndarray) -> list:
    """Generated standard scores as valid values of a real column (its CHECK range, its type); NaN → None."""
    from sqlalchemy import Integer, Numeric

    from db.validation import RANGES

    lo, hi = RANGES.get((column.table.name, column.name), (0, 90))
    value = lo + (hi - lo) * np.clip(0.5 + 0.12 * np.nan_to_num(z), 0.02, 0.98)
    if isinstance(column.type, Integer):
        out = [int(v) for v in np.round(value)]
    elif isinstance(column.type, Numeric):
        out = [float(v) for v in np.round(value, column.type.scale or 0)]
    else:
        out = [float(v) for v in value]
    return [None if np.isnan(zi) else v for zi, v in zip(z, out, strict=True)]


def _copy(session, table: str, columns: list[str], rows) -> None:
    """Rows into a table with COPY: storing hundreds of generated users row by row takes longer than the
    run it prepares."""
    cursor = session.connection().connection.driver_connection.cursor()
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def store_users(session, count: int) -> list[uuid.UUID]:
    """Generated users as real rows: 27 wearable/sleep columns, the journal, custom metrics, supplements."""
    from db.models import Account, CustomMetric, Supplement, User, WearableDaily, WearableSleep
    from insights.load import DAILY_COLUMNS, SLEEP_COLUMNS

    daily_cols = [WearableDaily.__table__.c[c] for c in DAILY_COLUMNS]
    sleep_cols = [WearableSleep.__table__.c[c] for c in SLEEP_COLUMNS]
    journal_cols = ["mood_score", "energy_score", "stress_score"]
    ids = []
    for k in range(count):
        account = Account()
        session.add(account)
        session.flush()
        user = User(account_id=account.account_id, email=f"bench-insights-{uuid.uuid4().hex}@example.test",
                    display_name="Bench", biological_sex="female")  # fmt: skip
        session.add(user)
        session.flush()
        uid = user.user_id
        ids.append(uid)
        data, _ = make_user(10_000 + k)
        x, dates = data.values, data.dates()
        for table, day_col, cols, first, extra in (
            ("wearable_daily", "date", daily_cols, 0, ["source"]),
            ("wearable_sleep", "sleep_date", sleep_cols, 14, ["source"]),
        ):
            values = list(zip(*(_db_values(c, x[:, first + j]) for j, c in enumerate(cols)), strict=True))
            rows = [(uid, day, "oura", *v)
                    for day, v in zip(dates, values, strict=True) if any(e is not None for e in v)]  # fmt: skip
            _copy(session, table, ["user_id", day_col, *extra, *(c.name for c in cols)], rows)
        journal = np.where(np.isfinite(x[:, 30:33]), x[:, 30:33], -1).astype(int)
        rows = [(uid, day, *(None if v < 0 else int(v) for v in journal[i]))
                for i, day in enumerate(dates) if (journal[i] >= 0).any()]  # fmt: skip
        _copy(session, "mood_journal", ["user_id", "journal_date", *journal_cols], rows)
        entries = []
        for name, j in (("c0", 34), ("c1", 35), ("c2", 36), ("m27", 27), ("m28", 28), ("m29", 29)):
            metric = CustomMetric(user_id=uid, name=name, data_type="numeric")
            session.add(metric)
            session.flush()
            entries += [(uid, metric.metric_id, round(float(x[i, j]), 3),
                         dt.datetime.combine(day, dt.time(8), tzinfo=dt.UTC))
                        for i, day in enumerate(dates) if np.isfinite(x[i, j])]  # fmt: skip
        _copy(session, "custom_metric_entries", ["user_id", "metric_id", "value_numeric", "measured_at"], entries)
        logs = []
        for course, j in zip(data.supplements, range(37, 40), strict=True):
            supplement = Supplement(user_id=uid, name=course.name, started_at=course.started, dose_amount=1)
            session.add(supplement)
            session.flush()
            logs += [(uid, supplement.supplement_id, dt.datetime.combine(day, dt.time(21), tzinfo=dt.UTC))
                     for i, day in enumerate(dates) if x[i, j] == 1]  # fmt: skip
        _copy(session, "supplement_logs", ["user_id", "supplement_id", "taken_at"], logs)
    return ids


def main_db(users: int = 20, batch: int = 10) -> None:
    from sqlalchemy import delete, select, text

    from db import migrate
    from db.engine import WORKER_ROLE, admin_scope, user_scope
    from db.models import Account, User
    from db.partitions import ensure_years
    from insights.load import load_batch
    from insights.store import write_user

    if not os.environ.get("DATABASE_URL"):
        sys.exit("--db needs DATABASE_URL (a PostgreSQL database of its own: it is migrated and written to)")
    migrate.upgrade()
    from db.engine import get_engine

    ensure_years(get_engine(), range(TODAY.year - 5, TODAY.year + 1))
    print(f"insights benchmark on PostgreSQL: {users} users × {DAYS} days, batches of {batch}, no Celery")
    print(f"load average before: {os.getloadavg()[0]:.1f} (shared machine: the database is shared too)")
    started = time.perf_counter()
    with admin_scope() as session:
        ids = store_users(session, users)
    print(f"stored the users' data in {time.perf_counter() - started:.0f} s (not counted)")
    try:
        for night in ("first night", "same night again"):
            load_s = analyze_s = store_s = 0.0
            counts = np.zeros(3, dtype=int)
            for b in range(0, users, batch):
                chunk = ids[b : b + batch]
                t0 = time.perf_counter()
                with admin_scope() as session:
                    session.execute(text("SET LOCAL ROLE vitalis_readonly"))  # every user, read only
                    loaded = load_batch(session, chunk, TODAY)
                load_s += time.perf_counter() - t0
                for uid in chunk:
                    t1 = time.perf_counter()
                    result = analyze(loaded[uid], TODAY)
                    t2 = time.perf_counter()
                    with user_scope(uid, role=WORKER_ROLE) as session:
                        summary = write_user(session, uid, result.insights, result.alerts, TODAY)
                    t3 = time.perf_counter()
                    analyze_s += t2 - t1
                    store_s += t3 - t2
                    counts += (summary.inserted, summary.unchanged, summary.alerts)
            total = load_s + analyze_s + store_s
            print(f"{night}: per user load {load_s / users * 1000:.0f} ms (batched), analyze"
                  f" {analyze_s / users * 1000:.0f} ms, store {store_s / users * 1000:.0f} ms →"
                  f" {users / total:.1f} users/s in one process; insights inserted {counts[0]}, unchanged"
                  f" {counts[1]}, alerts {counts[2]}")  # fmt: skip
            print(f"  extrapolated: {TARGET_USERS:,} users on {CORES} processes ≈"
                  f" {TARGET_USERS * total / users / CORES / 60:.0f} min wall (database on this machine)")  # fmt: skip
        t0 = time.perf_counter()
        with user_scope(ids[0], role=WORKER_ROLE) as session:
            load_batch(session, [ids[0]], TODAY)
        print(f"one user loaded alone in its own scope: {(time.perf_counter() - t0) * 1000:.0f} ms")
    finally:
        with admin_scope() as session:
            accounts = session.scalars(select(User.account_id).where(User.user_id.in_(ids))).all()
            session.execute(delete(Account).where(Account.account_id.in_(accounts)))
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


class PostgresCpu:
    """CPU seconds spent by PostgreSQL, read from /proc (the server must run on this machine).

    `ours`: the backends connected to the benchmark's database (workers, broker, parallel workers),
    sampled while the run goes; a backend that ends between two samples loses at most one interval.
    `server`: every process of the server, plus the children it has reaped: exact, but includes other
    databases' work on a shared server.
    """

    def __init__(self, conn) -> None:
        from sqlalchemy import text

        self._conn = conn
        self._query = text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        me = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        conn.commit()
        self._postmaster = int(Path(f"/proc/{me}/stat").read_text().rsplit(")", 1)[1].split()[1])
        self._first: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._server0 = self._server()
        self.sample(start=True)

    def _server(self) -> float:
        from benchmarks.bench_jobs import cpu_seconds, process_tree

        fields = Path(f"/proc/{self._postmaster}/stat").read_text().rsplit(")", 1)[1].split()
        reaped = (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")  # cutime + cstime
        return reaped + sum(cpu_seconds(pid) for pid in process_tree(self._postmaster))

    def sample(self, start: bool = False) -> None:
        from benchmarks.bench_jobs import cpu_seconds

        pids = self._conn.execute(self._query).scalars().all()
        self._conn.commit()
        for pid in pids:
            seconds = cpu_seconds(pid)
            if seconds:
                self._first.setdefault(pid, seconds if start else 0.0)
                self._last[pid] = seconds

    def ours(self) -> float:
        return sum(self._last[pid] - self._first[pid] for pid in self._last)

    def server(self) -> float:
        return self._server() - self._server0


def _night(app, engine, label: str, users: int, worker_pid: int) -> dict[str, float] | None:
    from sqlalchemy import text

    from benchmarks.bench_jobs import cpu_seconds, process_tree, rss_kib
    from db.models.enums import JobType
    from workers.tasks import enqueue

    def cpu() -> float:
        return sum(cpu_seconds(pid) for pid in process_tree(worker_pid))

    load_before = os.getloadavg()[0]
    monitor = engine.connect()
    pg = PostgresCpu(monitor)
    cpu0, started = cpu(), time.perf_counter()
    nightly = enqueue(app.tasks["vitalis.nightly"], JobType.NIGHTLY)
    peak: dict[int, int] = {}
    query = text("""
        SELECT count(*) FILTER (WHERE status IN ('succeeded', 'failed')), count(*),
               coalesce(sum((result -> 'counts' ->> 'analysed')::int), 0),
               coalesce(sum((result -> 'counts' ->> 'failed')::int), 0),
               coalesce(sum((result -> 'counts' ->> 'inserted')::int), 0),
               coalesce(sum((result -> 'counts' ->> 'unchanged')::int), 0),
               (SELECT result IS NOT NULL FROM ingestion_jobs WHERE job_id = :n)
        FROM ingestion_jobs WHERE job_id = :n OR payload ->> 'nightly' = :text_n""")
    while True:
        for pid in process_tree(worker_pid):
            peak[pid] = max(peak.get(pid, 0), rss_kib(pid))
        pg.sample()
        done, total, analysed, failed, inserted, unchanged, fanned = monitor.execute(
            query, {"n": nightly, "text_n": str(nightly)}
        ).one()
        monitor.commit()
        if total and done == total and fanned:
            break
        time.sleep(0.05)
    wall, spent = time.perf_counter() - started, cpu() - cpu0
    pg.sample()
    ours, server = pg.ours(), pg.server()
    monitor.close()
    load_after = os.getloadavg()[0]
    if not analysed:
        print(f"{label}: the nightly job finished in {wall:.1f} s and queued {total - 1} batch jobs;"
              f" workers' CPU {spent:.2f} s, PostgreSQL {ours:.2f} s")  # fmt: skip
        return None
    ms = 1000 / analysed
    total_cpu = (spent + ours) / analysed
    print(
        f"{label}: {total - 1} batch jobs, {analysed} users analysed ({failed} failed), insights inserted"
        f" {inserted}, unchanged {unchanged}; load average {load_before:.1f} before, {load_after:.1f} after"
    )
    print(f"  {wall:.1f} s → {analysed / wall:.1f} users/s end to end, {wall * ms:.0f} ms wall per user")
    print(f"  CPU per user: workers {spent * ms:.1f} ms + PostgreSQL {ours * ms:.1f} ms (this database's"
          f" backends) = {total_cpu * 1000:.1f} ms; the whole server {server * ms:.1f} ms (other databases"
          f" included)")  # fmt: skip
    print(f"  workers' peak RSS {sum(peak.values()) / 1024:.0f} MiB over {len(peak)} processes"
          f" (largest {max(peak.values()) / 1024:.0f} MiB)")  # fmt: skip
    compute = TARGET_USERS * total_cpu / CORES / 60
    print(f"  extrapolated, {TARGET_USERS:,} users on {CORES} cores: {compute:.1f} min of compute from CPU per"
          f" user, workers and PostgreSQL (target < {TARGET_MINUTES} min; ≥ {TARGET_USERS / TARGET_MINUTES / 60:.1f}"
          f" users/s); {TARGET_USERS * wall / analysed / 60:.0f} min of wall time at this run's rate on this"
          f" shared machine")  # fmt: skip
    return {"users_s": analysed / wall, "cpu_ms": total_cpu * 1000, "minutes": compute}


def _warm_up(app, engine, worker_pid: int) -> None:
    """Empty batch jobs until every worker process has imported numpy and scipy (each does so with its
    first batch, a second or so of CPU once per process): the nights then measure the run itself."""
    from sqlalchemy import text

    from benchmarks.bench_jobs import process_tree
    from db.models.enums import JobType
    from workers.insights_tasks import BATCH_TASK
    from workers.tasks import enqueue

    def ready() -> bool:
        children = process_tree(worker_pid)[1:]
        return bool(children) and all("numpy" in Path(f"/proc/{pid}/maps").read_text() for pid in children)

    for _ in range(10):
        if ready():
            return
        jobs = [enqueue(app.tasks[BATCH_TASK], JobType.INSIGHTS, payload={"user_ids": [], "today": str(TODAY)})
                for _ in range(CORES)]  # fmt: skip
        query = text("SELECT count(*) FROM ingestion_jobs WHERE job_id = ANY(:ids) AND status = 'succeeded'")
        while True:
            with engine.connect() as conn:
                if conn.execute(query, {"ids": jobs}).scalar_one() == len(jobs):
                    break
            time.sleep(0.05)


def main_workers(users: int = 300, batch: int = 50) -> None:
    import signal
    import tempfile

    from sqlalchemy import delete, select, text

    from benchmarks.bench_jobs import start_worker
    from db import migrate
    from db.engine import admin_scope, get_engine
    from db.models import Account, User
    from db.partitions import ensure_years
    from workers.app import make_app

    if not os.environ.get("DATABASE_URL"):
        sys.exit("--workers needs DATABASE_URL (a PostgreSQL database of its own: it is migrated and written to)")
    migrate.upgrade()
    engine = get_engine()
    ensure_years(engine, range(TODAY.year - 5, TODAY.year + 1))
    broker = os.environ.get("REDIS_URL")
    print(f"nightly insights through real workers: {users} users × {DAYS} days, batches of {batch},"
          f" broker {'Redis' if broker else 'the database'}; load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    started = time.perf_counter()
    with admin_scope() as session:
        ids = store_users(session, users)
    print(f"stored the users' data in {time.perf_counter() - started:.0f} s (not counted)")
    env = dict(os.environ, VITALIS_INSIGHTS_BATCH_SIZE=str(batch))
    env["PYTHONWARNINGS"] = "ignore:You're running the worker with superuser privileges"
    app = make_app(broker_url=broker, result_backend=broker)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            worker = start_worker(env, Path(tmp) / "worker.log")
            try:
                _warm_up(app, engine, worker.pid)
                nights = [_night(app, engine, "first night", users, worker.pid)]
                _night(app, engine, "next night, nothing due", users, worker.pid)
                with admin_scope() as session:  # every user due again, their data unchanged
                    session.execute(text("UPDATE insight_runs SET valid_until = NULL, computed_at = NULL"))
                nights.append(_night(app, engine, "every user due again, data unchanged", users, worker.pid))
            finally:
                worker.send_signal(signal.SIGTERM)
                worker.wait(timeout=60)
    finally:
        with admin_scope() as session:
            accounts = session.scalars(select(User.account_id).where(User.user_id.in_(ids))).all()
            session.execute(delete(Account).where(Account.account_id.in_(accounts)))
    accurate = engine_report(range(10_000, 10_000 + users))
    fast = all(n is not None and n["minutes"] < TARGET_MINUTES for n in nights)
    print("targets met (compute, recall, FDR)" if fast and accurate else "targets NOT met")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--workers"]:
        main_workers(*(int(a) for a in sys.argv[2:4]))
    elif sys.argv[1:2] == ["--db"]:
        main_db(*(int(a) for a in sys.argv[2:4]))
    else:
        main(*(int(a) for a in sys.argv[1:3]))
