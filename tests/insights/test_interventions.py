"""Before/after effects of an intervention, on weekly means, with adherence."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from insights.interventions import InterventionSettings, adherence, control_fdr, effects, weekly_means


def test_weekly_means_drop_thin_weeks() -> None:
    days = np.array([[1.0], [2], [3], [np.nan], [np.nan], [np.nan], [np.nan], [4], [4], [4], [4], [4], [4], [4]])
    means = weekly_means(days, min_days=4)
    assert np.isnan(means[0, 0]) and means[1, 0] == 4.0


def test_a_real_rise_is_found_with_a_ci_that_matches_welch_on_weekly_means() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(50, 5, size=(90, 2))
    x[60:, 0] += 10  # HRV up by 10 ms in the effect window (days 30–60 after the start)
    intake = np.r_[np.full(30, np.nan), np.where(rng.random(60) < 0.8, 400.0, 0.0)]
    found = effects(x, ["hrv", "steps"], "magnesium", intake)
    hrv = next(e for e in found if e.outcome == "hrv")
    before, after = x[:28, 0].reshape(4, 7).mean(axis=1), x[60:88, 0].reshape(4, 7).mean(axis=1)
    ref = sps.ttest_ind(after, before, equal_var=False)
    assert hrv.difference == pytest.approx(after.mean() - before.mean())
    assert hrv.p == pytest.approx(ref.pvalue)
    low, high = ref.confidence_interval(0.95)
    assert (hrv.ci_low, hrv.ci_high) == (pytest.approx(low), pytest.approx(high))
    assert hrv.significant and 5 < hrv.difference < 15
    assert hrv.adherence == pytest.approx((intake[60:90] > 0).mean())
    assert "HRV rose by" in hrv.sentence(outcome_label="HRV")
    kept = control_fdr(found)
    assert [e.outcome for e in kept] == ["hrv"] and 0 < kept[0].q <= 0.05


def test_no_change_gives_no_finding_after_fdr() -> None:
    rng = np.random.default_rng(2)
    found = effects(rng.normal(size=(90, 20)), [f"m{i}" for i in range(20)], "placebo")
    assert len(found) == 20
    assert control_fdr(found) == []


def test_too_few_weeks_on_a_side_is_not_tested() -> None:
    x = np.random.default_rng(3).normal(size=(90, 1))
    x[:25] = np.nan  # only the last 5 days before the start
    assert effects(x, ["hrv"], "zinc") == []


def test_adherence_counts_days_on_the_regimen_only() -> None:
    assert adherence(np.array([np.nan, 1, 0, 2, 0])) == 0.5
    assert adherence(np.array([np.nan, np.nan])) is None


def test_short_history_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="need 90 days"):
        effects(np.zeros((40, 1)), ["x"], "zinc", settings=InterventionSettings())
