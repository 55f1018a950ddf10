"""Loading a batch of users' data for the nightly run: a few set-based queries, arrays out.

Not pure (it takes a Session); what it returns is plain data for the pure modules. Every query covers
the whole batch (`user_id = ANY(:ids)`), so a batch costs the same handful of round trips whatever its
size. Which rows are visible is the caller's scope: one user's scope sees that user alone; a batch needs
a scope that may read those users' rows.

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
        return [self.start + dt.timedelta(days=i) for i in range(self.values.shape[0])]


def _daily_queries() -> list[tuple[str, dict[str, str | None], str]]:
    """(prefix, columns, query) of the tables with one row per user, day (and source).

    Each query returns only numbers, so a result becomes one numpy array: the user's position in :ids,
    the day's row index (days since :start), the source's rank in SOURCE_PREFERENCE (lower is
    preferred), then the columns.
    """
    rank = "coalesce(array_position(CAST(:pref AS text[]), source::text), 1000)"
    who = _USER.format(col="user_id")

    def listed(columns: dict[str, str | None]) -> str:
        return ", ".join(f"{c}::float8" for c in columns)

    return [
        ("wearable", DAILY_COLUMNS, f"""
            SELECT {who}, date - CAST(:start AS date) AS i, {rank} AS rank, {listed(DAILY_COLUMNS)}
            FROM wearable_daily WHERE user_id = ANY(:ids) AND date BETWEEN :start AND :end"""),
        ("sleep", SLEEP_COLUMNS, f"""
            SELECT {who}, sleep_date - CAST(:start AS date) AS i, {rank} AS rank, {listed(SLEEP_COLUMNS)}
            FROM wearable_sleep WHERE user_id = ANY(:ids) AND sleep_date BETWEEN :start AND :end"""),
        ("journal", JOURNAL_COLUMNS, f"""
            SELECT {who}, journal_date - CAST(:start AS date) AS i, 0 AS rank, {listed(JOURNAL_COLUMNS)}
            FROM mood_journal WHERE user_id = ANY(:ids) AND journal_date BETWEEN :start AND :end
              AND deleted_at IS NULL"""),
        ("nutrition", NUTRITION_COLUMNS, f"""
            SELECT {who}, log_date - CAST(:start AS date) AS i, 0 AS rank,
                   {", ".join(f"sum({c})::float8" for c in NUTRITION_COLUMNS)}
            FROM nutrition_logs WHERE user_id = ANY(:ids) AND log_date BETWEEN :start AND :end
              AND deleted_at IS NULL
            GROUP BY user_id, log_date"""),
    ]  # fmt: skip


def _fill(
    cols: dict[int, dict[str, np.ndarray]], mat: np.ndarray, keys: Sequence[str], t: int, keyed: str | None = None
) -> None:
    """Scatter a numeric result into per-user day arrays (cols[user position][key]).

    Wide rows are (user, day, rank, one value per key): per user, day and key the value of the
    best-ranked row that has one wins (ranks are written from the worst to the best, and a missing value
    never overwrites). Keyed rows are (user, day, key position, value), several per day folded by
    `keyed` = "mean" or "sum" (numpy's bincount is much cheaper than a GROUP BY on a timestamp's
    local day).
    """
    if mat.size == 0:
        return
    user, day = mat[:, 0].astype(np.int64), mat[:, 1].astype(np.int64)
    if keyed:
        mat = mat[(day >= 0) & (day < t) & ~np.isnan(mat[:, 3])]
        user, day = mat[:, 0].astype(np.int64), mat[:, 1].astype(np.int64)
        codes = user * len(keys) + mat[:, 2].astype(np.int64)
        for code in np.unique(codes):
            sel = codes == code
            total = np.bincount(day[sel], weights=mat[sel, 3], minlength=t)
            count = np.bincount(day[sel], minlength=t)
            u, k = divmod(int(code), len(keys))
            arr = cols[u].setdefault(keys[k], np.full(t, np.nan))
            seen = count > 0
            arr[seen] = total[seen] / count[seen] if keyed == "mean" else total[seen]
        return
    rank, values = mat[:, 2], mat[:, 3:]
    for u in np.unique(user):
        mine = user == u
        for r in np.unique(rank[mine])[::-1]:
            sel = mine & (rank == r)
            block = values[sel]
            present = ~np.isnan(block)
            for j in np.flatnonzero(present.any(axis=0)):
                ok = present[:, j]
                cols[int(u)].setdefault(keys[j], np.full(t, np.nan))[day[sel][ok]] = block[ok, j]


def _numbers(session: Session, query: str, params: dict, width: int) -> np.ndarray:
    result = session.execute(text(query), params)
    # The driver's plain tuples: wrapping tens of thousands of rows in Row objects costs more than the query.
    rows = result.cursor.fetchall()
    result.close()
    return np.array(rows, dtype=float).reshape(len(rows), width)  # None becomes NaN


# A row's user as its position in :ids (1-based from SQL, made 0-based), so results stay numeric.
_USER = "array_position(CAST(:ids AS uuid[]), {col}) - 1 AS u"
# Entries with a time of day count on the user's local calendar day.
_LOCAL_DAY = "(({col}) AT TIME ZONE coalesce(p.timezone, 'UTC'))::date"


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

    for prefix, names, query in _daily_queries():
        keys = [f"{prefix}.{name}" for name in names]
        groups.update(zip(keys, names.values(), strict=True))
        mat = _numbers(session, query, params | {"pref": list(SOURCE_PREFERENCE)}, 3 + len(keys))
        _fill(cols, mat, keys, t)

    metrics = session.execute(
        text("SELECT metric_id, name FROM custom_metrics WHERE user_id = ANY(:ids) AND is_active ORDER BY metric_id"),
        params,
    ).all()
    custom = _numbers(session, f"""
        SELECT {_USER.format(col="e.user_id")}, {_LOCAL_DAY.format(col="e.measured_at")} - CAST(:start AS date),
               array_position(CAST(:metrics AS uuid[]), e.metric_id) - 1, e.value_numeric::float8
        FROM custom_metric_entries e LEFT JOIN user_preferences p ON p.user_id = e.user_id
        WHERE e.user_id = ANY(:ids) AND e.metric_id = ANY(CAST(:metrics AS uuid[])) AND e.value_numeric IS NOT NULL
          AND e.measured_at >= :start""", params | {"metrics": [m.metric_id for m in metrics]}, 4)  # fmt: skip
    _fill(cols, custom, [f"custom.{m.name}" for m in metrics], t, keyed="mean")

    # Measurements: one unit per metric and user (the one used most), so kg and lbs are never averaged.
    kinds = session.execute(text("""
        SELECT DISTINCT ON (user_id, metric) user_id, metric::text AS metric, unit FROM (
            SELECT user_id, metric, unit, count(*) AS uses FROM measurements
            WHERE user_id = ANY(:ids) AND deleted_at IS NULL AND measured_at >= :start
            GROUP BY user_id, metric, unit) counted
        ORDER BY user_id, metric, uses DESC, unit"""), params).all()  # fmt: skip
    measured = _numbers(session, f"""
        SELECT {_USER.format(col="x.user_id")}, {_LOCAL_DAY.format(col="x.measured_at")} - CAST(:start AS date),
               k.n - 1, x.value::float8
        FROM measurements x
        JOIN unnest(CAST(:kind_users AS uuid[]), CAST(:kind_metrics AS text[]), CAST(:kind_units AS text[]))
             WITH ORDINALITY AS k(user_id, metric, unit, n)
          ON k.user_id = x.user_id AND k.metric = x.metric::text AND k.unit = x.unit
        LEFT JOIN user_preferences p ON p.user_id = x.user_id
        WHERE x.user_id = ANY(:ids) AND x.deleted_at IS NULL AND x.measured_at >= :start""",
        params | {"kind_users": [k.user_id for k in kinds], "kind_metrics": [k.metric for k in kinds],
                  "kind_units": [k.unit for k in kinds]}, 4)  # fmt: skip
    _fill(cols, measured, [f"measurement.{k.metric}" for k in kinds], t, keyed="mean")

    position = {u: n for n, u in enumerate(ids)}
    courses: dict[uuid.UUID, list[SupplementCourse]] = defaultdict(list)
    supplements = session.execute(
        text("""
        SELECT user_id, supplement_id, name, started_at, ended_at FROM supplements
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
        SELECT {_USER.format(col="l.user_id")}, {_LOCAL_DAY.format(col="l.taken_at")} - CAST(:start AS date),
               array_position(CAST(:supplements AS uuid[]), l.supplement_id) - 1,
               coalesce(l.dose_amount, s.dose_amount, 1)::float8
        FROM supplement_logs l
        JOIN supplements s ON s.supplement_id = l.supplement_id AND s.user_id = l.user_id
        LEFT JOIN user_preferences p ON p.user_id = l.user_id
        WHERE l.user_id = ANY(:ids) AND l.supplement_id = ANY(CAST(:supplements AS uuid[])) AND l.taken_at >= :start""",
        params | {"supplements": [r.supplement_id for r in supplements]}, 4)  # fmt: skip
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
