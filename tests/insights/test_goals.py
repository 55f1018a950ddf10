"""Goal alerts: once per crossing, re-armed when the value comes back, and moving the wrong way."""

from __future__ import annotations

import datetime as dt

from insights.goals import ABOVE, BELOW, WRONG_WAY, GoalSettings, GoalSpec, GoalState, evaluate, step

DAY0 = dt.date(2026, 3, 1)
ALL = GoalSettings(lookback_days=10_000)


def days(n: int) -> list[dt.date]:
    return [DAY0 + dt.timedelta(days=i) for i in range(n)]


def test_a_crossing_fires_once_while_it_lasts_and_again_after_coming_back() -> None:
    goal = GoalSpec("weight", "target", target=80, low=75, high=85)
    values = [84, 86, 87, 88, 84, 83, 86, 86]
    state, fired = evaluate(goal, days(8), values, DAY0, days(8)[-1], ALL)
    assert [(e.kind, e.on, e.value) for e in fired] == [(ABOVE, DAY0 + dt.timedelta(1), 86.0),
                                                         (ABOVE, DAY0 + dt.timedelta(6), 86.0)]  # fmt: skip
    assert state == GoalState(above=True)
    assert fired[0].message == "weight rose to 86, above 85"


def test_evaluating_again_the_next_night_does_not_fire_the_same_crossing() -> None:
    goal = GoalSpec("glucose", "minimize", low=None, high=100)
    values = [95, 104, 106]
    _, first = evaluate(goal, days(3), values, DAY0, days(3)[-1], ALL)
    _, second = evaluate(goal, days(4), [*values, 107], DAY0, days(4)[-1], ALL)
    assert [e.on for e in first] == [e.on for e in second] == [DAY0 + dt.timedelta(1)]


def test_low_threshold_and_disabled_alerts() -> None:
    goal = GoalSpec("hrv", "maximize", low=40)
    state, events = step(goal, GoalState(), 38.0, False, DAY0)
    assert [e.kind for e in events] == [BELOW] and state.below
    quiet = GoalSpec("hrv", "maximize", low=40, alert_enabled=False)
    assert step(quiet, GoalState(), 38.0, False, DAY0)[1] == []


def test_moving_the_wrong_way_for_the_direction_fires_once() -> None:
    goal = GoalSpec("resting heart rate", "minimize")
    values = [60.0] * 7 + [66.0] * 10  # a week at 60, then 10 % up and staying there
    _, fired = evaluate(goal, days(17), values, DAY0, days(17)[-1], GoalSettings(window=7, lookback_days=10_000))
    assert [e.kind for e in fired] == [WRONG_WAY]
    assert "moving up" in fired[0].message
    # The same rise is the right way for a goal to maximize.
    up = GoalSpec("hrv", "maximize")
    assert evaluate(up, days(17), values, DAY0, days(17)[-1], ALL)[1] == []


def test_old_crossings_from_a_backfill_are_not_alerts_and_readings_before_the_goal_do_not_fire() -> None:
    goal = GoalSpec("weight", "minimize", high=85)
    values = [90, 80, 80, 80, 80, 80, 80, 80, 80, 90]
    _, fired = evaluate(goal, days(10), values, DAY0, days(10)[-1], GoalSettings(lookback_days=3))
    assert [e.on for e in fired] == [days(10)[-1]]
    _, none = evaluate(goal, days(2), [90, 90], DAY0 + dt.timedelta(5), days(2)[-1], ALL)
    assert none == []


def test_evaluate_is_step_folded_over_the_readings() -> None:
    import numpy as np

    from insights.goals import wrong_way

    rng = np.random.default_rng(5)
    values = list(80 + rng.normal(0, 4, 120).cumsum() / 3)
    settings = GoalSettings(window=3, lookback_days=10_000)
    for goal in (GoalSpec("w", "minimize", low=75, high=85), GoalSpec("w", "target", target=80, high=90),
                 GoalSpec("w", "maximize", low=78)):  # fmt: skip
        state, folded = GoalState(), []
        for i, value in enumerate(values):
            moving = i >= 5 and bool(
                wrong_way(goal, np.mean(values[i - 5 : i - 2]), np.mean(values[i - 2 : i + 1]), settings)
            )
            state, events = step(goal, state, value, moving, days(120)[i])
            folded.extend(events)
        got_state, got = evaluate(goal, days(120), values, DAY0, days(120)[-1], settings)
        assert got_state == state
        assert sorted((e.on, e.kind, e.message) for e in got) == sorted((e.on, e.kind, e.message) for e in folded)
        assert folded  # the walk crosses something, so the comparison says something
