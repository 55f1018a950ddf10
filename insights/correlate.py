"""Correlations between one user's daily series: every metric pair at lags 0–3, with FDR control.

The input is a days × metrics matrix with NaN for missing days. For each lag, Pearson and Spearman for
all pairs come from a few masked matrix products (insights.stats.LaggedCorrelations), so the cost barely
depends on how many pairs there are. A hypothesis is one (metric a, metric b, lag): a on day t against
b on day t + lag. It counts as a finding only when it holds by both measures (p is the larger of the
two), survives Benjamini–Hochberg across every hypothesis tested for the user, and is big enough to
matter; per pair, the lag with the strongest evidence is reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from insights import stats

LAG_WORDS = ("on the same day", "the next day", "two days later", "three days later")


@dataclass(frozen=True)
class CorrelationSettings:
    max_lag: int = 3
    min_n: int = 30  # pairwise-complete days below which a pair is not tested at all
    fdr: float = 0.05  # Benjamini–Hochberg level across all hypotheses of one user
    min_abs_r: float = 0.1  # smaller correlations can be real but tell a person nothing
    adjust_autocorrelation: bool = True  # test with the effective n of two autocorrelated series


@dataclass(frozen=True)
class Correlation:
    metric_a: str  # on day t
    metric_b: str  # on day t + lag
    lag: int
    n: int
    r: float  # Pearson
    rho: float  # Spearman
    p: float  # the larger of the Pearson and Spearman p-values
    q: float  # Benjamini–Hochberg adjusted p across the user's family

    @property
    def direction(self) -> str:
        return "positive" if self.r > 0 else "negative"

    @property
    def strength(self) -> str:
        return effect_size_words(self.r)

    def sentence(self, label_a: str | None = None, label_b: str | None = None) -> str:
        """The finding in plain words, e.g. 'Higher magnesium goes with higher HRV the next day.'"""
        a, b = label_a or self.metric_a, label_b or self.metric_b
        more = "higher" if self.r > 0 else "lower"
        return f"Higher {a} goes with {more} {b} {LAG_WORDS[self.lag]} ({self.strength} {self.direction} link)."


@dataclass(frozen=True)
class CorrelationResult:
    tested: int  # hypotheses in the FDR family (pairs × lags with enough data)
    findings: tuple[Correlation, ...]  # one per pair, strongest evidence first


def effect_size_words(r: float) -> str:
    size = abs(r)
    if size < 0.1:
        return "negligible"
    if size < 0.3:
        return "weak"
    if size < 0.5:
        return "moderate"
    return "strong"


def correlate(
    values: np.ndarray,
    metrics: Sequence[str],
    settings: CorrelationSettings | None = None,
    groups: Sequence[str | None] | None = None,
) -> CorrelationResult:
    """Test every pair of columns of `values` (days × metrics, NaN = missing) at lags 0..max_lag.

    `groups` names a group per metric; metrics of the same group (steps and distance, sleep stages)
    are related by definition and are not tested against each other.
    """
    settings = settings or CorrelationSettings()
    x = np.asarray(values, dtype=float)
    if x.ndim != 2 or x.shape[1] != len(metrics):
        raise ValueError(f"values must be days × metrics with {len(metrics)} columns, got shape {x.shape}")
    m = x.shape[1]
    if groups is not None and len(groups) != m:
        raise ValueError(f"groups names {len(groups)} metrics, values have {m}")
    x = _useful_columns(x, settings.min_n)
    if m < 2 or x.shape[0] <= max(settings.min_n, 3):
        return CorrelationResult(0, ())
    lagged = stats.LaggedCorrelations(x)
    lags = range(min(settings.max_lag, x.shape[0] - settings.min_n) + 1)
    by_lag = {lag: lagged.at(lag) for lag in lags}
    if settings.adjust_autocorrelation:
        # Each metric against itself a day later: the diagonal of the lag-1 matrices, computed anyway.
        r1, rho1, n1 = by_lag[1] if 1 in by_lag else lagged.at(1)
        phi_x, phi_r = _phi(r1, n1), _phi(rho1, n1)
    testable = _testable(m, groups)

    blocks: list[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    for lag, (r, rho, n) in by_lag.items():
        keep = (testable if lag else np.triu(testable, 1)) & (n >= settings.min_n) & np.isfinite(r) & np.isfinite(rho)
        ia, ib = np.nonzero(keep)
        if ia.size == 0:
            continue
        nn = n[ia, ib].astype(float)
        if settings.adjust_autocorrelation:
            df_r = stats.effective_n(nn, phi_x[ia], phi_x[ib])
            df_rho = stats.effective_n(nn, phi_r[ia], phi_r[ib])
        else:
            df_r = df_rho = nn
        p = np.maximum(stats.correlation_p(r[ia, ib], df_r - 2.0), stats.correlation_p(rho[ia, ib], df_rho - 2.0))
        blocks.append((lag, ia, ib, n[ia, ib], r[ia, ib], rho[ia, ib], p))
    if not blocks:
        return CorrelationResult(0, ())

    p_all = np.concatenate([b[6] for b in blocks])
    q_all = stats.benjamini_hochberg(p_all)
    best: dict[tuple[int, int], Correlation] = {}
    offset = 0
    for lag, ia, ib, n, r, rho, p in blocks:
        q = q_all[offset : offset + p.size]
        offset += p.size
        hit = (q <= settings.fdr) & (np.abs(r) >= settings.min_abs_r) & (np.sign(r) == np.sign(rho))
        for k in np.flatnonzero(hit):
            a, b = int(ia[k]), int(ib[k])
            found = Correlation(
                metrics[a], metrics[b], lag, int(n[k]), float(r[k]), float(rho[k]), float(p[k]), float(q[k])
            )
            key = (min(a, b), max(a, b))
            held = best.get(key)
            if held is None or (found.p, -abs(found.r)) < (held.p, -abs(held.r)):
                best[key] = found
    findings = sorted(best.values(), key=lambda c: (c.p, -abs(c.r)))
    return CorrelationResult(int(p_all.size), tuple(findings))


def _phi(r: np.ndarray, n: np.ndarray) -> np.ndarray:
    phi = np.diagonal(r).copy()
    phi[~np.isfinite(phi) | (np.diagonal(n) < 10)] = 0.0
    return phi


def _useful_columns(x: np.ndarray, min_n: int) -> np.ndarray:
    """Blank out columns with too few days to pass min_n with anything, so they cost nothing later."""
    few = (~np.isnan(x)).sum(axis=0) < min_n
    if few.any():
        x = x.copy()
        x[:, few] = np.nan
    return x


def _testable(m: int, groups: Sequence[str | None] | None) -> np.ndarray:
    ok = ~np.eye(m, dtype=bool)
    if groups is not None:
        labels = np.array([g if g is not None else f"\0{i}" for i, g in enumerate(groups)], dtype=object)
        ok &= labels[:, None] != labels[None, :]
    return ok
