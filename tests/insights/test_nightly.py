"""One user's whole nightly analysis, from arrays to insight drafts and alerts."""

from __future__ import annotations

import datetime as dt
import uuid

import numpy as np

from insights.goals import GoalSpec
from insights.load import GoalRow, MarkerSeries, SupplementCourse, UserData
from insights.nightly import CORRELATION, TREND, analyze
from insights.trends import MarkerRanges

TODAY = dt.date(2026, 6, 30)
DAYS = 400


def user_data(values: dict[str, np.ndarray], **extra) -> UserData:
    keys = sorted(values)
    matrix = np.column_stack([values[k] for k in keys])
    start = TODAY - dt.timedelta(days=matrix.shape[0] - 1)
    fields = {"markers": {}, "supplements": [], "goals": []} | extra
    return UserData(uuid.uuid4(), start, "male", keys, [None] * len(keys), matrix, **fields)


def test_magnesium_started_and_hrv_rose_is_an_intervention_insight_with_adherence() -> None:
    rng = np.random.default_rng(1)
    started = DAYS - 100  # row of the start: 30 days before and 60 after are inside the history
    hrv = rng.normal(50, 4, DAYS)
    hrv[started + 20 :] += 8
    intake = np.full(DAYS, np.nan)
    intake[started:] = (rng.random(DAYS - started) < 0.75).astype(float) * 400
    start = TODAY - dt.timedelta(days=DAYS - 1)
    course = SupplementCourse("supplement.magnesium", "magnesium", start + dt.timedelta(days=started), None)
    result = analyze(
        user_data({"wearable.hrv_rmssd_ms": hrv, "supplement.magnesium": intake}, supplements=[course]), TODAY
    )
    effect = [d for d in result.insights if d.insight_type == TREND and d.metric_a == "supplement.magnesium"]
    assert len(effect) == 1 and effect[0].metric_b == "wearable.hrv_rmssd_ms"
    assert effect[0].title.startswith("Since starting magnesium, HRV rose by")
    assert "taken on 7" in effect[0].title and effect[0].p_value < 0.05


def test_lab_marker_out_of_range_is_a_trend_insight_and_a_stable_optimal_one_is_not() -> None:
    panels = [TODAY - dt.timedelta(days=d) for d in (700, 500, 300, 100)]
    ferritin_ranges, glucose_ranges = MarkerRanges(50, 150, 30, 100, 15, 300), MarkerRanges(75, 90, 75, 90, 70, 99)
    markers = {
        "ferritin": MarkerSeries("ferritin", "ng/mL", panels, [120.0, 90, 60, 40], ferritin_ranges),
        "glucose": MarkerSeries("glucose", "mg/dL", panels, [85.0, 86, 85, 86], glucose_ranges),
    }
    result = analyze(user_data({"journal.mood_score": np.full(DAYS, np.nan)}, markers=markers), TODAY)
    trends = {d.metric_a: d for d in result.insights if d.insight_type == TREND}
    assert set(trends) == {"marker.ferritin"}
    assert "is decreasing (-66.7 %, significant)" in trends["marker.ferritin"].title
    assert trends["marker.ferritin"].data_points == 4


def test_a_goal_on_a_daily_metric_fires_for_the_crossing_and_for_the_week_turning_the_wrong_way() -> None:
    rhr = np.full(DAYS, 58.0)
    rhr[-2:] = 72.0
    goal = GoalRow(uuid.uuid4(), GoalSpec("wearable.resting_hr_bpm", "minimize", high=70), "wearable.resting_hr_bpm",
                   TODAY - dt.timedelta(days=30))  # fmt: skip
    result = analyze(user_data({"wearable.resting_hr_bpm": rhr}, goals=[goal]), TODAY)
    assert [(a.goal_id, a.on, a.message) for a in result.alerts] == [
        (goal.goal_id, TODAY - dt.timedelta(days=1), "resting heart rate rose to 72, above 70"),
        # the last 7 days' mean (62) is 7 % above the week before (58): up, for a goal to minimize
        (goal.goal_id, TODAY, "resting heart rate is moving up (72), against your goal"),
    ]


def test_a_user_with_three_days_of_data_gets_nothing() -> None:
    sparse = np.full(DAYS, np.nan)
    sparse[-3:] = [1, 2, 3]
    result = analyze(user_data({"journal.mood_score": sparse, "wearable.steps": sparse * 1000}), TODAY)
    assert result.insights == () and result.alerts == () and result.hypotheses_tested == 0


def test_correlation_insight_speaks_in_labels_and_keeps_the_numbers() -> None:
    rng = np.random.default_rng(2)
    sleep = rng.normal(420, 30, DAYS)
    mood = np.clip(np.round(3 + (sleep - 420) / 30 + rng.normal(0, 0.6, DAYS)), 1, 5)
    result = analyze(user_data({"sleep.total_sleep_minutes": sleep, "journal.mood_score": mood}), TODAY)
    (c,) = [d for d in result.insights if d.insight_type == CORRELATION]
    assert c.title == "Higher mood goes with higher sleep time on the same day (strong positive link)."
    assert c.correlation_r > 0.5 and c.data_points == DAYS and c.p_value < 1e-10
