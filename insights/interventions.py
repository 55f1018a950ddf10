"""Intervention effects (seed 000 §5.2, §5.4): each outcome before a supplement started against after it.

Days next to each other are not independent (HRV on Tuesday predicts HRV on Wednesday), so a daily
t test would be far too sure of itself. The days of each window are averaged into weeks first and the
weekly means are compared with Welch's t test: weeks are close to independent, and Welch does not assume
the two periods vary alike. The confidence interval of the difference comes from the same test.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from insights import stats


@dataclass(frozen=True)
class InterventionSettings:
    before_days: int = 30  # the baseline: the 30 days before the start
    after_start: int = 30  # the effect window opens this many days after the start (time to act) ...
    after_end: int = 60  # ... and closes here
    min_days_per_week: int = 4  # a week with fewer observed days is left out
    min_weeks: int = 3  # per side
    confidence: float = 0.95
    fdr: float = 0.05


@dataclass(frozen=True)
class InterventionEffect:
    intervention: str
    outcome: str
    before_mean: float
    after_mean: float
    difference: float  # after − before
    ci_low: float
    ci_high: float
    percent_change: float | None
    p: float
    q: float  # Benjamini–Hochberg across every intervention × outcome of the user
    weeks_before: int
    weeks_after: int
    adherence: float | None  # share of days in the effect window with a logged intake

    @property
    def significant(self) -> bool:
        return self.ci_low > 0 or self.ci_high < 0

    def sentence(self, label: str | None = None, outcome_label: str | None = None) -> str:
        what, outcome = label or self.intervention, outcome_label or self.outcome
        way = "rose" if self.difference > 0 else "fell"
        pct = f" ({self.percent_change:+.0f} %)" if self.percent_change is not None else ""
        taken = f"; taken on {self.adherence:.0%} of days" if self.adherence is not None else ""
        return (
            f"Since starting {what}, {outcome} {way} by {abs(self.difference):.3g}{pct}, "
            f"95 % CI {self.ci_low:.3g} to {self.ci_high:.3g}{taken}."
        )


def weekly_means(block: np.ndarray, min_days: int) -> np.ndarray:
    """Average consecutive 7-day blocks of a days × metrics array; NaN for thin weeks."""
    weeks = block.shape[0] // 7
    cube = block[: weeks * 7].reshape(weeks, 7, block.shape[1])
    present = (~np.isnan(cube)).sum(axis=1)
    sums = np.nansum(cube, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        means = sums / present
    means[present < min_days] = np.nan
    return means


def adherence(intake: np.ndarray) -> float | None:
    """Share of the window's days with an intake > 0 among days the regimen covered (NaN = not on it)."""
    covered = ~np.isnan(intake)
    if not covered.any():
        return None
    return float((intake[covered] > 0).sum() / covered.sum())


def effects(
    values: np.ndarray,
    outcomes: Sequence[str],
    intervention: str,
    intake: np.ndarray | None = None,
    settings: InterventionSettings | None = None,
) -> list[InterventionEffect]:
    """Before/after effects of one intervention on every outcome column.

    `values` is days × outcomes with row 0 = start − before_days (so the start is row before_days), and
    at least before_days + after_end rows (missing days NaN). `intake` is the daily dose over the same
    rows (0 = not taken, NaN = not on the regimen). q is left NaN: fill it with `control_fdr` across all
    the user's interventions.
    """
    s = settings or InterventionSettings()
    x = np.asarray(values, dtype=float)
    need = s.before_days + s.after_end
    if x.shape[0] < need:
        raise ValueError(f"{intervention}: need {need} days from start − {s.before_days}, got {x.shape[0]}")
    before = weekly_means(x[: s.before_days], s.min_days_per_week)
    after = weekly_means(x[s.before_days + s.after_start : need], s.min_days_per_week)
    diff, low, high, p, _ = stats.welch(before, after, s.confidence)
    wb, wa = (~np.isnan(before)).sum(axis=0), (~np.isnan(after)).sum(axis=0)
    taken = None
    if intake is not None:
        taken = adherence(np.asarray(intake, dtype=float)[s.before_days + s.after_start : need])
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an outcome with no full week on a side
        mb, ma = np.nanmean(before, axis=0), np.nanmean(after, axis=0)
    for j, name in enumerate(outcomes):
        if wb[j] < s.min_weeks or wa[j] < s.min_weeks or not np.isfinite(p[j]):
            continue
        pct = float(diff[j] / abs(mb[j]) * 100.0) if mb[j] != 0 else None
        out.append(
            InterventionEffect(
                intervention, name, float(mb[j]), float(ma[j]), float(diff[j]), float(low[j]), float(high[j]),
                pct, float(p[j]), float("nan"), int(wb[j]), int(wa[j]), taken,
            )
        )  # fmt: skip
    return out


def control_fdr(found: Sequence[InterventionEffect], fdr: float = 0.05) -> list[InterventionEffect]:
    """Attach BH q-values across all of a user's intervention × outcome tests; keep those at q ≤ fdr."""
    if not found:
        return []
    q = stats.benjamini_hochberg(np.array([e.p for e in found]))
    kept = []
    for e, qi in zip(found, q, strict=True):
        if qi <= fdr:
            kept.append(InterventionEffect(**{**e.__dict__, "q": float(qi)}))
    return sorted(kept, key=lambda e: e.p)
