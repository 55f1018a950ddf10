"""The nightly path against real PostgreSQL: load in a user's scope, analyze, store idempotently."""

from __future__ import annotations

import datetime as dt
import uuid

import numpy as np
import psycopg
import pytest
from sqlalchemy import Engine, insert, select, text, update
from sqlalchemy.orm import Session

from db.engine import WORKER_ROLE, admin_scope, user_scope
from db.models import Goal, GoalAlert, Insight, MoodJournal, WearableDaily, WearableSleep
from db.partitions import ensure_years
from insights.load import load_batch
from insights.nightly import analyze
from insights.store import write_user

TODAY = dt.date(2026, 6, 30)
DAYS = 240


def days() -> list[dt.date]:
    return [TODAY - dt.timedelta(days=DAYS - 1 - i) for i in range(DAYS)]


@pytest.fixture
def user(engine: Engine, committed_users: tuple[uuid.UUID, uuid.UUID]) -> uuid.UUID:
    ensure_years(engine, [2025, 2026])
    return committed_users[0]


def add_linked_history(user: uuid.UUID, seed: int = 1) -> None:
    """HRV and mood that move together, sleep that does not; an aggregator repeating the device's HRV."""
    rng = np.random.default_rng(seed)
    hrv = rng.normal(55, 8, DAYS)
    mood = np.clip(np.round(3 + (hrv - 55) / 6 + rng.normal(0, 0.5, DAYS)), 1, 5)  # a 1–5 scale
    with admin_scope() as s:
        s.execute(insert(WearableDaily), [
            {"user_id": user, "date": d, "source": "oura", "hrv_rmssd_ms": round(float(h), 2),
             "resting_hr_bpm": int(rng.integers(50, 60))}
            for d, h in zip(days(), hrv, strict=True)
        ] + [
            # Apple Health repeats the ring's HRV badly; the ring wins where both report it.
            {"user_id": user, "date": d, "source": "apple_health", "hrv_rmssd_ms": 20.0, "steps": 8000 + i}
            for i, d in enumerate(days())
        ])  # fmt: skip
        s.execute(insert(WearableSleep), [
            {"user_id": user, "sleep_date": d, "source": "oura", "total_sleep_minutes": int(rng.integers(380, 480))}
            for d in days()
        ])  # fmt: skip
        s.execute(insert(MoodJournal), [
            {"user_id": user, "journal_date": d, "mood_score": int(m)} for d, m in zip(days(), mood, strict=True)
        ])  # fmt: skip


def run_night(user: uuid.UUID, today: dt.date = TODAY):
    with user_scope(user, role=WORKER_ROLE) as s:
        data = load_batch(s, [user], today, history_days=DAYS + 29)[user]
        result = analyze(data, today)
        return write_user(s, user, result.insights, result.alerts, today)


def insights_of(user: uuid.UUID) -> list[Insight]:
    with admin_scope() as s:
        return list(s.scalars(select(Insight).where(Insight.user_id == user).order_by(Insight.metric_a)))


def test_source_preference_takes_each_metric_from_the_preferred_source_that_has_it(user: uuid.UUID) -> None:
    add_linked_history(user)
    with user_scope(user, role=WORKER_ROLE) as s:
        data = load_batch(s, [user], TODAY, history_days=DAYS + 29)[user]
    hrv, steps = data.column("wearable.hrv_rmssd_ms"), data.column("wearable.steps")
    assert hrv is not None and steps is not None
    assert 20.0 not in set(hrv[~np.isnan(hrv)])  # the ring's value, never the aggregator's
    assert steps[-1] == 8000 + DAYS - 1  # only the aggregator has steps: its value is used
    assert np.isnan(hrv[:30]).all() and (~np.isnan(hrv[30:])).all()  # row 0 = today − history


def test_a_night_stores_the_link_and_running_it_again_changes_nothing(user: uuid.UUID) -> None:
    first = run_night(user)
    assert first.inserted == 0  # no data yet, nothing to say, and no error
    add_linked_history(user)
    first = run_night(user)
    stored = insights_of(user)
    link = [i for i in stored if {i.metric_a, i.metric_b} == {"wearable.hrv_rmssd_ms", "journal.mood_score"}]
    assert len(link) == 1 and first.inserted == len(stored) >= 1
    assert float(link[0].correlation_r) > 0.5 and link[0].data_points == DAYS
    assert link[0].title == "Higher mood goes with higher HRV on the same day (strong positive link)."
    assert link[0].valid_from == TODAY and link[0].valid_until == TODAY + dt.timedelta(days=7)
    assert not any("sleep.total_sleep_minutes" in (i.metric_a, i.metric_b) for i in stored)

    again = run_night(user)
    assert (again.inserted, again.updated, again.deleted) == (0, 0, 0)
    assert [(i.insight_id, i.created_at) for i in insights_of(user)] == [(i.insight_id, i.created_at) for i in stored]


def test_a_dismissed_insight_stays_dismissed_on_later_nights(user: uuid.UUID) -> None:
    add_linked_history(user)
    run_night(user)
    target = insights_of(user)[0]
    with user_scope(user) as s:  # the person dismisses it (api role)
        s.execute(update(Insight).where(Insight.insight_id == target.insight_id)
                  .values(is_dismissed=True, dismissed_at=dt.datetime.now(dt.UTC)))  # fmt: skip
    summary = run_night(user, TODAY + dt.timedelta(days=1))
    assert summary.suppressed == 1
    rows = [i for i in insights_of(user) if (i.metric_a, i.metric_b) == (target.metric_a, target.metric_b)]
    assert len(rows) == 1 and rows[0].insight_id == target.insight_id and rows[0].is_dismissed


def test_a_goal_alert_fires_once_per_crossing_and_again_after_it_came_back(user: uuid.UUID) -> None:
    with admin_scope() as s:
        s.add(Goal(user_id=user, metric_type="wearable", metric_name="resting_hr_bpm", direction="minimize",
                   alert_threshold_high=70))  # fmt: skip
        s.flush()
        goal_set = {"t": dt.datetime(2026, 1, 1, tzinfo=dt.UTC), "u": user}
        s.execute(text("UPDATE goals SET created_at = :t WHERE user_id = :u"), goal_set)

    def rhr(day: dt.date, bpm: int) -> None:
        with admin_scope() as s:
            s.execute(insert(WearableDaily).values(user_id=user, date=day, source="garmin", resting_hr_bpm=bpm))

    def alerts() -> list[GoalAlert]:
        with admin_scope() as s:
            return list(s.scalars(select(GoalAlert).where(GoalAlert.user_id == user).order_by(GoalAlert.triggered_at)))

    d = TODAY
    rhr(d - dt.timedelta(days=2), 60)
    rhr(d - dt.timedelta(days=1), 74)
    assert run_night(user, d).alerts == 1
    rhr(d, 76)
    assert run_night(user, d).alerts == 0  # still above: no second alert
    assert run_night(user, d + dt.timedelta(days=1)).alerts == 0
    rhr(d + dt.timedelta(days=1), 62)  # back under: re-armed
    rhr(d + dt.timedelta(days=2), 75)
    assert run_night(user, d + dt.timedelta(days=2)).alerts == 1
    fired = alerts()
    assert [a.triggered_at.date() for a in fired] == [d - dt.timedelta(days=1), d + dt.timedelta(days=2)]
    assert fired[0].message == "resting heart rate rose to 74, above 70" and float(fired[0].trigger_value) == 74


def test_a_batch_loads_in_a_few_queries_whatever_its_size(
    engine: Engine, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.helpers import create_user

    ensure_years(engine, [2025, 2026])
    users = [create_user(db) for _ in range(6)]
    for u in users:
        db.execute(insert(MoodJournal), [{"user_id": u, "journal_date": d, "mood_score": 5} for d in days()[-5:]])
    db.execute(text("SET LOCAL ROLE vitalis_readonly"))  # analytics: every user, read only
    # Every statement the driver sends, whether through SQLAlchemy or on the driver's own cursor.
    statements: list[str] = []
    execute = psycopg.Cursor.execute

    def counted(cursor, query, *args, **kwargs):
        statements.append(str(query))
        return execute(cursor, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", counted)
    load_batch(db, users[:1], TODAY)
    alone = len(statements)
    statements.clear()
    loaded = load_batch(db, users, TODAY)
    monkeypatch.undo()
    assert set(loaded) == set(users)
    assert all(np.nansum(loaded[u].column("journal.mood_score")) == 25 for u in users)
    assert len(statements) == alone <= 15


def test_timed_entries_count_on_the_local_day_and_supplements_are_zero_on_days_without_a_log(user: uuid.UUID) -> None:
    from db.models import CustomMetric, CustomMetricEntry, Measurement, Supplement, SupplementLog, UserPreferences

    late_evening = dt.datetime(2026, 6, 30, 2, 30, tzinfo=dt.UTC)  # 22:30 on the 29th in New York
    with admin_scope() as s:
        s.add(UserPreferences(user_id=user, timezone="America/New_York"))
        metric = CustomMetric(user_id=user, name="focus", data_type="numeric")
        supplement = Supplement(user_id=user, name="magnesium", started_at=dt.date(2026, 6, 25), dose_amount=200)
        s.add_all([metric, supplement])
        s.flush()
        s.add(CustomMetricEntry(user_id=user, metric_id=metric.metric_id, value_numeric=7, measured_at=late_evening))
        s.add(SupplementLog(user_id=user, supplement_id=supplement.supplement_id, taken_at=late_evening))
        for value, unit, back in ((80, "kg", 1), (81, "kg", 2), (178, "lbs", 3)):
            at = late_evening - dt.timedelta(days=back)
            s.add(Measurement(user_id=user, metric="weight", value=value, unit=unit, measured_at=at))
    with user_scope(user, role=WORKER_ROLE) as s:
        data = load_batch(s, [user], TODAY, history_days=10)[user]
    row = {d: i for i, d in enumerate(data.dates())}
    focus, magnesium = data.column("custom.focus"), data.column("supplement.magnesium")
    weight = data.column("measurement.weight")
    assert focus is not None and magnesium is not None and weight is not None
    assert focus[row[dt.date(2026, 6, 29)]] == 7 and np.isnan(focus[row[TODAY]])
    assert magnesium[row[dt.date(2026, 6, 29)]] == 200  # the supplement's dose, the log had none
    assert magnesium[row[dt.date(2026, 6, 25)]] == 0 and magnesium[row[TODAY]] == 0  # on the regimen, not taken
    assert np.isnan(magnesium[row[dt.date(2026, 6, 24)]])  # before the regimen: not a day of not taking it
    assert np.nansum(weight) == 161  # the kg readings; the one in lbs is not averaged in
    assert data.supplements[0].started == dt.date(2026, 6, 25)
