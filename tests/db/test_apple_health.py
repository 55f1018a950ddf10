"""Importing Apple Health exports into PostgreSQL: what a person sees stored, and re-runs that change nothing."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from db.apple_health import import_apple_health
from db.engine import user_scope
from db.models import Measurement, User, WearableActivity, WearableDaily, WearableSleep
from tests.parsers.apple_health.exports import PHONE, document, quantity, sleep, zipped
from tests.parsers.apple_health.test_reader import APPLE_BMI, BLOOD_PRESSURE, OVERLAPPING_STEPS


def export(*extra: str) -> bytes:
    night = (
        sleep("AsleepCore", "2024-03-09 23:30:00 +0100", "2024-03-10 03:00:00 +0100"),
        sleep("AsleepDeep", "2024-03-10 03:00:00 +0100", "2024-03-10 04:00:00 +0100"),
    )
    workout = (
        ' <Workout workoutActivityType="HKWorkoutActivityTypeCycling" duration="60" durationUnit="min" '
        'totalDistance="20" totalDistanceUnit="km" totalEnergyBurned="500" totalEnergyBurnedUnit="kcal" '
        'sourceName="W" startDate="2024-03-10 17:00:00 +0100" endDate="2024-03-10 18:00:00 +0100"/>\n'
    )
    hrv = (
        quantity("HeartRateVariabilitySDNN", "2024-03-10 03:00:00 +0100", "2024-03-10 03:01:00 +0100", 40, "ms"),
        quantity("HeartRateVariabilitySDNN", "2024-03-10 09:00:00 +0100", "2024-03-10 09:01:00 +0100", 51, "ms"),
    )
    return zipped(document(*OVERLAPPING_STEPS, *night, workout, *hrv, BLOOD_PRESSURE, *extra))


def stored(user_id) -> dict:
    with user_scope(user_id) as session:

        def rows(model, *order):
            return [
                {
                    c.name: getattr(r, c.name)
                    for c in model.__table__.columns
                    if c.name not in ("created_at", "updated_at")
                }
                for r in session.scalars(select(model).order_by(*order))
            ]

        return {
            "daily": rows(WearableDaily, WearableDaily.date),
            "sleep": rows(WearableSleep, WearableSleep.sleep_date),
            "activities": rows(WearableActivity, WearableActivity.start_time),
            "measurements": rows(Measurement, Measurement.metric),
            "user": rows(User),
        }


def test_an_export_lands_in_the_wearable_tables_and_measurements(committed_users) -> None:
    user, _ = committed_users
    result = import_apple_health(io.BytesIO(export()), user)
    data = stored(user)
    daily = {d["date"]: d for d in data["daily"]}
    assert daily[date(2024, 3, 10)]["steps"] == 1700 and daily[date(2024, 3, 11)]["steps"] == 700
    # SDNN as SDNN: the mean of 40 and 51 ms, and nothing in the RMSSD column.
    assert daily[date(2024, 3, 10)]["hrv_sdnn_ms"] == Decimal("45.50")
    assert all(d["hrv_rmssd_ms"] is None for d in data["daily"])
    (night,) = data["sleep"]
    assert (night["sleep_date"], night["total_sleep_minutes"], night["deep_minutes"]) == (date(2024, 3, 10), 270, 60)
    (ride,) = data["activities"]
    assert (ride["activity_type"], ride["distance_m"], ride["calories_kcal"]) == ("cycling", Decimal("20000.00"), 500)
    assert sorted((m["metric"], m["value"]) for m in data["measurements"]) == [
        ("blood_pressure_diastolic", Decimal("76.000")),
        ("blood_pressure_systolic", Decimal("118.000")),
    ]
    assert all(d["source"] == "apple_health" for d in data["daily"])
    # The person had no date of birth or sex: the export's are taken.
    assert (data["user"][0]["date_of_birth"], data["user"][0]["biological_sex"]) == (date(1985, 6, 2), "female")
    assert result.written["wearable_daily"].inserted == 2


def test_apple_s_bmi_in_count_is_stored_as_kg_per_square_metre(committed_users) -> None:
    user, _ = committed_users
    result = import_apple_health(io.BytesIO(zipped(document(APPLE_BMI))), user)
    (bmi,) = stored(user)["measurements"]
    assert (bmi["metric"], bmi["value"], bmi["unit"]) == ("bmi", Decimal("23.400"), "kg/m2")
    assert not result.report.skipped


def test_importing_the_same_file_twice_changes_nothing(committed_users) -> None:
    user, _ = committed_users
    data = export()
    import_apple_health(io.BytesIO(data), user)
    before = stored(user)
    again = import_apple_health(io.BytesIO(data), user)
    assert stored(user) == before
    for stats in again.written.values():
        assert (stats.inserted, stats.updated) == (0, 0)


def test_a_newer_export_writes_only_what_changed(committed_users) -> None:
    user, _ = committed_users
    import_apple_health(io.BytesIO(export()), user)
    extra = quantity("StepCount", "2024-03-11 18:00:00 +0100", "2024-03-11 18:10:00 +0100", 50, "count", source=PHONE)
    newer = import_apple_health(io.BytesIO(export(extra)), user)
    assert newer.written["wearable_daily"].as_dict() == {"inserted": 0, "updated": 1, "unchanged": 1}
    assert newer.written["measurements"].updated == 0 and newer.written["wearable_sleep"].updated == 0
    daily = {d["date"]: d["steps"] for d in stored(user)["daily"]}
    assert daily[date(2024, 3, 11)] == 750


def test_a_person_s_own_date_of_birth_is_kept(committed_users) -> None:
    user, _ = committed_users
    with user_scope(user) as session:
        session.get(User, user).date_of_birth = date(1990, 1, 1)
    result = import_apple_health(io.BytesIO(export()), user)
    assert stored(user)["user"][0]["date_of_birth"] == date(1990, 1, 1)
    assert result.profile_updated == ["biological_sex"]


def test_a_failure_midway_keeps_whole_batches_and_a_rerun_completes(committed_users) -> None:
    user, _ = committed_users
    body = [quantity("BodyMass", f"2024-03-{d:02d} 07:00:00 +0100", None, 70 + d / 10, "kg") for d in range(1, 29)] + [
        "<Record broken"
    ]  # the file is cut short after the measurements
    with pytest.raises(ValueError, match="ends early"):
        import_apple_health(io.BytesIO(zipped(document(*body)[:-20])), user, batch_size=5)
    kept = stored(user)["measurements"]
    assert len(kept) % 5 == 0 and len(kept) >= 25  # whole batches only, and no daily totals
    assert stored(user)["daily"] == []
    complete = zipped(document(*body[:-1]))
    import_apple_health(io.BytesIO(complete), user, batch_size=5)
    assert len(stored(user)["measurements"]) == 28


def test_values_the_schema_refuses_are_dropped_and_counted_not_fatal(committed_users) -> None:
    user, _ = committed_users
    # 150,000 steps in a day is past the §6 range: the day is kept without its step count.
    result = import_apple_health(
        io.BytesIO(
            zipped(
                document(
                    quantity("StepCount", "2024-03-10 08:00:00 +0100", "2024-03-10 20:00:00 +0100", 150000, "count"),
                    quantity("RestingHeartRate", "2024-03-10 08:00:00 +0100", None, 55, "count/min"),
                )
            )
        ),
        user,
    )
    (day,) = stored(user)["daily"]
    assert (day["steps"], day["resting_hr_bpm"]) == (None, 55)
    assert result.report.skipped["daily steps: value out of range"] == 1


def test_progress_reaches_the_whole_file(committed_users) -> None:
    user, _ = committed_users
    seen = []
    import_apple_health(io.BytesIO(export()), user, progress=seen.append, batch_size=1, progress_every=2)
    last = seen[-1]
    assert last.bytes_read == last.bytes_total > 0 and last.fraction == 1.0
    # 8 step and distance samples, 2 sleep segments, 1 ride, 2 HRV, the pressure reading and its 2 copies;
    # rows: 2 days, 1 night, 1 ride, 2 readings.
    assert (last.records_read, last.rows_written) == (16, 6)
    for field in ("records_read", "rows_written", "bytes_read"):
        values = [getattr(p, field) for p in seen]
        assert values == sorted(values), field
    # Progress moves while the file is still being read, not only when rows are written.
    assert any(p.rows_written == 0 and p.records_read > 0 for p in seen)


def _push_the_exports_ride(user) -> dict:
    """The export's bike ride (W, 17:00 +0100) as the iOS app pushes it: its own id, no source."""
    from datetime import UTC, datetime

    from db.apple_health import write_records
    from parsers.apple_health.push import push_records

    body = (
        b'{"data": {"workouts": [{"id": "0C0FFEE0-0000-4000-8000-000000000001", "name": "Cycling",'
        b' "start": "2024-03-10 17:00:00 +0100", "end": "2024-03-10 18:00:00 +0100",'
        b' "distance": {"qty": 20, "units": "km"}}]}}'
    )
    records = push_records(body, datetime(2024, 3, 12, tzinfo=UTC))
    return write_records(records.items, user, records.report, omit=records.omit).as_dict()


def test_a_workout_both_exported_and_pushed_is_one_row_the_exports(committed_users) -> None:
    user, _ = committed_users
    import_apple_health(io.BytesIO(export()), user)

    pushed = _push_the_exports_ride(user)

    assert pushed["workouts_already_exported"] == 1
    assert pushed["written"]["wearable_activities"] == {"inserted": 0, "updated": 0, "unchanged": 0}
    rides = stored(user)["activities"]
    assert [(r["raw_data"]["source_name"], r["distance_m"]) for r in rides] == [("W", Decimal("20000.00"))]


def test_an_export_replaces_the_pushed_row_of_the_same_workout(committed_users) -> None:
    user, _ = committed_users
    assert _push_the_exports_ride(user)["written"]["wearable_activities"]["inserted"] == 1
    assert "push_id" in stored(user)["activities"][0]["raw_data"]

    import_apple_health(io.BytesIO(export()), user)
    again = import_apple_health(io.BytesIO(export()), user)

    rides = stored(user)["activities"]
    assert [(r["raw_data"]["source_name"], r["duration_seconds"]) for r in rides] == [("W", 3600)]
    assert again.written["wearable_activities"].as_dict() == {"inserted": 0, "updated": 0, "unchanged": 1}
    # A later push of the same ride finds the export's row and leaves it alone.
    assert _push_the_exports_ride(user)["workouts_already_exported"] == 1
    assert len(stored(user)["activities"]) == 1
