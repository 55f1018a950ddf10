"""Loading a batch of users' data for the nightly run: a few set-based queries, arrays out.

Not pure (it takes a Session); what it returns is plain data for the pure modules. Every query covers
the whole batch (the list of ids, each user's rows found through their index), so a batch costs the same
handful of round trips whatever its size. Which rows are visible is the caller's scope: one user's
scope sees that user alone; a batch needs a scope that may read those users' rows.

Daily wearable and sleep rows exist once per source. The source-preference rule picks, per user, day and
metric, the value of the most preferred source that reported that metric (SOURCE_PREFERENCE): dedicated
devices first, then aggregators that often re-report other devices' data.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from insights.goals import GoalSpec
from insights.trends import MarkerRanges

SOURCE_PREFERENCE = ("oura", "whoop", "garmin", "polar", "withings", "fitbit", "apple_health", "manual")

# column → group; metrics in one group are related by definition and are not correlated with each other.
DAILY_COLUMNS = {
    "resting_hr_bpm": "heart_rate",
    "hrv_rmssd_ms": "hrv",
    "steps": "activity",
    "active_calories_kcal": "activity",
    "total_calories_kcal": "activity",
    "active_minutes": "activity",
    "distance_m": "activity",
    "spo2_avg_pct": None,
    "respiratory_rate_avg": "respiration",
    "stress_avg": None,
    "readiness_score": "scores",
    "recovery_score": "scores",
    "skin_temp_deviation_c": "temperature",
    "vo2_max_ml_kg_min": None,
}
SLEEP_COLUMNS = {
    "total_sleep_minutes": "sleep_stages",
    "rem_minutes": "sleep_stages",
    "deep_minutes": "sleep_stages",
    "light_minutes": "sleep_stages",
    "awake_minutes": "sleep_stages",
    "sleep_latency_minutes": None,
    "sleep_efficiency_pct": "sleep_stages",
    "sleep_score": "scores",
    "avg_hr_bpm": "heart_rate",
    "min_hr_bpm": "heart_rate",
    "avg_hrv_ms": "hrv",
    "avg_respiratory_rate": "respiration",
    "avg_skin_temp_deviation_c": "temperature",
}
JOURNAL_COLUMNS = {"mood_score": None, "energy_score": None, "stress_score": None}
NUTRITION_COLUMNS = {"calories_kcal": "nutrition", "protein_g": "nutrition", "carbs_g": "nutrition",
                     "fat_g": "nutrition", "fiber_g": "nutrition"}  # fmt: skip


@dataclass
class MarkerSeries:
    name: str  # canonical name, or the lab's name for markers the dictionary does not know
    unit: str | None
    dates: list[dt.date] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    ranges: MarkerRanges = field(default_factory=MarkerRanges)


@dataclass(frozen=True)
class SupplementCourse:
    key: str  # the intake column, "supplement.<name>"
    name: str
    started: dt.date | None
    ended: dt.date | None


@dataclass(frozen=True)
class GoalRow:
    goal_id: uuid.UUID
    spec: GoalSpec
    metric_key: str  # the daily column or "marker.<name>" the goal watches
    created: dt.date


@dataclass
class UserData:
    """One user's data on a common day axis: row i of `values` is `start + i days`."""

    user_id: uuid.UUID
    start: dt.date
    sex: str | None
    metrics: list[str]
    groups: list[str | None]
    values: np.ndarray
    markers: dict[str, MarkerSeries]
    supplements: list[SupplementCourse]
    goals: list[GoalRow]

    def column(self, key: str) -> np.ndarray | None:
        try:
            return self.values[:, self.metrics.index(key)]
        except ValueError:
            return None

    def dates(self) -> list[dt.date]:
        first = np.datetime64(self.start, "D")
        return np.arange(first, first + self.values.shape[0]).astype(object).tolist()


def _daily_queries() -> list[tuple[str, dict[str, str | None], str]]:
    """(prefix, columns, query) of the tables with one row per user, day (and source).

    Each query returns only numbers, so a result becomes one numpy array: the day's row index (days
    since start), the source's rank in SOURCE_PREFERENCE (lower is preferred), then the columns;
    _numbers puts the user's position in ids first.
    """
    # Enum against enum (no text conversion per row).
    rank = "coalesce(array_position(%(pref)s::data_source[], x.source), 1000)"

    def listed(columns: dict[str, str | None], agg: str = "") -> str:
        return _row(*(f"{agg}(x.{c})" if agg else f"x.{c}" for c in columns))

    return [
        ("wearable", DAILY_COLUMNS, f"""
            SELECT {_row("x.date - %(start)s::date", rank)}, {listed(DAILY_COLUMNS)}
            FROM wearable_daily x WHERE x.user_id = who.user_id AND x.date BETWEEN %(start)s AND %(end)s"""),
        ("sleep", SLEEP_COLUMNS, f"""
            SELECT {_row("x.sleep_date - %(start)s::date", rank)}, {listed(SLEEP_COLUMNS)}
            FROM wearable_sleep x WHERE x.user_id = who.user_id AND x.sleep_date BETWEEN %(start)s AND %(end)s"""),
        ("journal", JOURNAL_COLUMNS, f"""
            SELECT {_row("x.journal_date - %(start)s::date", "0")}, {listed(JOURNAL_COLUMNS)}
            FROM mood_journal x WHERE x.user_id = who.user_id AND x.journal_date BETWEEN %(start)s AND %(end)s
              AND x.deleted_at IS NULL"""),
        ("nutrition", NUTRITION_COLUMNS, f"""
            SELECT {_row("x.log_date - %(start)s::date", "0")}, {listed(NUTRITION_COLUMNS, "sum")}
            FROM nutrition_logs x WHERE x.user_id = who.user_id AND x.log_date BETWEEN %(start)s AND %(end)s
              AND x.deleted_at IS NULL
            GROUP BY x.log_date"""),
    ]  # fmt: skip


def _fill(
    cols: dict[int, dict[str, np.ndarray]], mat: np.ndarray, keys: Sequence[str], t: int, keyed: str | None = None
) -> None:
    """Scatter a numeric result into per-user day arrays (cols[user position][key]), without a loop
    over rows.

    Wide rows are (user, day, rank, one value per key): per user, day and key the value of the
    best-ranked row that has one wins (a missing value never overwrites). Keyed rows are (user, key
    position, day, value), several per day folded by `keyed` = "mean" or "sum" (numpy's bincount is much
    cheaper than a GROUP BY on a timestamp's local day).
    """
    if mat.size == 0:
        return
    if keyed:
        mat = mat[(mat[:, 2] >= 0) & (mat[:, 2] < t) & ~np.isnan(mat[:, 3])]
        if mat.size == 0:
            return
        codes, series = np.unique(
            mat[:, 0].astype(np.int64) * len(keys) + mat[:, 1].astype(np.int64), return_inverse=True
        )
        slot = series * t + mat[:, 2].astype(np.int64)
        total = np.bincount(slot, weights=mat[:, 3], minlength=codes.size * t).reshape(codes.size, t)
        count = np.bincount(slot, minlength=codes.size * t).reshape(codes.size, t)
        for row, code in enumerate(codes.tolist()):
            u, k = divmod(code, len(keys))
            arr = cols[u].setdefault(keys[k], np.full(t, np.nan))
            seen = count[row] > 0
            arr[seen] = total[row, seen] / count[row, seen] if keyed == "mean" else total[row, seen]
        return
    # One days × keys block per user, written from the worst rank to the best: a better source's value
    # replaces a worse one's, a missing value replaces nothing.
    users, at = np.unique(mat[:, 0].astype(np.int64), return_inverse=True)
    day, rank = mat[:, 1].astype(np.int64), mat[:, 2]
    blocks = np.full((users.size, t, len(keys)), np.nan)
    for r in np.unique(rank)[::-1]:
        sel = rank == r
        values = mat[sel, 3:]
        earlier = blocks[at[sel], day[sel]]
        blocks[at[sel], day[sel]] = np.where(np.isnan(values), earlier, values)
    for u, block in zip(users.tolist(), blocks, strict=True):
        for j in np.flatnonzero(~np.isnan(block).all(axis=0)):
            cols[u][keys[j]] = block[:, j].copy()


def _numbers(
    session: Session, query: str, params: dict, width: int, over: str = "{users}", series: str | None = None
) -> np.ndarray:
    """A query's rows of `width` float8 columns, never NULL, as a numpy array, after the user's position
    in ids (and the series' position, 1-based, from the expression `series`): rows × (1 or 2 + width).

    `query` selects one user's rows (`who.user_id`, `who.n`, `who.tz` name the user), or one series' rows
    of a user when `over` lists the series (`who` then names the series too). The rows come back as one
    float8 array per user or series in binary (array_agg, array_send) and are viewed in place: tens of
    thousands of rows per user would otherwise become Python tuples and floats first, which costs more
    than the query itself.
    """
    names = ", ".join(f"c{j}" for j in range(width))
    keys = ["who.n - 1"] + ([f"{series} - 1"] if series else [])
    with session.connection().connection.driver_connection.cursor(binary=True) as cursor:
        cursor.execute(
            f"SELECT {', '.join(keys)}, (SELECT array_send(array_agg(ARRAY[{names}])) FROM ({query}) AS q({names}))"
            f" FROM {over.format(users=_USERS)}",
            params | {"series_doses": params.get("series_doses")},
        )
        found = cursor.fetchall()
    parts = []
    for *key, data in found:
        if data is not None:
            rows = _float8_rows(bytes(data), width)
            parts.append(np.hstack([np.broadcast_to(np.array(key, dtype=float), (rows.shape[0], len(key))), rows]))
    return np.concatenate(parts) if parts else np.empty((0, len(keys) + width))


def _float8_rows(data: bytes, width: int) -> np.ndarray:
    """A two-dimensional float8[] in PostgreSQL's binary format (array_send) as rows × width."""
    ndim, has_nulls, oid, rows, _, cols, _ = np.frombuffer(data, ">i4", 7)
    if ndim != 2 or has_nulls or oid != 701 or cols != width:  # 701: float8
        raise ValueError(f"expected a float8 array of rows × {width} without NULLs from the loader's query")
    items = np.frombuffer(data, np.dtype([("length", ">i4"), ("value", ">f8")]), rows * cols, offset=28)
    if (items["length"] != 8).any():
        raise ValueError("a float8 array element is not 8 bytes long")
    return items["value"].astype(float).reshape(rows, cols)


# The batch's users: their position (1-based) in ids and their time zone. Each loader query runs once
# per user (an index scan on the user's rows, no sort or hash over the whole batch).
_USERS = """(SELECT who.user_id, who.n, coalesce(p.timezone, 'UTC') AS tz
             FROM unnest(%(ids)s::uuid[]) WITH ORDINALITY AS who(user_id, n)
             LEFT JOIN user_preferences p ON p.user_id = who.user_id) AS who"""
# Every column of a loader's query is a float8 that is never NULL: its rows become one fixed-width array.
_NUMBER = "coalesce(({})::float8, 'NaN')"


def _row(*expressions: str) -> str:
    return ", ".join(_NUMBER.format(e) for e in expressions)


# One series per row (a custom metric, a supplement) with its user: the entries' query then walks the
# (user, series) index instead of joining every entry of the user against the batch's list of series.
_SERIES = """(
    SELECT who.*, s.id AS series_id, s.dose, s.n AS series FROM {users}
    JOIN unnest(%(series_users)s::uuid[], %(series_ids)s::uuid[], %(series_doses)s::float8[])
         WITH ORDINALITY AS s(user_id, id, dose, n) ON s.user_id = who.user_id) AS who"""
# Entries with a time of day count on the user's local calendar day.
_LOCAL_DAY = "(({col}) AT TIME ZONE who.tz)::date"


def load_batch(
    session: Session, user_ids: Sequence[uuid.UUID], today: dt.date, history_days: int = 5 * 365
) -> dict[uuid.UUID, UserData]:
    """Everything the nightly run needs for `user_ids`, from `today − history_days` to `today`."""
    ids = list(dict.fromkeys(user_ids))
    if not ids:
        return {}
    start = today - dt.timedelta(days=history_days)
    params = {"ids": ids, "start": start, "end": today}
    t = (today - start).days + 1
    cols: dict[int, dict[str, np.ndarray]] = defaultdict(dict)
    groups: dict[str, str | None] = {}
    # A batch's estimated cost is far above jit_above_cost, and compiling the queries took longer than
    # running them.
    session.execute(text("SELECT set_config('jit', 'off', true)"))

    for prefix, names, query in _daily_queries():
        keys = [f"{prefix}.{name}" for name in names]
        groups.update(zip(keys, names.values(), strict=True))
        mat = _numbers(session, query, params | {"pref": list(SOURCE_PREFERENCE)}, 2 + len(keys))
        _fill(cols, mat, keys, t)

    metrics = session.execute(
        text("""SELECT metric_id, user_id, name FROM custom_metrics WHERE user_id = ANY(:ids) AND is_active
                ORDER BY metric_id"""),
        params,
    ).all()
    custom = _numbers(session, f"""
        SELECT {_row(_LOCAL_DAY.format(col="e.measured_at") + " - %(start)s::date", "e.value_numeric")}
        FROM custom_metric_entries e
        WHERE e.user_id = who.user_id AND e.metric_id = who.series_id AND e.value_numeric IS NOT NULL
          AND e.measured_at >= %(start)s""",
        params | {"series_users": [m.user_id for m in metrics], "series_ids": [m.metric_id for m in metrics]},
        2, _SERIES, "who.series")  # fmt: skip
    _fill(cols, custom, [f"custom.{m.name}" for m in metrics], t, keyed="mean")

    # Measurements: one unit per metric and user (the one used most), so kg and lbs are never averaged.
    kinds = session.execute(text("""
        SELECT DISTINCT ON (user_id, metric) user_id, metric::text AS metric, unit FROM (
            SELECT user_id, metric, unit, count(*) AS uses FROM measurements
            WHERE user_id = ANY(:ids) AND deleted_at IS NULL AND measured_at >= :start
            GROUP BY user_id, metric, unit) counted
        ORDER BY user_id, metric, uses DESC, unit"""), params).all()  # fmt: skip
    measured = _numbers(session, f"""
        SELECT {_row(_LOCAL_DAY.format(col="x.measured_at") + " - %(start)s::date", "x.value")}
        FROM measurements x
        WHERE x.user_id = who.user_id AND x.metric = who.metric::measurement_metric AND x.unit = who.unit
          AND x.deleted_at IS NULL AND x.measured_at >= %(start)s""",
        params | {"kind_users": [k.user_id for k in kinds], "kind_metrics": [k.metric for k in kinds],
                  "kind_units": [k.unit for k in kinds]}, 2, """(
            SELECT who.*, k.metric, k.unit, k.n AS kind FROM {users}
            JOIN unnest(%(kind_users)s::uuid[], %(kind_metrics)s::text[], %(kind_units)s::text[])
                 WITH ORDINALITY AS k(user_id, metric, unit, n) ON k.user_id = who.user_id) AS who""",
        "who.kind")  # fmt: skip
    _fill(cols, measured, [f"measurement.{k.metric}" for k in kinds], t, keyed="mean")

    position = {u: n for n, u in enumerate(ids)}
    courses: dict[uuid.UUID, list[SupplementCourse]] = defaultdict(list)
    supplements = session.execute(
        text("""
        SELECT user_id, supplement_id, name, started_at, ended_at, dose_amount::float8 AS dose FROM supplements
        WHERE user_id = ANY(:ids) AND deleted_at IS NULL ORDER BY name, started_at, supplement_id"""),
        params,
    ).all()
    supplement_keys = []
    for row in supplements:
        key = f"supplement.{row.name}"
        if any(c.key == key for c in courses[row.user_id]):
            key = f"supplement.{row.name} ({row.started_at or row.supplement_id})"
        supplement_keys.append(key)
        courses[row.user_id].append(SupplementCourse(key, row.name, row.started_at, row.ended_at))
        groups[key] = None
        # On the regimen (started..ended, or today) a day without a log is a day it was not taken: 0.
        lo = max(row.started_at or today + dt.timedelta(days=1), start)
        hi = min(row.ended_at or today, today)
        if lo <= hi:
            arr = cols[position[row.user_id]].setdefault(key, np.full(t, np.nan))
            arr[(lo - start).days : (hi - start).days + 1] = 0.0
    logs = _numbers(session, f"""
        SELECT {_row(_LOCAL_DAY.format(col="l.taken_at") + " - %(start)s::date",
                     "coalesce(l.dose_amount, who.dose, 1)")}
        FROM supplement_logs l
        WHERE l.supplement_id = who.series_id AND l.user_id = who.user_id AND l.taken_at >= %(start)s""",
        params | {"series_users": [r.user_id for r in supplements],
                  "series_ids": [r.supplement_id for r in supplements],
                  "series_doses": [r.dose for r in supplements]}, 2, _SERIES, "who.series")  # fmt: skip
    _fill(cols, logs, supplement_keys, t, keyed="sum")

    users = {
        row.user_id: row.biological_sex
        for row in session.execute(text("SELECT user_id, biological_sex FROM users WHERE user_id = ANY(:ids)"), params)
    }
    markers = _markers(session, params, users)
    goals = _goals(session, params)

    out = {}
    for user in ids:
        if user not in users:
            continue
        mine = cols[position[user]]
        keys = sorted(mine)
        values = np.column_stack([mine[k] for k in keys]) if keys else np.empty((t, 0))
        out[user] = UserData(
            user, start, users[user], keys, [groups.get(k) for k in keys], values,
            markers.get(user, {}), courses.get(user, []), goals.get(user, []),
        )  # fmt: skip
    return out


def _markers(
    session: Session, params: dict, sexes: dict[uuid.UUID, str | None]
) -> dict[uuid.UUID, dict[str, MarkerSeries]]:
    found: dict[uuid.UUID, dict[str, MarkerSeries]] = defaultdict(dict)
    for row in session.execute(
        text("""
        SELECT m.user_id, coalesce(d.canonical_name, lower(m.raw_name)) AS name,
               coalesce(d.canonical_unit, m.unit) AS unit,
               coalesce(pn.collected_at, pn.reported_at, pn.created_at)::date AS day,
               coalesce(m.value_canonical, CASE WHEN d.biomarker_id IS NULL THEN m.value_numeric END)::float8 AS v,
               d.optimal_low_male::float8 AS olm, d.optimal_high_male::float8 AS ohm,
               d.optimal_low_female::float8 AS olf, d.optimal_high_female::float8 AS ohf,
               d.normal_low::float8 AS nl, d.normal_high::float8 AS nh
        FROM blood_markers m
        JOIN blood_panels pn ON pn.panel_id = m.panel_id AND pn.user_id = m.user_id
        LEFT JOIN biomarker_dictionary d ON d.biomarker_id = m.biomarker_id
        WHERE m.user_id = ANY(:ids) AND pn.deleted_at IS NULL AND NOT m.needs_review
        ORDER BY day"""),
        params,
    ):
        if row.v is None:
            continue
        series = found[row.user_id].get(row.name)
        if series is None:
            ranges = MarkerRanges(row.olm, row.ohm, row.olf, row.ohf, row.nl, row.nh)
            series = found[row.user_id][row.name] = MarkerSeries(row.name, row.unit, ranges=ranges)
        series.dates.append(row.day)
        series.values.append(row.v)
    return found


def _goals(session: Session, params: dict) -> dict[uuid.UUID, list[GoalRow]]:
    found: dict[uuid.UUID, list[GoalRow]] = defaultdict(list)
    for row in session.execute(
        text("""
        SELECT g.goal_id, g.user_id, g.metric_type, g.metric_name, g.direction::text AS direction,
               g.target_value::float8 AS target, g.alert_threshold_low::float8 AS low,
               g.alert_threshold_high::float8 AS high, g.alert_enabled, g.created_at::date AS created,
               d.canonical_name
        FROM goals g LEFT JOIN biomarker_dictionary d ON d.biomarker_id = g.biomarker_id
        WHERE g.user_id = ANY(:ids) AND g.is_active"""),
        params,
    ):
        name = row.metric_name or row.canonical_name or ""
        key = {
            "blood_marker": f"marker.{row.canonical_name}",
            "measurement": f"measurement.{name}",
            "custom": f"custom.{name}",
        }.get(row.metric_type)
        if key is None:  # wearable: a daily or a sleep column, or an already qualified key
            key = name if "." in name else (f"sleep.{name}" if name in SLEEP_COLUMNS else f"wearable.{name}")
        spec = GoalSpec(key, row.direction, row.target, row.low, row.high, row.alert_enabled)
        found[row.user_id].append(GoalRow(row.goal_id, spec, key, row.created))
    return found
