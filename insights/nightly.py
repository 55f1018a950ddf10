"""One user's nightly analysis: correlations, intervention effects, biomarker trends and goal alerts.

Pure: a UserData in, insight drafts and alert events out. insights.store writes them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

import numpy as np

from insights import goals as goal_rules
from insights.correlate import CorrelationSettings, correlate
from insights.interventions import InterventionSettings, control_fdr, effects
from insights.load import UserData
from insights.trends import TrendSettings, marker_trend

CORRELATION, TREND = "correlation", "trend"  # db.models.enums.InsightType values

LABELS = {
    "wearable.resting_hr_bpm": "resting heart rate",
    "wearable.hrv_rmssd_ms": "HRV",
    "wearable.steps": "steps",
    "wearable.active_calories_kcal": "active calories",
    "wearable.total_calories_kcal": "calories burned",
    "wearable.active_minutes": "active minutes",
    "wearable.distance_m": "distance",
    "wearable.spo2_avg_pct": "blood oxygen",
    "wearable.respiratory_rate_avg": "breathing rate",
    "wearable.stress_avg": "stress (device)",
    "wearable.readiness_score": "readiness",
    "wearable.recovery_score": "recovery",
    "wearable.skin_temp_deviation_c": "skin temperature",
    "wearable.vo2_max_ml_kg_min": "VO2 max",
    "sleep.total_sleep_minutes": "sleep time",
    "sleep.deep_minutes": "deep sleep",
    "sleep.rem_minutes": "REM sleep",
    "sleep.sleep_latency_minutes": "time to fall asleep",
    "sleep.sleep_efficiency_pct": "sleep efficiency",
    "sleep.sleep_score": "sleep score",
    "sleep.avg_hrv_ms": "overnight HRV",
    "sleep.min_hr_bpm": "lowest night heart rate",
    "journal.mood_score": "mood",
    "journal.energy_score": "energy",
    "journal.stress_score": "stress",
}


def label(key: str) -> str:
    if key in LABELS:
        return LABELS[key]
    kind, _, name = key.partition(".")
    words = name.replace("_", " ")
    return f"{words} intake" if kind == "supplement" else words


@dataclass(frozen=True)
class Settings:
    correlation: CorrelationSettings = field(default_factory=CorrelationSettings)
    interventions: InterventionSettings = field(default_factory=InterventionSettings)
    trends: TrendSettings = field(default_factory=TrendSettings)
    goals: goal_rules.GoalSettings = field(default_factory=goal_rules.GoalSettings)
    max_correlations: int = 20  # what a dashboard can show; the strongest evidence first


@dataclass(frozen=True)
class InsightDraft:
    insight_type: str
    title: str
    body: str
    metric_a: str | None
    metric_b: str | None = None
    correlation_r: float | None = None
    p_value: float | None = None
    data_points: int | None = None

    @property
    def key(self) -> tuple[str, str | None, str | None]:
        """What a dismissal refers to: the kind of insight and the metrics it is about."""
        return (self.insight_type, self.metric_a, self.metric_b)


@dataclass(frozen=True)
class GoalAlertDraft:
    goal_id: object
    on: dt.date
    value: float
    message: str


@dataclass(frozen=True)
class UserInsights:
    insights: tuple[InsightDraft, ...]
    alerts: tuple[GoalAlertDraft, ...]
    hypotheses_tested: int


def analyze(data: UserData, today: dt.date, settings: Settings | None = None) -> UserInsights:
    s = settings or Settings()
    drafts: list[InsightDraft] = []
    result = correlate(data.values, data.metrics, s.correlation, data.groups)
    for c in result.findings[: s.max_correlations]:
        a, b = label(c.metric_a), label(c.metric_b)
        drafts.append(
            InsightDraft(
                CORRELATION, c.sentence(a, b),
                f"{c.sentence(a, b)} Pearson r = {c.r:.2f}, Spearman ρ = {c.rho:.2f}, over {c.n} days; "
                f"p = {c.p:.2g}, still significant after allowing for the {result.tested} links tested "
                f"(false-discovery-adjusted p = {c.q:.2g}).",
                c.metric_a, c.metric_b, c.r, c.p, c.n,
            )
        )  # fmt: skip
    drafts.extend(_intervention_drafts(data, today, s))
    for series in data.markers.values():
        trend = marker_trend(series.name, series.dates, series.values, series.ranges, data.sex, s.trends)
        if trend is None or (trend.direction == "stable" and trend.status in ("optimal", "unknown")):
            continue
        sentence = trend.sentence(label(f"marker.{series.name}"), series.unit)
        slope = ""
        if trend.slope_per_year is not None and trend.slope_ci is not None:
            lo, hi = trend.slope_ci
            slope = (
                f" Across {trend.readings} panels it moves {trend.slope_per_year:+.3g} per year"
                f" (95 % CI {lo:.3g} to {hi:.3g})."
            )
        key = f"marker.{series.name}"
        drafts.append(InsightDraft(TREND, sentence, sentence + slope, key, None, None, trend.slope_p, trend.readings))
    return UserInsights(tuple(drafts), tuple(_goal_alerts(data, today, s)), result.tested)


def _intervention_drafts(data: UserData, today: dt.date, s: Settings) -> list[InsightDraft]:
    cfg = s.interventions
    outcomes = [i for i, k in enumerate(data.metrics) if not k.startswith("supplement.")]
    found = []
    for course in data.supplements:
        if course.started is None:
            continue
        row0 = (course.started - data.start).days - cfg.before_days
        if row0 < 0 or row0 + cfg.before_days + cfg.after_end > data.values.shape[0]:
            continue  # not enough history before, or the effect window has not closed yet
        window = slice(row0, row0 + cfg.before_days + cfg.after_end)
        intake = data.column(course.key)
        found.extend(
            effects(
                data.values[window][:, outcomes], [data.metrics[i] for i in outcomes], course.key,
                None if intake is None else intake[window], cfg,
            )
        )  # fmt: skip
    drafts = []
    for e in control_fdr(found, cfg.fdr):
        sentence = e.sentence(label(e.intervention).removesuffix(" intake"), label(e.outcome))
        body = f"{sentence} Weekly means, {e.weeks_before} weeks before and {e.weeks_after} after (p = {e.p:.2g})."
        drafts.append(
            InsightDraft(TREND, sentence, body, e.intervention, e.outcome, None, e.p, e.weeks_before + e.weeks_after)
        )
    return drafts


def _goal_alerts(data: UserData, today: dt.date, s: Settings) -> list[GoalAlertDraft]:
    alerts = []
    every_day = data.dates() if data.goals else []
    for goal in data.goals:
        if goal.metric_key.startswith("marker."):
            series = data.markers.get(goal.metric_key.removeprefix("marker."))
            dates, values = (series.dates, series.values) if series else ([], [])
            # Panels are months apart: compare the latest panel with the one before.
            cfg = replace(s.goals, window=1)
        else:
            column = data.column(goal.metric_key)
            dates, values, cfg = every_day, column if column is not None else np.array([]), s.goals
            if column is None:
                dates = []
        spec = replace(goal.spec, metric=label(goal.metric_key))
        _, events = goal_rules.evaluate(spec, dates, values, goal.created, today, cfg)
        alerts.extend(GoalAlertDraft(goal.goal_id, e.on, e.value, e.message) for e in events)
    return alerts
