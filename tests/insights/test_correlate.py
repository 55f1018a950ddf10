"""The correlation engine against known answers and against scipy, pair by pair."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from insights import stats
from insights.correlate import CorrelationSettings, correlate

DAYS = 600
PLAIN = CorrelationSettings(adjust_autocorrelation=False)


def noise(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.normal(size=shape)


def with_gaps(rng: np.random.Generator, x: np.ndarray, share: float) -> np.ndarray:
    x = x.copy()
    x[rng.random(x.shape) < share] = np.nan
    return x


def test_y_equals_2x_plus_noise_is_a_strong_positive_link() -> None:
    rng = np.random.default_rng(1)
    x = noise(rng, DAYS)
    y = 2 * x + noise(rng, DAYS)
    found = correlate(np.column_stack([x, y]), ["x", "y"]).findings
    assert len(found) == 1
    c = found[0]
    assert (c.metric_a, c.metric_b, c.lag) == ("x", "y", 0)
    # The population r of y = 2x + e (unit variances) is 2 / sqrt(5) ≈ 0.894.
    assert c.r == pytest.approx(2 / 5**0.5, abs=0.03)
    assert c.strength == "strong" and c.direction == "positive"
    assert c.sentence() == "Higher x goes with higher y on the same day (strong positive link)."


def test_negative_link_is_told_as_lower() -> None:
    rng = np.random.default_rng(2)
    x = noise(rng, DAYS)
    found = correlate(np.column_stack([x, -0.5 * x + noise(rng, DAYS)]), ["steps", "stress"]).findings
    assert found[0].direction == "negative"
    assert "goes with lower stress" in found[0].sentence()


def test_independent_noise_yields_nothing_after_fdr() -> None:
    rng = np.random.default_rng(3)
    metrics = [f"m{i}" for i in range(30)]
    result = correlate(with_gaps(rng, noise(rng, DAYS, 30), 0.2), metrics)
    # 435 same-day pairs plus 3 × 870 lagged ones: at p < 0.05 some 150 would pass uncorrected.
    assert result.tested == 435 + 3 * 870
    assert result.findings == ()


def test_lag_one_effect_is_found_at_lag_one_not_lag_zero() -> None:
    rng = np.random.default_rng(4)
    magnesium = noise(rng, DAYS)
    hrv = noise(rng, DAYS)
    hrv[1:] += 0.6 * magnesium[:-1]
    result = correlate(np.column_stack([magnesium, hrv]), ["magnesium", "hrv"])
    assert len(result.findings) == 1
    c = result.findings[0]
    assert (c.metric_a, c.metric_b, c.lag) == ("magnesium", "hrv", 1)
    assert c.sentence().endswith("the next day (moderate positive link).")
    # And the same-day correlation on its own is nothing.
    same_day = correlate(np.column_stack([magnesium, hrv]), ["magnesium", "hrv"], CorrelationSettings(max_lag=0))
    assert same_day.findings == ()


@pytest.mark.parametrize("lag", [0, 1, 3])
def test_vectorized_r_and_p_match_scipy_pair_by_pair_with_missing_days(lag: int) -> None:
    rng = np.random.default_rng(5 + lag)
    x = with_gaps(rng, noise(rng, DAYS, 5), 0.25)
    x[:, 1] += 0.3 * np.nan_to_num(x[:, 0])
    x[:40, 4] = 7.0  # ties, which Spearman ranks by their average
    head, tail = x[: DAYS - lag], x[lag:]
    lagged = stats.LaggedCorrelations(x)
    r, rho, n = lagged.at(lag)
    for a, b in [(0, 1), (2, 3), (4, 0), (1, 4)]:
        both = ~np.isnan(head[:, a]) & ~np.isnan(tail[:, b])
        assert n[a, b] == both.sum()
        ref = sps.pearsonr(head[both, a], tail[both, b])
        assert r[a, b] == pytest.approx(ref.statistic, abs=1e-10)
        p = stats.correlation_p(np.array([r[a, b]]), np.array([n[a, b] - 2.0]))[0]
        assert p == pytest.approx(ref.pvalue, rel=1e-6, abs=1e-300)
    # Spearman ranks each metric once over all its own days (a monotone transform, so still a rank test):
    # exact where a pair shares every day, within a hair of scipy's re-ranking per pair otherwise.
    for a, b in [(0, 1), (2, 3), (4, 0)]:
        both = ~np.isnan(head[:, a]) & ~np.isnan(tail[:, b])
        assert rho[a, b] == pytest.approx(sps.spearmanr(head[both, a], tail[both, b]).statistic, abs=0.01)
    full = noise(rng, DAYS, 3)
    _, rho_full, _ = stats.LaggedCorrelations(full).at(0)
    assert rho_full[0, 2] == pytest.approx(sps.spearmanr(full[:, 0], full[:, 2]).statistic, abs=1e-10)


def test_pairs_with_too_few_shared_days_are_not_tested() -> None:
    rng = np.random.default_rng(6)
    x = noise(rng, DAYS, 3)
    x[:, 2] = np.nan
    x[:20, 2] = 2 * x[:20, 0]  # a perfect link, but on 20 days only
    result = correlate(x, ["a", "b", "c"], CorrelationSettings(min_n=30))
    assert result.tested == 1 + 3 * 2  # a–b at lag 0, a→b and b→a at lags 1–3
    assert all("c" not in (f.metric_a, f.metric_b) for f in result.findings)


def test_a_user_with_almost_no_data_gets_nothing_and_no_error() -> None:
    x = np.full((1826, 6), np.nan)
    x[-3:, :2] = [[1, 2], [2, 3], [3, 5]]
    assert correlate(x, list("abcdef")) == correlate(np.empty((0, 0)), [])
    assert correlate(x, list("abcdef")).findings == ()
    assert correlate(np.full((10, 1), 1.0), ["only"]).tested == 0


def test_constant_series_is_never_a_finding() -> None:
    rng = np.random.default_rng(7)
    x = np.column_stack([noise(rng, DAYS), np.full(DAYS, 3.0)])
    assert correlate(x, ["a", "flat"]).tested == 0


def test_metrics_of_one_group_are_not_tested_against_each_other() -> None:
    rng = np.random.default_rng(8)
    steps = noise(rng, DAYS)
    x = np.column_stack([steps, steps * 0.8 + 0.1 * noise(rng, DAYS), noise(rng, DAYS)])
    result = correlate(x, ["steps", "distance", "mood"], groups=["activity", "activity", None])
    assert result.findings == ()
    assert result.tested == 2 + 3 * 4


def test_autocorrelated_independent_series_do_not_pass_as_findings() -> None:
    # Slow drifts (AR(1), φ = 0.9) make independent series look linked to a test that counts every day.
    rng = np.random.default_rng(9)
    k, misled, adjusted = 16, 0, 0
    for _ in range(4):
        e = noise(rng, DAYS, k)
        x = np.empty_like(e)
        x[0] = e[0]
        for t in range(1, DAYS):
            x[t] = 0.9 * x[t - 1] + e[t]
        metrics = [f"m{i}" for i in range(k)]
        misled += len(correlate(x, metrics, PLAIN).findings)
        adjusted += len(correlate(x, metrics).findings)
    assert misled > 4 * adjusted and adjusted <= 2


def test_benjamini_hochberg_matches_a_hand_computed_example() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.005])
    # sorted: 0.005·4/1 = 0.02, 0.01·4/2 = 0.02, 0.03·4/3 = 0.04, 0.04·4/4 = 0.04
    assert stats.benjamini_hochberg(p) == pytest.approx([0.02, 0.04, 0.04, 0.02])
    assert stats.benjamini_hochberg(np.array([])).size == 0


def test_benjamini_hochberg_of_the_smallest_members_of_a_larger_family() -> None:
    # Family of 5: 0.001, 0.01, 0.02 (given) and two larger p-values (0.3, 0.8) left out.
    # Whole family: 0.001·5/1 = 0.005, 0.01·5/2 = 0.025, 0.02·5/3 ≈ 0.0333, 0.3·5/4 = 0.375, 0.8.
    q = stats.benjamini_hochberg(np.array([0.02, 0.001, 0.01]), family=5)
    assert q == pytest.approx([0.1 / 3, 0.005, 0.025])


def test_spearman_for_chosen_pairs_matches_scipy_and_the_full_matrices() -> None:
    rng = np.random.default_rng(12)
    full = noise(rng, DAYS, 4)
    full[:, 1] += 0.5 * full[:, 0]
    lagged = stats.LaggedCorrelations(full)
    rho = lagged.spearman(np.array([0, 2, 3]), np.array([1, 0, 3]), 0)
    assert rho[0] == pytest.approx(sps.spearmanr(full[:, 0], full[:, 1]).statistic, abs=1e-10)
    assert rho[1] == pytest.approx(sps.spearmanr(full[:, 2], full[:, 0]).statistic, abs=1e-10)
    assert rho[2] == pytest.approx(1.0)
    gappy = with_gaps(rng, full, 0.2)
    lagged = stats.LaggedCorrelations(gappy)
    _, rho_all, _ = lagged.at(2)
    assert lagged.spearman(np.array([1, 3]), np.array([0, 2]), 2) == pytest.approx([rho_all[1, 0], rho_all[3, 2]])


def test_findings_are_those_of_testing_every_pair_by_both_measures() -> None:
    """Spearman is computed only for pairs that pass on Pearson alone; the findings and their q-values
    must be those of scoring every hypothesis by both measures and controlling the FDR over all of them."""
    rng = np.random.default_rng(13)
    x = with_gaps(rng, noise(rng, DAYS, 8), 0.15)
    x[2:, 3] += 0.4 * np.nan_to_num(x[:-2, 0])
    x[:, 5] += 0.25 * np.nan_to_num(x[:, 4])
    x[:, 7] = np.round(x[:, 6] + noise(rng, DAYS), 0)  # ties
    metrics = [f"m{i}" for i in range(8)]
    lagged = stats.LaggedCorrelations(x)
    tests = []
    for lag in range(4):
        r, rho, n = lagged.at(lag)
        for a in range(8):
            for b in range(8):
                if a != b and (lag or a < b) and n[a, b] >= 30:
                    p = max(
                        stats.correlation_p(np.array([v]), np.array([n[a, b] - 2.0]))[0] for v in (r[a, b], rho[a, b])
                    )
                    tests.append((a, b, lag, r[a, b], rho[a, b], p))
    q = stats.benjamini_hochberg(np.array([t[-1] for t in tests]))
    expected = {}
    for (a, b, lag, r, rho, p), qi in zip(tests, q, strict=True):
        if qi <= 0.05 and abs(r) >= 0.1 and np.sign(r) == np.sign(rho):
            key = (min(a, b), max(a, b))
            if key not in expected or p < expected[key][3]:
                expected[key] = (metrics[a], metrics[b], lag, p, qi)
    result = correlate(x, metrics, PLAIN)
    assert result.tested == len(tests)
    assert len(expected) >= 2
    got = {(f.metric_a, f.metric_b, f.lag): (f.p, f.q) for f in result.findings}
    assert set(got) == {e[:3] for e in expected.values()}
    for a, b, lag, p, qi in expected.values():
        assert got[(a, b, lag)] == pytest.approx((p, qi), rel=1e-9)


def test_shape_mismatch_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="2 columns"):
        correlate(np.zeros((50, 3)), ["a", "b"])


def test_ranks_match_scipy_with_ties_and_missing_days() -> None:
    rng = np.random.default_rng(10)
    x = with_gaps(rng, np.round(noise(rng, 300, 5), 1), 0.3)  # rounding makes many ties
    x[:, 4] = np.nan
    ranks = stats.rank_columns(x)
    assert np.array_equal(np.isnan(ranks), np.isnan(x))
    assert np.allclose(ranks, sps.rankdata(x, axis=0, nan_policy="omit"), equal_nan=True)
