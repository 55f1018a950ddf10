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


def _preferred(columns: Sequence[str]) -> str:
    return ",\n".join(
        f"(array_agg({c}::float8 ORDER BY array_position(CAST(:pref AS text[]), source::text) NULLS LAST)"
        f" FILTER (WHERE {c} IS NOT NULL))[1] AS {c}"
        for c in columns
    )


def _daily_rows(session: Session, ids: list[uuid.UUID], start: dt.date, end: dt.date):
    params = {"ids": ids, "start": start, "end": end, "pref": list(SOURCE_PREFERENCE)}
    yield "wearable", DAILY_COLUMNS, session.execute(text(f"""
        SELECT user_id, date AS day, {_preferred(list(DAILY_COLUMNS))}
        FROM wearable_daily WHERE user_id = ANY(:ids) AND date BETWEEN :start AND :end
        GROUP BY user_id, date"""), params)  # fmt: skip
    yield "sleep", SLEEP_COLUMNS, session.execute(text(f"""
        SELECT user_id, sleep_date AS day, {_preferred(list(SLEEP_COLUMNS))}
        FROM wearable_sleep WHERE user_id = ANY(:ids) AND sleep_date BETWEEN :start AND :end
        GROUP BY user_id, sleep_date"""), params)  # fmt: skip
    yield "journal", JOURNAL_COLUMNS, session.execute(text("""
        SELECT user_id, journal_date AS day, mood_score::float8, energy_score::float8, stress_score::float8
        FROM mood_journal WHERE user_id = ANY(:ids) AND journal_date BETWEEN :start AND :end
          AND deleted_at IS NULL"""), params)  # fmt: skip
    yield "nutrition", NUTRITION_COLUMNS, session.execute(text("""
        SELECT user_id, log_date AS day, sum(calories_kcal)::float8 AS calories_kcal,
               sum(protein_g)::float8 AS protein_g, sum(carbs_g)::float8 AS carbs_g,
               sum(fat_g)::float8 AS fat_g, sum(fiber_g)::float8 AS fiber_g
        FROM nutrition_logs WHERE user_id = ANY(:ids) AND log_date BETWEEN :start AND :end
          AND deleted_at IS NULL
        GROUP BY user_id, log_date"""), params)  # fmt: skip


# Entries with a time of day count on the user's local calendar day.
_LOCAL_DAY = "(({col}) AT TIME ZONE coalesce(p.timezone, 'UTC'))::date"


def load_batch(
    session: Session, user_ids: Sequence[uuid.UUID], today: dt.date, history_days: int = 5 * 365
) -> dict[uuid.UUID, UserData]:
    """Everything the nightly run needs for `user_ids`, from `today − history_days` to `today`."""
    ids = list(dict.fromkeys(user_ids))
    start = today - dt.timedelta(days=history_days)
    params = {"ids": ids, "start": start, "end": today}
    t = (today - start).days + 1
    cols: dict[uuid.UUID, dict[str, np.ndarray]] = defaultdict(dict)
    groups: dict[str, str | None] = {}

    def put(user: uuid.UUID, key: str, day: dt.date, value: float | None) -> None:
        if value is None:
            return
        arr = cols[user].get(key)
        if arr is None:
            arr = cols[user][key] = np.full(t, np.nan)
        arr[(day - start).days] = value

    for prefix, names, rows in _daily_rows(session, ids, start, today):
        for row in rows:
            for name, group in names.items():
                key = f"{prefix}.{name}"
                groups[key] = group
                put(row.user_id, key, row.day, getattr(row, name))

    for row in session.execute(
        text(f"""
        SELECT e.user_id, m.name, {_LOCAL_DAY.format(col="e.measured_at")} AS day, avg(e.value_numeric)::float8 AS v
        FROM custom_metric_entries e
        JOIN custom_metrics m ON m.metric_id = e.metric_id AND m.user_id = e.user_id
        LEFT JOIN user_preferences p ON p.user_id = e.user_id
        WHERE e.user_id = ANY(:ids) AND e.value_numeric IS NOT NULL AND m.is_active
          AND e.measured_at >= :start
        GROUP BY 1, 2, 3"""),
        params,
    ):
        if start <= row.day <= today:
            put(row.user_id, f"custom.{row.name}", row.day, row.v)

    # Measurements: one unit per metric and user (the one used most), so kg and lbs are never averaged.
    chosen: dict[tuple[uuid.UUID, str], str] = {}
    meas = session.execute(
        text(f"""
        SELECT x.user_id, x.metric::text AS metric, x.unit, {_LOCAL_DAY.format(col="x.measured_at")} AS day,
               avg(x.value)::float8 AS v, count(*) OVER (PARTITION BY x.user_id, x.metric, x.unit) AS uses
        FROM measurements x LEFT JOIN user_preferences p ON p.user_id = x.user_id
        WHERE x.user_id = ANY(:ids) AND x.deleted_at IS NULL AND x.measured_at >= :start
        GROUP BY x.user_id, x.metric, x.unit, day
        ORDER BY uses DESC"""),
        params,
    ).all()
    for row in meas:
        if chosen.setdefault((row.user_id, row.metric), row.unit) == row.unit and start <= row.day <= today:
            put(row.user_id, f"measurement.{row.metric}", row.day, row.v)

    courses: dict[uuid.UUID, list[SupplementCourse]] = defaultdict(list)
    for row in session.execute(
        text("""
        SELECT user_id, supplement_id, name, started_at, ended_at FROM supplements
        WHERE user_id = ANY(:ids) AND deleted_at IS NULL ORDER BY name, started_at"""),
        params,
    ):
        key = f"supplement.{row.name}"
        if any(c.key == key for c in courses[row.user_id]):
            key = f"supplement.{row.name} ({row.started_at or row.supplement_id})"
        courses[row.user_id].append(SupplementCourse(key, row.name, row.started_at, row.ended_at))
        groups[key] = None
        # On the regimen (started..ended, or today) a day without a log is a day it was not taken: 0.
        lo = max(row.started_at or today + dt.timedelta(days=1), start)
        hi = min(row.ended_at or today, today)
        if lo <= hi:
            arr = cols[row.user_id].setdefault(key, np.full(t, np.nan))
            arr[(lo - start).days : (hi - start).days + 1] = 0.0
    for row in session.execute(
        text(f"""
        SELECT l.user_id, s.name, s.started_at, {_LOCAL_DAY.format(col="l.taken_at")} AS day,
               sum(coalesce(l.dose_amount, s.dose_amount, 1))::float8 AS dose
        FROM supplement_logs l
        JOIN supplements s ON s.supplement_id = l.supplement_id AND s.user_id = l.user_id
        LEFT JOIN user_preferences p ON p.user_id = l.user_id
        WHERE l.user_id = ANY(:ids) AND s.deleted_at IS NULL AND l.taken_at >= :start
        GROUP BY 1, 2, 3, 4, s.supplement_id"""),
        params,
    ):
        key = next(
            (c.key for c in courses[row.user_id] if c.name == row.name and c.started == row.started_at),
            f"supplement.{row.name}",
        )
        if start <= row.day <= today:
            put(row.user_id, key, row.day, row.dose)

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
        keys = sorted(cols[user])
        values = np.column_stack([cols[user][k] for k in keys]) if keys else np.empty((t, 0))
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
