"""Correlations between one user's daily series: every metric pair at lags 0–3, with FDR control.

The input is a days × metrics matrix with NaN for missing days. For each lag, Pearson for all pairs
comes from a few masked matrix products (insights.stats.LaggedCorrelations), so the cost barely depends
on how many pairs there are; Spearman is computed for the pairs that could still be findings. A
hypothesis is one (metric a, metric b, lag): a on day t against b on day t + lag. It counts as a finding
only when it holds by both measures (p is the larger of the two), survives Benjamini–Hochberg across
every hypothesis tested for the user, and is big enough to matter; per pair, the lag with the strongest
evidence is reported.
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
    by_lag = {lag: lagged.pearson(lag) for lag in lags}
    if settings.adjust_autocorrelation:
        # Each metric against itself a day later: the diagonal of the lag-1 matrix, computed anyway.
        r1, n1 = by_lag[1] if 1 in by_lag else lagged.pearson(1)
        phi_x = _phi(np.diagonal(r1), np.diagonal(n1))
    testable = _testable(m, groups)

    # Pearson for every hypothesis first. A hypothesis can only be a finding if it survives
    # Benjamini–Hochberg on its Pearson p alone, since its final p (the larger of Pearson's and
    # Spearman's) is never smaller, and BH rejects nothing more when p-values grow. So Spearman is
    # computed for those candidates only; the family, and so each finding's q, stays the whole set
    # tested (stats.benjamini_hochberg with `family`): the findings are those of testing every pair by
    # both measures.
    blocks: list[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    for lag, (r, n) in by_lag.items():
        keep = (testable if lag else np.triu(testable, 1)) & (n >= settings.min_n) & np.isfinite(r)
        ia, ib = np.nonzero(keep)
        if ia.size == 0:
            continue
        nn = n[ia, ib].astype(float)
        df_r = stats.effective_n(nn, phi_x[ia], phi_x[ib]) if settings.adjust_autocorrelation else nn
        blocks.append((lag, ia, ib, n[ia, ib], r[ia, ib], stats.correlation_p(r[ia, ib], df_r - 2.0)))
    if not blocks:
        return CorrelationResult(0, ())
    family = sum(b[5].size for b in blocks)
    candidate = stats.benjamini_hochberg(np.concatenate([b[5] for b in blocks])) <= settings.fdr

    chosen = []
    offset = 0
    for lag, ia, ib, n, r, p_r in blocks:
        sel = candidate[offset : offset + p_r.size]
        offset += p_r.size
        if sel.any():
            chosen.append((lag, ia[sel], ib[sel], n[sel], r[sel], p_r[sel]))
    if not chosen:
        return CorrelationResult(family, ())
    if settings.adjust_autocorrelation:
        # Each candidate metric's ranks against themselves a day later (0 below 10 shared days).
        cols = np.unique(np.concatenate([np.r_[c[1], c[2]] for c in chosen]))
        rho1 = lagged.spearman(cols, cols, 1)
        phi_r = np.zeros(m)
        phi_r[cols] = _phi(rho1, np.diagonal(n1)[cols])
    scored = []
    for lag, ia, ib, n, r, p_r in chosen:
        rho = lagged.spearman(ia, ib, lag)
        nn = n.astype(float)
        df_rho = stats.effective_n(nn, phi_r[ia], phi_r[ib]) if settings.adjust_autocorrelation else nn
        p_rho = stats.correlation_p(rho, df_rho - 2.0)
        # A pair whose ranks do not vary over the shared days has no Spearman test: never a finding.
        p = np.where(np.isfinite(p_rho), np.maximum(p_r, p_rho), 1.0)
        scored.append((lag, ia, ib, n, r, rho, p))

    p_all = np.concatenate([c[6] for c in scored])
    q_all = stats.benjamini_hochberg(p_all, family=family)
    best: dict[tuple[int, int], Correlation] = {}
    offset = 0
    for lag, ia, ib, n, r, rho, p in scored:
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
    return CorrelationResult(family, tuple(findings))


def _phi(r: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Lag-1 autocorrelations (a metric against itself a day later), 0 where unknown or under 10 days."""
    phi = np.array(r, dtype=float)
    phi[~np.isfinite(phi) | (n < 10)] = 0.0
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
