"""Oura's documents as rows: the records of the provider reference (real responses) map field by field,
in the catalog's units; nulls are tolerated; an impossible value is dropped and named."""

from __future__ import annotations

from datetime import UTC, date, datetime

from integrations.oura import normalize

# From the provider reference §1.5 (recorded responses, arrays shortened there).
SLEEP = {
    "id": "96e7772a-64a7-4342-9c5f-3e5ed9e64d6d",
    "average_breath": 14.5,
    "average_heart_rate": 71.25,
    "average_hrv": 38,
    "awake_time": 5713,
    "bedtime_end": "2024-10-10T09:04:12+02:00",
    "bedtime_start": "2024-10-10T01:01:59+02:00",
    "day": "2024-10-10",
    "deep_sleep_duration": 3060,
    "efficiency": 80,
    "latency": 930,
    "light_sleep_duration": 17160,
    "low_battery_alert": False,
    "lowest_heart_rate": 60,
    "period": 0,
    "readiness": {"score": 71, "temperature_deviation": -0.05, "temperature_trend_deviation": -0.03},
    "rem_sleep_duration": 3000,
    "sleep_phase_5_min": "4244211",
    "time_in_bed": 28933,
    "total_sleep_duration": 23220,
    "type": "long_sleep",
}
NAP = {
    **SLEEP,
    "id": "nap",
    "type": "sleep",
    "period": 1,
    "time_in_bed": 960,
    "heart_rate": None,
    "hrv": None,
    "average_hrv": None,
    "efficiency": 3,
}


def _one(records, table):
    [record] = [r for r in records if r.table == table]
    return record


def test_a_night_maps_to_sleep_stages_in_minutes_and_the_days_rmssd() -> None:
    records = normalize("sleep", [NAP, SLEEP])
    sleep = _one(records, "wearable_sleep").values
    assert sleep["sleep_date"] == date(2024, 10, 10)
    assert (sleep["total_sleep_minutes"], sleep["deep_minutes"], sleep["rem_minutes"], sleep["light_minutes"]) == (
        387,
        51,
        50,
        286,
    )
    assert sleep["awake_minutes"] == 95 and sleep["sleep_latency_minutes"] == 16
    assert sleep["sleep_efficiency_pct"] == 80 and sleep["avg_hr_bpm"] == 71 and sleep["min_hr_bpm"] == 60
    assert sleep["avg_hrv_ms"] == 38 and sleep["avg_respiratory_rate"] == 14.5
    assert sleep["avg_skin_temp_deviation_c"] == -0.05
    assert sleep["hypnogram"][:3] == ["awake", "light", "awake"]
    assert sleep["raw_data"]["sleep"]["id"] == SLEEP["id"]  # the nap is not the night
    daily = _one(records, "wearable_daily").values
    assert daily["hrv_rmssd_ms"] == 38 and daily["resting_hr_bpm"] == 60


def test_readiness_activity_and_spo2_fill_the_daily_row() -> None:
    readiness = normalize(
        "daily_readiness",
        [{"id": "r", "day": "2024-11-11", "score": 86, "temperature_deviation": 0.1, "contributors": {}}],
    )
    assert readiness[0].values["readiness_score"] == 86 and readiness[0].values["skin_temp_deviation_c"] == 0.1
    activity = normalize(
        "daily_activity",
        [
            {
                "id": "a",
                "day": "2024-11-11",
                "steps": 15185,
                "active_calories": 1153,
                "total_calories": 3502,
                "equivalent_walking_distance": 17850,
                "high_activity_time": 2460,
                "medium_activity_time": 4860,
                "low_activity_time": 18060,
            }
        ],
    )[0].values
    assert (activity["steps"], activity["active_calories_kcal"], activity["total_calories_kcal"]) == (15185, 1153, 3502)
    assert activity["distance_m"] == 17850
    assert activity["vigorous_intensity_minutes"] == 41 and activity["moderate_intensity_minutes"] == 81
    assert activity["active_minutes"] == 423
    spo2 = normalize(
        "daily_spo2",
        [{"id": "s", "day": "2024-11-11", "spo2_percentage": {"average": 98.072}, "breathing_disturbance_index": 15}],
    )
    assert _one(spo2, "wearable_daily").values["spo2_avg_pct"] == 98.072
    assert _one(spo2, "wearable_sleep").values["avg_spo2_pct"] == 98.072
    missing = normalize("daily_spo2", [{"id": "s", "day": "2024-11-12", "spo2_percentage": None}])
    assert _one(missing, "wearable_daily").values["spo2_avg_pct"] is None


def test_a_workout_and_personal_info_convert_their_units() -> None:
    [workout] = normalize(
        "workout",
        [
            {
                "id": "6fcc2eed",
                "activity": "walking",
                "calories": 87.868,
                "day": "2024-10-09",
                "distance": 269.87,
                "end_datetime": "2024-10-09T17:33:00+00:00",
                "intensity": "easy",
                "label": None,
                "source": "confirmed",
                "start_datetime": "2024-10-09T16:49:00+00:00",
            }
        ],
    )
    assert workout.values["activity_type"] == "walking" and workout.values["duration_seconds"] == 44 * 60
    assert workout.values["calories_kcal"] == 88 and workout.values["source_activity_id"] == "6fcc2eed"
    as_of = datetime(2026, 3, 1, 15, 30, tzinfo=UTC)
    info = normalize("personal_info", [{"id": "p", "age": 42, "weight": 90.2, "height": 1.8}], as_of=as_of)
    by_metric = {r.values["metric"]: r.values for r in info}
    assert by_metric["height"]["value"] == 180 and by_metric["height"]["unit"] == "cm"
    assert by_metric["weight"]["value"] == 90.2 and by_metric["weight"]["unit"] == "kg"
    assert by_metric["weight"]["measured_at"] == datetime(2026, 3, 1, tzinfo=UTC)  # once a day, however often read


def test_heart_rate_samples_become_the_days_maximum() -> None:
    samples = [
        {"bpm": 91, "source": "awake", "timestamp": "2024-12-13T12:31:21+00:00"},
        {"bpm": 142, "source": "workout", "timestamp": "2024-12-13T18:00:00+00:00"},
        {"bpm": 55, "source": "sleep", "timestamp": "2024-12-14T02:00:00+00:00"},
    ]
    rows = {r.day: r.values for r in normalize("heartrate", samples)}
    assert rows[date(2024, 12, 13)]["max_hr_bpm"] == 142 and rows[date(2024, 12, 14)]["max_hr_bpm"] == 55
    assert rows[date(2024, 12, 13)]["raw_data"]["heartrate"]["samples"] == 2


def test_an_impossible_value_is_dropped_and_named_never_stored() -> None:
    broken = {**SLEEP, "lowest_heart_rate": 4}
    records = normalize("sleep", [broken])
    sleep, daily = _one(records, "wearable_sleep"), _one(records, "wearable_daily")
    assert sleep.values["min_hr_bpm"] is None and sleep.refused == ("min_hr_bpm",)
    assert daily.values["resting_hr_bpm"] is None and daily.refused == ("resting_hr_bpm",)
    assert sleep.values["avg_hr_bpm"] == 71  # the rest of the night is kept
