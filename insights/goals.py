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


def wrong_way(goal: GoalSpec, earlier: float, recent: float, settings: GoalSettings) -> bool:
    """Whether the level moved from `earlier` to `recent` against the goal's direction, beyond noise."""
    if not (np.isfinite(earlier) and np.isfinite(recent)):
        return False
    scale = abs(goal.target) if goal.direction == "target" and goal.target else abs(earlier)
    if scale == 0:
        return False
    step = settings.wrong_way_pct / 100.0 * scale
    if goal.direction == "minimize":
        return recent - earlier > step
    if goal.direction == "maximize":
        return earlier - recent > step
    if goal.direction == "target" and goal.target is not None:
        return abs(recent - goal.target) - abs(earlier - goal.target) > step
    return False


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
    """Fold the readings (oldest first) from `since` (the goal's start) and return the switches' state
    after the latest reading and the alerts fired in the last lookback_days. Readings before `since`
    only serve as the earlier side of the first "wrong way" comparisons.
    """
    s = settings or GoalSettings()
    v = np.asarray(values, dtype=float)
    order = np.argsort([d.toordinal() for d in dates], kind="stable")
    days = [dates[i] for i in order]
    v = v[order]
    present = np.isfinite(v)
    days = [d for d, ok in zip(days, present, strict=True) if ok]
    v = v[present]
    state, fired = GoalState(), []
    for i, (day, value) in enumerate(zip(days, v, strict=True)):
        if day < since:
            continue
        moving = i + 1 >= 2 * s.window and wrong_way(
            goal, float(v[i + 1 - 2 * s.window : i + 1 - s.window].mean()), float(v[i + 1 - s.window : i + 1].mean()), s
        )
        state, events = step(goal, state, float(value), moving, day)
        fired.extend(e for e in events if (today - e.on).days < s.lookback_days)
    return state, fired
