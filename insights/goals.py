"""Goal alerts (seed 003 §2.9) as a pure state machine over a goal's readings.

Each alert condition — below `alert_threshold_low`, above `alert_threshold_high`, moving the wrong way
for the goal's direction — is a switch: it fires when the condition starts and stays quiet while it
holds; when the condition ends the switch re-arms, so the next crossing fires again. The state needs no
column of its own: folding `step` over the readings since the goal was set gives the same switches
every night, and each alert carries the day of the reading that fired it, so writing the same alert
twice is recognisable (insights.store keeps one).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

BELOW, ABOVE, WRONG_WAY = "below", "above", "wrong_way"


@dataclass(frozen=True)
class GoalSpec:
    metric: str
    direction: str  # 'minimize' | 'maximize' | 'target'
    target: float | None = None
    low: float | None = None  # alert_threshold_low
    high: float | None = None  # alert_threshold_high
    alert_enabled: bool = True


@dataclass(frozen=True)
class GoalSettings:
    window: int = 7  # readings per side compared for "moving the wrong way" (daily metrics: a week)
    wrong_way_pct: float = 5.0  # a change under the seed's "stable" band is not a direction
    lookback_days: int = 7  # a crossing older than this (a late backfill) is history, not an alert


@dataclass(frozen=True)
class GoalState:
    below: bool = False  # True while the condition holds (the switch has fired and is not re-armed)
    above: bool = False
    wrong_way: bool = False


@dataclass(frozen=True)
class GoalAlertEvent:
    kind: str
    on: dt.date
    value: float
    message: str


def wrong_way(goal: GoalSpec, earlier: np.ndarray, recent: np.ndarray, settings: GoalSettings) -> np.ndarray:
    """Whether the level moved from `earlier` to `recent` against the goal's direction, beyond noise
    (elementwise; False where either side is unknown)."""
    earlier, recent = np.asarray(earlier, dtype=float), np.asarray(recent, dtype=float)
    # How far counts as a move: a share of the target for target goals, of the earlier level otherwise.
    by_target = goal.direction == "target" and goal.target
    scale = np.full(earlier.shape, abs(goal.target or 0.0)) if by_target else np.abs(earlier)
    margin = settings.wrong_way_pct / 100.0 * scale
    with np.errstate(invalid="ignore"):
        if goal.direction == "minimize":
            moved = recent - earlier > margin
        elif goal.direction == "maximize":
            moved = earlier - recent > margin
        elif goal.direction == "target" and goal.target is not None:
            moved = np.abs(recent - goal.target) - np.abs(earlier - goal.target) > margin
        else:
            moved = np.zeros(earlier.shape, dtype=bool)
    return moved & np.isfinite(earlier) & np.isfinite(recent) & (scale > 0)


def step(
    goal: GoalSpec, state: GoalState, value: float, moving_wrong: bool, on: dt.date
) -> tuple[GoalState, list[GoalAlertEvent]]:
    """One reading: the next state and the alerts that fire now (each condition fires once per crossing)."""
    now = GoalState(
        below=goal.low is not None and value < goal.low,
        above=goal.high is not None and value > goal.high,
        wrong_way=moving_wrong,
    )
    events = []
    if goal.alert_enabled:
        if now.below and not state.below:
            events.append(GoalAlertEvent(BELOW, on, value, f"{goal.metric} fell to {value:.4g}, below {goal.low:.4g}"))
        if now.above and not state.above:
            events.append(GoalAlertEvent(ABOVE, on, value, f"{goal.metric} rose to {value:.4g}, above {goal.high:.4g}"))
        if now.wrong_way and not state.wrong_way:
            way = {"minimize": "up", "maximize": "down"}.get(goal.direction, "away from the target")
            events.append(
                GoalAlertEvent(WRONG_WAY, on, value, f"{goal.metric} is moving {way} ({value:.4g}), against your goal")
            )
    return now, events


def evaluate(
    goal: GoalSpec,
    dates: Sequence[dt.date],
    values: Sequence[float],
    since: dt.date,
    today: dt.date,
    settings: GoalSettings | None = None,
) -> tuple[GoalState, list[GoalAlertEvent]]:
    """`step` folded over the readings from `since` (the goal's start): the switches' state after the
    latest reading and the alerts fired in the last lookback_days. Readings before `since` only serve
    as the earlier side of the first "wrong way" comparisons.

    The fold is done on whole arrays: a switch fires exactly where its condition turns from false to
    true, which is what `step` does one reading at a time.
    """
    s = settings or GoalSettings()
    ordinals = np.array([d.toordinal() for d in dates], dtype=np.int64)
    v = np.asarray(values, dtype=float)
    keep = np.isfinite(v)
    ordinals, v = ordinals[keep], v[keep]
    order = np.argsort(ordinals, kind="stable")
    ordinals, v = ordinals[order], v[order]
    w = s.window
    moving = np.zeros(v.size, dtype=bool)
    if v.size >= 2 * w:
        sums = np.r_[0.0, np.cumsum(v)]
        recent = (sums[w:] - sums[:-w]) / w  # recent[k] = mean of v[k : k + w]
        # Reading i compares v[i-2w+1 : i-w+1] with v[i-w+1 : i+1].
        moving[2 * w - 1 :] = wrong_way(goal, recent[: v.size - 2 * w + 1], recent[w:], s)
    counted = ordinals >= since.toordinal()
    ordinals, v, moving = ordinals[counted], v[counted], moving[counted]
    conditions = {
        BELOW: (v < goal.low) if goal.low is not None else np.zeros(v.size, dtype=bool),
        ABOVE: (v > goal.high) if goal.high is not None else np.zeros(v.size, dtype=bool),
        WRONG_WAY: moving,
    }
    if v.size == 0:
        return GoalState(), []
    state = GoalState(**{k: bool(c[-1]) for k, c in conditions.items()})
    if not goal.alert_enabled:
        return state, []
    fired = []
    horizon = today.toordinal() - s.lookback_days
    for kind, held in conditions.items():
        rises = np.flatnonzero(held & ~np.r_[False, held[:-1]])
        for i in rises[ordinals[rises] > horizon]:
            day = dt.date.fromordinal(int(ordinals[i]))
            _, events = step(goal, GoalState(), float(v[i]), bool(moving[i]), day)
            fired.extend(e for e in events if e.kind == kind)
    fired.sort(key=lambda e: (e.on, e.kind))
    return state, fired
