"""Biomarker trends: baseline vs recent, bands, optimal range by sex, slope with its uncertainty."""

from __future__ import annotations

import datetime as dt

import pytest
from scipy import stats as sps

from insights.trends import MarkerRanges, TrendSettings, band, marker_trend, status_of

PANELS = [dt.date(2024, 1, 10), dt.date(2024, 7, 10), dt.date(2025, 1, 10), dt.date(2025, 7, 10)]
FERRITIN = MarkerRanges(optimal_low_male=50, optimal_high_male=150, optimal_low_female=30, optimal_high_female=100,
                        normal_low=15, normal_high=300)  # fmt: skip


def test_falling_ldl_is_decreasing_and_significant_with_a_slope_like_linregress() -> None:
    values = [160.0, 150, 138, 120]
    t = marker_trend("ldl", PANELS, values, MarkerRanges(optimal_high_male=100, normal_high=130), "male")
    assert t is not None
    assert (t.baseline, t.recent, t.latest) == (160.0, 120.0, 120.0)
    assert t.percent_change == pytest.approx(-25.0)
    assert (t.direction, t.magnitude, t.status) == ("decreasing", "significant", "in range")
    assert t.distance_to_optimal == pytest.approx(20.0) and t.distance_to_optimal_pct == pytest.approx(20.0)
    ref = sps.linregress([d.toordinal() / 365.25 for d in PANELS], values)
    assert t.slope_per_year == pytest.approx(ref.slope) and t.slope_se == pytest.approx(ref.stderr)
    half = sps.t.ppf(0.975, 2) * ref.stderr
    assert t.slope_ci == (pytest.approx(ref.slope - half), pytest.approx(ref.slope + half))
    assert "is decreasing (-25.0 %, significant)" in t.sentence("LDL cholesterol", "mg/dL")


def test_the_optimal_range_depends_on_sex() -> None:
    assert status_of(40, FERRITIN, "female")[0] == "optimal"
    status, distance, pct = status_of(40, FERRITIN, "male")
    assert (status, distance, pct) == ("in range", -10, -20)
    # With no sex on file, only what is optimal for both counts as optimal.
    assert status_of(40, FERRITIN, None)[0] == "in range"
    assert status_of(400, FERRITIN, "male")[0] == "out of range"


def test_bands_follow_the_seed_thresholds() -> None:
    s = TrendSettings()
    assert band(3.0, s) == ("stable", "minor")
    assert band(-7.0, s) == ("decreasing", "minor")
    assert band(15.0, s) == ("increasing", "moderate")
    assert band(25.0, s) == ("increasing", "significant")


def test_one_reading_or_one_day_is_no_trend_and_two_have_no_slope() -> None:
    assert marker_trend("tsh", PANELS[:1], [2.0]) is None
    assert marker_trend("tsh", [PANELS[0], PANELS[0]], [2.0, 2.2]) is None
    t = marker_trend("tsh", PANELS[:2], [2.0, 2.2])
    assert t is not None and t.slope_per_year is None and t.percent_change == pytest.approx(10.0)
