"""Small statistical building blocks shared by the insight modules: masked moments, t tests, FDR."""

from __future__ import annotations

import warnings

import numpy as np
from scipy import special


class LaggedCorrelations:
    """Pearson r of every column of a days × metrics matrix against every column `lag` days later,
    pairwise-complete, as a handful of matrix products per lag (no loop over pairs); Spearman rho for
    chosen pairs, or for all of them.

    The masks and centred values are prepared once and sliced per lag; ranks only for the columns
    Spearman is asked about.
    """

    def __init__(self, x: np.ndarray) -> None:
        self._x = x
        present = ~np.isnan(x)
        self.mask = present.astype(float)
        self.x0 = _centred(x)
        m = x.shape[1]
        self._m = m
        # [mask | x | x²]: one product against the later mask gives every one-sided sum.
        self._stack = np.hstack([self.mask, self.x0, self.x0 * self.x0])
        self._values = self._stack[:, m:]
        self._r0: dict[int, np.ndarray] = {}  # centred ranks per column, made when first needed

    def pearson(self, lag: int) -> tuple[np.ndarray, np.ndarray]:
        """(Pearson r, n) with metric i on day t against metric j on day t + lag."""
        t, m = self.mask.shape[0], self._m
        head, tail = slice(0, t - lag), slice(lag, t)
        early = self._stack[head].T @ self.mask[tail]  # 3M × M
        late = self.mask[head].T @ self._values[tail]  # M × 2M
        n = early[:m]
        r = _r_from_sums(n, early[m : 2 * m], early[2 * m :], late[:, :m], late[:, m:], self.x0[head].T @ self.x0[tail])
        return r, _count(n)

    def spearman(self, a: np.ndarray, b: np.ndarray, lag: int) -> np.ndarray:
        """Spearman rho of the pairs (a[k] on day t, b[k] on day t + lag), pairwise-complete.

        Each metric is ranked once over all its own days (a monotone transform, so still a rank test),
        as the full matrices of `at` do; the sums are the same, taken per pair.
        """
        a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
        if a.size == 0:
            return np.empty(0)
        t = self.mask.shape[0]
        new = [j for j in np.union1d(a, b).tolist() if j not in self._r0]
        if new:
            self._r0.update(zip(new, _centred(rank_columns(self._x[:, new])).T, strict=True))
        u = np.column_stack([self._r0[j] for j in a.tolist()])[: t - lag]
        v = np.column_stack([self._r0[j] for j in b.tolist()])[lag:]
        mu, mv = self.mask[: t - lag, a], self.mask[lag:, b]
        n = (mu * mv).sum(axis=0)
        return _r_from_sums(
            n, (u * mv).sum(axis=0), (u * u * mv).sum(axis=0), (v * mu).sum(axis=0), (v * v * mu).sum(axis=0),
            (u * v).sum(axis=0),
        )  # fmt: skip

    def at(self, lag: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(Pearson r, Spearman rho, n) of every pair, with metric i on day t against metric j on day t + lag."""
        r, n = self.pearson(lag)
        a, b = np.divmod(np.arange(self._m * self._m), self._m)
        return r, self.spearman(a, b, lag).reshape(self._m, self._m), n


def _r_from_sums(
    n: np.ndarray, sa: np.ndarray, saa: np.ndarray, sb: np.ndarray, sbb: np.ndarray, sab: np.ndarray
) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        cov = sab - sa * sb / n
        va = saa - sa * sa / n
        vb = sbb - sb * sb / n
        r = cov / np.sqrt(va * vb)
    # A series that does not vary over the shared days has no correlation to speak of.
    flat = (va <= 1e-12 * np.maximum(saa, 1e-300)) | (vb <= 1e-12 * np.maximum(sbb, 1e-300))
    r[flat | (n < 3) | ~np.isfinite(r)] = np.nan
    return np.clip(r, -1.0, 1.0)


def _count(n: np.ndarray) -> np.ndarray:
    return n.round().astype(np.int64)


def _centred(x: np.ndarray) -> np.ndarray:
    """Column-centred values with missing days as 0.

    Centring keeps the sums of squares well conditioned (steps ~10^4, HRV ~10^1); r does not change.
    """
    present = ~np.isnan(x)
    return np.where(present, x - _column_means(x, present), 0.0)


def _column_means(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    counts = mask.sum(axis=0)
    sums = np.where(mask, x, 0.0).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)


def rank_columns(x: np.ndarray) -> np.ndarray:
    """Mid-ranks of each column over its own present values (ties share their average rank, as in
    scipy.stats.rankdata); NaN stays NaN. All columns at once, no loop."""
    missing = np.isnan(x)
    order = np.argsort(np.where(missing, np.inf, x), axis=0, kind="stable")
    ordered = np.take_along_axis(np.where(missing, np.inf, x), order, axis=0)
    t = x.shape[0]
    pos = np.broadcast_to(np.arange(t)[:, None], x.shape)
    starts = np.ones(x.shape, dtype=bool)
    starts[1:] = ordered[1:] != ordered[:-1]
    ends = np.ones(x.shape, dtype=bool)
    ends[:-1] = starts[1:]
    first = np.maximum.accumulate(np.where(starts, pos, 0), axis=0)
    last = np.minimum.accumulate(np.where(ends, pos, t - 1)[::-1], axis=0)[::-1]
    ranks = np.empty_like(x, dtype=float)
    np.put_along_axis(ranks, order, (first + last) / 2.0 + 1.0, axis=0)
    ranks[missing] = np.nan
    return ranks


def effective_n(n: np.ndarray, phi_a: np.ndarray, phi_b: np.ndarray) -> np.ndarray:
    # Elementwise: n, phi_a and phi_b describe the same list of pairs.
    """Observations worth of independent information in two autocorrelated series (Bartlett, AR(1)).

    Two slowly drifting series look correlated far more often than independent days would suggest;
    testing with the effective n keeps those chance drifts from passing as findings.
    """
    prod = np.clip(phi_a * phi_b, 0.0, 0.95)
    return np.clip(n * (1.0 - prod) / (1.0 + prod), 3.0, np.maximum(n, 3.0))


def correlation_p(r: np.ndarray, df: np.ndarray) -> np.ndarray:
    """Two-sided p of H0: ρ = 0 from Student's t with df degrees of freedom (what pearsonr computes)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        rr = np.minimum(r * r, 1.0)
        t = np.abs(r) * np.sqrt(df / np.maximum(1.0 - rr, 1e-300))
        p = 2.0 * special.stdtr(df, -t)
    p = np.where(rr >= 1.0, 0.0, p)
    return np.where(np.isfinite(r) & (df > 0), np.clip(p, 0.0, 1.0), np.nan)


def benjamini_hochberg(p: np.ndarray, family: int | None = None) -> np.ndarray:
    """BH-adjusted p-values (q-values) of a 1-D family; reject where q ≤ the chosen FDR level.

    `family`: the size of the whole family when `p` holds only its smallest members, all those whose
    q could be at or below the level (every other p of the family being larger than each of these).
    Their q-values at or below the level are then exactly those of the whole family.
    """
    p = np.asarray(p, dtype=float)
    size = p.size
    m = size if family is None else family
    if size == 0:
        return p.copy()
    order = np.argsort(p)
    scaled = p[order] * m / np.arange(1, size + 1)
    q_sorted = np.minimum.accumulate(scaled[::-1])[::-1]
    q = np.empty(size)
    q[order] = np.minimum(q_sorted, 1.0)
    return q


def welch(
    before: np.ndarray, after: np.ndarray, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Welch's t test per column of two samples (rows = observations, NaN = missing).

    Returns (difference after − before, CI low, CI high, p, degrees of freedom); NaN where a side has
    fewer than two observations or neither side varies.
    """
    n1, n2 = (~np.isnan(before)).sum(axis=0), (~np.isnan(after)).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # empty sides: "mean of empty slice"
        m1, m2 = np.nanmean(before, axis=0), np.nanmean(after, axis=0)
        v1, v2 = np.nanvar(before, axis=0, ddof=1), np.nanvar(after, axis=0, ddof=1)
        se2 = v1 / n1 + v2 / n2
        df = se2**2 / ((v1 / n1) ** 2 / (n1 - 1) + (v2 / n2) ** 2 / (n2 - 1))
        diff = m2 - m1
        se = np.sqrt(se2)
        t = diff / se
        p = 2.0 * special.stdtr(df, -np.abs(t))
        half = special.stdtrit(df, 0.5 + confidence / 2.0) * se
    bad = (n1 < 2) | (n2 < 2) | ~(se > 0)
    nan = np.full(diff.shape, np.nan)
    return (
        np.where((n1 < 1) | (n2 < 1), nan, diff),
        np.where(bad, nan, diff - half),
        np.where(bad, nan, diff + half),
        np.where(bad, nan, p),
        np.where(bad, nan, df),
    )
