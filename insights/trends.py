"""Biomarker trends across lab panels (seed 000 §4.3, §5.4).

Per biomarker: the baseline (mean of the readings in the first `window_days` of the history) against
the recent level (mean of the last `window_days`), the percent change in the seed's bands (stable under
5 %, minor / moderate / significant at 10 % and 20 %), where the latest value sits against the optimal
range for the person's sex, and the yearly slope across all panels with its standard error and
confidence interval (ordinary least squares; panels are months apart, so treating them as independent
is reasonable).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import special


@dataclass(frozen=True)
class MarkerRanges:
    """The dictionary's ranges for one biomarker (db biomarker_dictionary); None where it has none."""

    optimal_low_male: float | None = None
    optimal_high_male: float | None = None
    optimal_low_female: float | None = None
    optimal_high_female: float | None = None
    normal_low: float | None = None
    normal_high: float | None = None

    def optimal_for(self, sex: str | None) -> tuple[float | None, float | None]:
        """The optimal range for `sex` ('male'/'female'); with no or another sex, the span both share."""
        male = (self.optimal_low_male, self.optimal_high_male)
        female = (self.optimal_low_female, self.optimal_high_female)
        if sex == "male":
            return male
        if sex == "female":
            return female
        # Unknown sex: only call a value optimal if it is optimal for either reading of the ranges.
        lows = [v for v in (male[0], female[0]) if v is not None]
        highs = [v for v in (male[1], female[1]) if v is not None]
        return (max(lows) if lows else None, min(highs) if highs else None)


@dataclass(frozen=True)
class TrendSettings:
    window_days: int = 30
    stable_pct: float = 5.0
    moderate_pct: float = 10.0
    significant_pct: float = 20.0
    confidence: float = 0.95


@dataclass(frozen=True)
class MarkerTrend:
    marker: str
    readings: int
    first_date: dt.date
    last_date: dt.date
    baseline: float
    recent: float
    latest: float
    percent_change: float | None
    direction: str  # 'stable' | 'increasing' | 'decreasing'
    magnitude: str  # 'minor' | 'moderate' | 'significant'
    status: str  # 'optimal' | 'in range' | 'out of range' | 'unknown'
    distance_to_optimal: float | None  # latest − nearest optimal bound, in the marker's unit; 0 inside
    distance_to_optimal_pct: float | None  # the same as a percent of that bound
    slope_per_year: float | None
    slope_se: float | None
    slope_ci: tuple[float, float] | None
    slope_p: float | None

    def sentence(self, label: str | None = None, unit: str | None = None) -> str:
        name, u = label or self.marker, f" {unit}" if unit else ""
        if self.percent_change is None:
            change = f"moved from {self.baseline:.4g} to {self.recent:.4g}{u}"
        elif self.direction == "stable":
            change = f"is stable ({self.percent_change:+.1f} %)"
        else:
            change = f"is {self.direction} ({self.percent_change:+.1f} %, {self.magnitude})"
        where = {"optimal": "within your optimal range", "in range": "within the normal range but not optimal"}
        status = where.get(self.status, "outside the normal range" if self.status == "out of range" else "")
        tail = f"; the latest value, {self.latest:.4g}{u}, is {status}" if status else ""
        return f"{name} {change} since {self.first_date.isoformat()}{tail}."


def band(percent: float | None, s: TrendSettings) -> tuple[str, str]:
    if percent is None:
        return "stable", "minor"
    size = abs(percent)
    direction = "stable" if size < s.stable_pct else ("increasing" if percent > 0 else "decreasing")
    magnitude = "significant" if size > s.significant_pct else "moderate" if size > s.moderate_pct else "minor"
    return direction, magnitude


def status_of(value: float, ranges: MarkerRanges, sex: str | None) -> tuple[str, float | None, float | None]:
    """('optimal'|'in range'|'out of range'|'unknown', distance to the optimal range, as % of the bound)."""
    low, high = ranges.optimal_for(sex)
    distance = pct = None
    if low is not None or high is not None:
        if low is not None and value < low:
            distance, bound = value - low, low
        elif high is not None and value > high:
            distance, bound = value - high, high
        else:
            distance, bound = 0.0, None
        pct = 0.0 if bound is None else (distance / abs(bound) * 100.0 if bound else None)
        if distance == 0.0:
            return "optimal", distance, pct
    nl, nh = ranges.normal_low, ranges.normal_high
    if nl is None and nh is None:
        return ("out of range" if distance else "unknown"), distance, pct
    inside = (nl is None or value >= nl) and (nh is None or value <= nh)
    return ("in range" if inside else "out of range"), distance, pct


def marker_trend(
    marker: str,
    dates: Sequence[dt.date],
    values: Sequence[float],
    ranges: MarkerRanges | None = None,
    sex: str | None = None,
    settings: TrendSettings | None = None,
) -> MarkerTrend | None:
    """The trend of one biomarker's readings, or None with fewer than two readings on different days."""
    s = settings or TrendSettings()
    days = np.array([d.toordinal() for d in dates], dtype=float)
    v = np.asarray(values, dtype=float)
    keep = np.isfinite(v)
    days, v = days[keep], v[keep]
    if v.size < 2 or np.ptp(days) == 0:
        return None
    order = np.argsort(days, kind="stable")
    days, v = days[order], v[order]
    baseline = float(v[days < days[0] + s.window_days].mean())
    recent = float(v[days > days[-1] - s.window_days].mean())
    pct = (recent - baseline) / abs(baseline) * 100.0 if baseline != 0 else None
    direction, magnitude = band(pct, s)
    status, distance, distance_pct = status_of(float(v[-1]), ranges or MarkerRanges(), sex)
    slope = se = ci = p = None
    if v.size >= 3 and np.unique(days).size >= 3:
        slope, se, p, half = _ols_slope(days / 365.25, v, s.confidence)
        ci = (slope - half, slope + half)
    return MarkerTrend(
        marker, int(v.size), dt.date.fromordinal(int(days[0])), dt.date.fromordinal(int(days[-1])),
        baseline, recent, float(v[-1]), pct, direction, magnitude, status, distance, distance_pct,
        slope, se, ci, p,
    )  # fmt: skip


def _ols_slope(x: np.ndarray, y: np.ndarray, confidence: float) -> tuple[float, float, float, float]:
    """Least-squares slope, its standard error, the two-sided p of slope = 0 and the CI half-width."""
    df = x.size - 2
    xc, yc = x - x.mean(), y - y.mean()
    sxx = float(xc @ xc)
    slope = float(xc @ yc) / sxx
    residual = yc - slope * xc
    se = float(np.sqrt(residual @ residual / df / sxx))
    # Student's t through scipy.special, as scipy.stats.t computes it, without the distribution object's
    # per-call overhead (most of this function's time, run for every marker of every user each night).
    p = float(2.0 * special.stdtr(df, -abs(slope / se))) if se > 0 else 0.0
    return slope, se, p, float(special.stdtrit(df, 0.5 + confidence / 2.0)) * se
