"""Health Auto Export's push JSON as the export's records, without a database: names, units, SDNN, the
rule for which days a push holds whole, segments of sleep, and points that cannot be used."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from parsers.apple_health.push import PushError, parse_push, push_records
from parsers.apple_health.records import DailySummary, Measurement, SleepNight

LATER = datetime(2026, 6, 1, tzinfo=UTC)


def _push(*metrics: dict, workouts: list | None = None) -> bytes:
    return json.dumps({"data": {"metrics": list(metrics), "workouts": workouts or []}}).encode()


def _days(records) -> dict[date, DailySummary]:
    return {item.day: item for item in records.items if isinstance(item, DailySummary)}


def test_heart_rate_variability_is_sdnn_and_units_are_converted() -> None:
    records = push_records(
        _push(
            {
                "name": "heart_rate_variability",
                "units": "ms",
                "data": [{"qty": 31, "date": "2026-03-01 00:00:00 +0100"}],
            },
            {
                "name": "walking_running_distance",
                "units": "mi",
                "data": [{"qty": 2, "date": "2026-03-01 00:00:00 +0100"}],
            },
            {"name": "active_energy", "units": "kJ", "data": [{"qty": 418.4, "date": "2026-03-01 00:00:00 +0100"}]},
            {"name": "weight_body_mass", "units": "lb", "data": [{"qty": 200, "date": "2026-03-01 07:00:00 +0100"}]},
            {"name": "blood_glucose", "units": "mmol/L", "data": [{"qty": 5.5, "date": "2026-03-01 07:00:00 +0100"}]},
        ),
        LATER,
    )
    day = _days(records)[date(2026, 3, 1)]
    # 2 mi = 3218.688 m; 418.4 kJ / 4.184 = 100 kcal; 200 lb = 90.718 kg; glucose 5.5 mmol/L * 18.0156 = 99.086 mg/dL
    assert (day.hrv_sdnn_ms, day.distance_m, day.active_calories_kcal) == (31.0, 3219, 100)
    measured = {m.metric: (m.value, m.unit) for m in records.items if isinstance(m, Measurement)}
    assert measured["weight"] == (90.718, "kg")
    assert measured["blood_glucose"][1] == "mg/dL" and abs(measured["blood_glucose"][0] - 99.09) < 0.05


def test_body_mass_index_in_count_is_kg_per_square_metre() -> None:
    records = push_records(
        _push(
            {
                "name": "body_mass_index",
                "units": "count",
                "data": [{"qty": 23.4, "date": "2026-03-02 08:00:00 +0100"}],
            },
            {"name": "body_mass_index", "units": "", "data": [{"qty": 23.1, "date": "2026-03-03 08:00:00 +0100"}]},
        ),
        LATER,
    )
    measured = [(m.metric, m.value, m.unit) for m in records.items if isinstance(m, Measurement)]
    assert measured == [("bmi", 23.4, "kg/m2"), ("bmi", 23.1, "kg/m2")]
    assert not records.report.skipped


def test_a_day_is_written_only_when_the_push_holds_it_whole() -> None:
    """Minute data from 06:00 on March 1: March 1 may have begun before the push's range did; March 2 is
    whole; March 3 had not ended when the push arrived (12:00 UTC = 13:00 at +01:00)."""
    steps = [
        {"qty": 100, "date": "2026-03-01 06:00:00 +0100"},
        {"qty": 200, "date": "2026-03-02 09:30:00 +0100"},
        {"qty": 300, "date": "2026-03-02 18:45:00 +0100"},
        {"qty": 400, "date": "2026-03-03 08:00:00 +0100"},
    ]
    records = push_records(
        _push({"name": "step_count", "units": "count", "data": steps}), datetime(2026, 3, 3, 12, tzinfo=UTC)
    )
    assert {d: s.steps for d, s in _days(records).items()} == {date(2026, 3, 2): 500}
    assert (records.whole_days, records.partial_days) == ([date(2026, 3, 2)], [date(2026, 3, 1), date(2026, 3, 3)])


def test_unaggregated_sleep_goes_through_the_exports_night_rules() -> None:
    segments = [
        {"startDate": "2026-03-01 23:00:00 +0100", "endDate": "2026-03-02 01:00:00 +0100", "value": "Core"},
        {"startDate": "2026-03-02 01:00:00 +0100", "endDate": "2026-03-02 02:30:00 +0100", "value": "Deep"},
        {"startDate": "2026-03-02 02:30:00 +0100", "endDate": "2026-03-02 02:45:00 +0100", "value": "Awake"},
        {"startDate": "2026-03-02 02:45:00 +0100", "endDate": "2026-03-02 04:45:00 +0100", "value": "REM"},
    ]
    records = push_records(_push({"name": "sleep_analysis", "units": "hr", "data": segments}), LATER)
    [night] = [i for i in records.items if isinstance(i, SleepNight)]
    # Asleep 2 h + 1.5 h + 2 h = 330 min; core 120, deep 90, REM 120, awake 15 in one interruption.
    assert (night.sleep_date, night.total_sleep_minutes, night.light_minutes, night.deep_minutes) == (
        date(2026, 3, 2),
        330,
        120,
        90,
    )
    assert (night.rem_minutes, night.awake_minutes, night.interruptions) == (120, 15, 1)
    assert "wearable_sleep" not in records.omit  # segments know the hypnogram


def test_points_that_cannot_be_used_are_skipped_and_counted_and_unknown_metrics_named() -> None:
    records = push_records(
        _push(
            {
                "name": "resting_heart_rate",
                "units": "bpm",
                "data": [
                    {"qty": "fast", "date": "2026-03-01 06:00:00 +0100"},
                    {"qty": 900, "date": "2026-03-01 06:00:00 +0100"},
                    {"qty": 55, "date": "yesterday"},
                    {"qty": 55, "date": "2026-03-01 06:00:00 +0100"},
                ],
            },
            {"name": "step_count", "units": "furlong", "data": [{"qty": 1, "date": "2026-03-01 00:00:00 +0100"}]},
            {"name": "mindful_minutes", "units": "min", "data": [{"qty": 10, "date": "2026-03-01 06:00:00 +0100"}]},
        ),
        LATER,
    )
    assert dict(records.report.skipped) == {
        "resting_heart_rate: value is not a number": 1,
        "resting_heart_rate: value out of range": 1,
        "resting_heart_rate: invalid date": 1,
        "step_count: unit 'furlong' is not a unit of steps": 1,
    }
    assert dict(records.report.unknown_types) == {"mindful_minutes": 1}
    assert _days(records)[date(2026, 3, 1)].resting_hr_bpm == 55


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "the body is not JSON (Expecting value at character 0)"),
        (b'{"metrics": []}', "not a Health Auto Export push"),
        (b'{"data": {"metrics": {"name": "x"}}}', "data.metrics: input should be a valid list"),
    ],
)
def test_a_body_that_is_not_a_push_says_what_is_wrong(body, message) -> None:
    with pytest.raises(PushError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_push(body)
