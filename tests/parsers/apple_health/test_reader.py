"""The Apple Health reader on small exports whose right answers were worked out by hand."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta, timezone

import pytest
from lxml import etree

from parsers.apple_health import AppleHealthExport, DailySummary, Measurement, SleepNight, Workout
from tests.parsers.apple_health.exports import PHONE, WATCH, attrs, document, quantity, record, sleep, zipped


def read(data: bytes, **kw) -> tuple[list, AppleHealthExport]:
    export = AppleHealthExport(io.BytesIO(data), **kw)
    return list(export), export


def days(items: list) -> dict[date, DailySummary]:
    return {i.day: i for i in items if isinstance(i, DailySummary)}


OVERLAPPING_STEPS = (
    # Watch: 1,000 steps 08:00–08:10. iPhone: 600 steps 08:05–08:15, half of it under the Watch's
    # coverage, so 300 count. iPhone alone 09:00–09:10: 200. iPhone 23:50–00:10 across midnight: 400,
    # 200 on each day. Next day iPhone alone: 500.   10 March: 1000 + 300 + 200 + 200 = 1,700.
    #                                                   11 March: 200 + 500 = 700.
    quantity("StepCount", "2024-03-10 08:00:00 +0100", "2024-03-10 08:10:00 +0100", 1000, "count"),
    quantity("StepCount", "2024-03-10 08:05:00 +0100", "2024-03-10 08:15:00 +0100", 600, "count", source=PHONE),
    quantity("StepCount", "2024-03-10 09:00:00 +0100", "2024-03-10 09:10:00 +0100", 200, "count", source=PHONE),
    quantity("StepCount", "2024-03-10 23:50:00 +0100", "2024-03-11 00:10:00 +0100", 400, "count", source=PHONE),
    quantity("StepCount", "2024-03-11 12:00:00 +0100", "2024-03-11 12:30:00 +0100", 500, "count", source=PHONE),
    # Distance: the Watch's 800 m covers the iPhone's 0.5 km entirely; the iPhone's 0.25 mi at 09:00
    # stands alone (402.336 m).   10 March: 800 + 402 = 1,202 m.
    quantity("DistanceWalkingRunning", "2024-03-10 08:00:00 +0100", "2024-03-10 08:10:00 +0100", 0.8, "km"),
    quantity(
        "DistanceWalkingRunning", "2024-03-10 08:00:00 +0100", "2024-03-10 08:10:00 +0100", 0.5, "km", source=PHONE
    ),
    quantity(
        "DistanceWalkingRunning", "2024-03-10 09:00:00 +0100", "2024-03-10 09:10:00 +0100", 0.25, "mi", source=PHONE
    ),
)


def test_overlapping_iphone_and_watch_steps_count_once_as_the_health_app_shows() -> None:
    items, export = read(zipped(document(*OVERLAPPING_STEPS)))
    by_day = days(items)
    assert by_day[date(2024, 3, 10)].steps == 1700
    assert by_day[date(2024, 3, 11)].steps == 700
    assert by_day[date(2024, 3, 10)].distance_m == 1202
    assert export.report.produced["days"] == 2


def test_a_source_priority_given_by_the_person_overrides_the_default() -> None:
    # iPhone first: 08:00–08:15 is the iPhone's 600 plus the Watch's uncovered 08:00–08:05 (500).
    items, _ = read(zipped(document(*OVERLAPPING_STEPS)), source_priority=[PHONE["sourceName"]])
    assert days(items)[date(2024, 3, 10)].steps == 600 + 500 + 200 + 200


def test_energy_units_and_totals() -> None:
    items, _ = read(
        document(
            quantity("ActiveEnergyBurned", "2024-03-10 10:00:00 +0100", "2024-03-10 11:00:00 +0100", 418.4, "kJ"),
            quantity("BasalEnergyBurned", "2024-03-10 00:00:00 +0100", "2024-03-10 23:59:00 +0100", 1500, "Cal"),
            quantity("FlightsClimbed", "2024-03-10 10:00:00 +0100", "2024-03-10 10:05:00 +0100", 3, "count"),
        )
    )
    day = days(items)[date(2024, 3, 10)]
    assert (day.active_calories_kcal, day.total_calories_kcal, day.floors_climbed) == (100, 1600, 3)


def test_a_night_crossing_midnight_belongs_to_the_local_morning_it_ended() -> None:
    # Tokyo (+0900): the night ends 07:00 on 2 June locally, which is still 1 June in UTC.
    # Core 23:00–01:00 (120) + 03:15–07:00 (225) = 345, deep 01:00–02:00 (60), awake 02:00–02:15 (15),
    # REM 02:15–03:15 (60). Asleep 465 of 495 minutes in bed: 93.9 %.
    tz = "+0900"
    night = [
        sleep("InBed", f"2024-06-01 22:50:00 {tz}", f"2024-06-02 07:05:00 {tz}"),
        sleep("AsleepCore", f"2024-06-01 23:00:00 {tz}", f"2024-06-02 01:00:00 {tz}"),
        sleep("AsleepDeep", f"2024-06-02 01:00:00 {tz}", f"2024-06-02 02:00:00 {tz}"),
        sleep("Awake", f"2024-06-02 02:00:00 {tz}", f"2024-06-02 02:15:00 {tz}"),
        sleep("AsleepREM", f"2024-06-02 02:15:00 {tz}", f"2024-06-02 03:15:00 {tz}"),
        sleep("AsleepCore", f"2024-06-02 03:15:00 {tz}", f"2024-06-02 07:00:00 {tz}"),
        # The iPhone's bedtime: another source, never added to the Watch's stages.
        sleep("InBed", f"2024-06-01 22:30:00 {tz}", f"2024-06-02 07:30:00 {tz}", source=PHONE),
    ]
    items, _ = read(zipped(document(*night)))
    nights = [i for i in items if isinstance(i, SleepNight)]
    assert len(nights) == 1
    n = nights[0]
    tokyo = timezone(timedelta(hours=9))
    assert n.sleep_date == date(2024, 6, 2)
    assert n.sleep_start == datetime(2024, 6, 1, 23, 0, tzinfo=tokyo)
    assert n.sleep_end == datetime(2024, 6, 2, 7, 0, tzinfo=tokyo)
    assert (n.total_sleep_minutes, n.light_minutes, n.deep_minutes, n.rem_minutes, n.awake_minutes) == (
        465,
        345,
        60,
        60,
        15,
    )
    assert n.interruptions == 1
    assert n.sleep_efficiency_pct == 93.9
    assert n.source_name == WATCH["sourceName"]
    assert [h["stage"] for h in n.hypnogram] == ["core", "deep", "awake", "rem", "core"]


def test_a_workout_with_statistics_events_and_route() -> None:
    workout = (
        ' <Workout workoutActivityType="HKWorkoutActivityTypeRunning" duration="30.5" durationUnit="min" '
        f'{attrs(**WATCH)} creationDate="2024-03-10 18:31:00 +0100" startDate="2024-03-10 18:00:00 +0100" '
        'endDate="2024-03-10 18:30:30 +0100">\n'
        '  <MetadataEntry key="HKIndoorWorkout" value="0"/>\n'
        '  <MetadataEntry key="HKElevationAscended" value="4180 cm"/>\n'
        '  <WorkoutEvent type="HKWorkoutEventTypePause" date="2024-03-10 18:10:00 +0100"/>\n'
        '  <WorkoutStatistics type="HKQuantityTypeIdentifierHeartRate" startDate="2024-03-10 18:00:00 +0100" '
        'endDate="2024-03-10 18:30:30 +0100" average="150.4" minimum="95" maximum="178" unit="count/min"/>\n'
        '  <WorkoutStatistics type="HKQuantityTypeIdentifierActiveEnergyBurned" startDate="2024-03-10 18:00:00 +0100" '
        'endDate="2024-03-10 18:30:30 +0100" sum="300" unit="Cal"/>\n'
        '  <WorkoutStatistics type="HKQuantityTypeIdentifierDistanceWalkingRunning" '
        'startDate="2024-03-10 18:00:00 +0100" endDate="2024-03-10 18:30:30 +0100" sum="5" unit="km"/>\n'
        '  <WorkoutRoute sourceName="Watch" startDate="2024-03-10 18:00:00 +0100" '
        'endDate="2024-03-10 18:30:30 +0100">\n'
        '   <FileReference path="/workout-routes/route_2024-03-10_6.30pm.gpx"/>\n'
        "  </WorkoutRoute>\n"
        " </Workout>\n"
    )
    items, _ = read(zipped(document(workout)))
    (w,) = [i for i in items if isinstance(i, Workout)]
    assert (w.activity_type, w.activity_name, w.activity_date) == ("running", "Running", date(2024, 3, 10))
    # 30.5 min; 5 km; 300 kcal; 5 km in 1,830 s is 9.84 km/h and 366 s/km.
    assert (w.duration_seconds, w.distance_m, w.calories_kcal) == (1830, 5000.0, 300)
    assert (w.avg_hr_bpm, w.max_hr_bpm) == (150, 178)
    assert (w.avg_speed_kmh, w.avg_pace_sec_per_km, w.elevation_gain_m) == (9.84, 366.0, 41.8)
    assert w.raw["routes"] == ["/workout-routes/route_2024-03-10_6.30pm.gpx"]
    assert w.raw["events"] == [{"type": "Pause", "date": "2024-03-10 18:10:00 +0100"}]
    # The device's identity without the memory address HKDevice prints.
    assert w.raw["device"] == {
        "name": "Apple Watch",
        "manufacturer": "Apple Inc.",
        "model": "Watch",
        "hardware": "Watch6,12",
    }
    assert "0x" not in repr(w.raw)


BLOOD_PRESSURE = (
    ' <Correlation type="HKCorrelationTypeIdentifierBloodPressure" sourceName="Cuff" '
    'startDate="2024-03-10 08:00:00 -0700" endDate="2024-03-10 08:00:00 -0700">\n'
    + record("HKQuantityTypeIdentifierBloodPressureSystolic", "2024-03-10 08:00:00 -0700", value="118", unit="mmHg")
    + record("HKQuantityTypeIdentifierBloodPressureDiastolic", "2024-03-10 08:00:00 -0700", value="76", unit="mmHg")
    + " </Correlation>\n"
    # The same readings again at the top level, as Apple writes them.
    + record("HKQuantityTypeIdentifierBloodPressureSystolic", "2024-03-10 08:00:00 -0700", value="118", unit="mmHg")
    + record("HKQuantityTypeIdentifierBloodPressureDiastolic", "2024-03-10 08:00:00 -0700", value="76", unit="mmHg")
)


def test_a_blood_pressure_correlation_is_two_measurements_once() -> None:
    items, _ = read(
        zipped(document(BLOOD_PRESSURE, quantity("BodyMass", "2024-03-10 07:00:00 -0700", None, 165, "lb")))
    )
    found = sorted((m.metric, m.value, m.unit) for m in items if isinstance(m, Measurement))
    assert found == [
        ("blood_pressure_diastolic", 76.0, "mmHg"),
        ("blood_pressure_systolic", 118.0, "mmHg"),
        ("weight", 74.843, "kg"),  # 165 lb
    ]


# Apple's own BMI record: HealthKit stores BMI as a plain count.
APPLE_BMI = (
    ' <Record type="HKQuantityTypeIdentifierBodyMassIndex" sourceName="Health" unit="count" '
    'creationDate="2024-03-02 08:00:00 +0100" startDate="2024-03-02 08:00:00 +0100" '
    'endDate="2024-03-02 08:00:00 +0100" value="23.4"/>\n'
)


def test_apple_s_bmi_in_count_or_without_a_unit_is_kg_per_square_metre() -> None:
    items, export = read(
        document(
            APPLE_BMI,
            quantity("BodyMassIndex", "2024-03-03 08:00:00 +0100", None, 23.1, ""),
            # A count is kg/m2 only for BMI: a weight in "count" is still refused.
            quantity("BodyMass", "2024-03-03 08:00:00 +0100", None, 70, "count"),
        )
    )
    found = [(m.metric, m.value, m.unit, m.measured_at) for m in items if isinstance(m, Measurement)]
    assert found == [
        ("bmi", 23.4, "kg/m2", datetime(2024, 3, 2, 8, tzinfo=timezone(timedelta(hours=1)))),
        ("bmi", 23.1, "kg/m2", datetime(2024, 3, 3, 8, tzinfo=timezone(timedelta(hours=1)))),
    ]
    assert dict(export.report.skipped) == {"HKQuantityTypeIdentifierBodyMass: unit '1' is not a unit of weight": 1}


def test_sdnn_is_kept_as_sdnn_and_percent_fractions_become_percent() -> None:
    items, _ = read(
        document(
            quantity("HeartRateVariabilitySDNN", "2024-03-10 03:00:00 +0100", "2024-03-10 03:01:00 +0100", 40, "ms"),
            quantity("HeartRateVariabilitySDNN", "2024-03-10 09:00:00 +0100", "2024-03-10 09:01:00 +0100", 50, "ms"),
            quantity("OxygenSaturation", "2024-03-10 03:00:00 +0100", None, 0.97, "%"),
            quantity("OxygenSaturation", "2024-03-10 04:00:00 +0100", None, 0.93, "%"),
            quantity("RestingHeartRate", "2024-03-10 12:00:00 +0100", None, 52, "count/min"),
            quantity("HeartRate", "2024-03-10 12:00:00 +0100", None, 171, "count/min"),
            quantity("VO2Max", "2024-03-10 12:00:00 +0100", None, 44.3, "mL/min·kg"),
        )
    )
    day = days(items)[date(2024, 3, 10)]
    assert day.hrv_sdnn_ms == 45.0
    assert not hasattr(day, "hrv_rmssd_ms")
    assert (day.spo2_avg_pct, day.spo2_min_pct) == (95.0, 93.0)
    assert (day.resting_hr_bpm, day.max_hr_bpm, day.vo2_max_ml_kg_min) == (52, 171, 44.3)


def test_bad_dates_values_and_units_are_skipped_counted_and_reported() -> None:
    items, export = read(
        document(
            quantity("StepCount", "2024-02-30 08:00:00 +0100", "2024-02-30 08:10:00 +0100", 10, "count"),
            quantity("StepCount", "yesterday", "2024-03-10 08:10:00 +0100", 10, "count"),
            quantity("StepCount", "2024-03-10 08:00:00 +0100", "2024-03-10 08:10:00 +0100", "many", "count"),
            quantity("StepCount", "2024-03-10 08:00:00 +0100", "2024-03-10 08:10:00 +0100", "nan", "count"),
            quantity("HeartRate", "2024-03-10 08:00:00 +0100", None, 900, "count/min"),
            quantity("BodyMass", "2024-03-10 08:00:00 +0100", None, 70, "furlong"),
            quantity("StepCount", "2024-03-10 09:00:00 +0100", "2024-03-10 09:10:00 +0100", 42, "count"),
        )
    )
    assert days(items)[date(2024, 3, 10)].steps == 42
    skipped = export.report.skipped
    assert skipped["HKQuantityTypeIdentifierStepCount: invalid date"] == 2
    assert skipped["HKQuantityTypeIdentifierStepCount: value is not a number"] == 1
    assert skipped["HKQuantityTypeIdentifierStepCount: value is not a finite number"] == 1
    assert skipped["HKQuantityTypeIdentifierHeartRate: value out of range"] == 1
    assert skipped["HKQuantityTypeIdentifierBodyMass: unit 'furlong' is not a unit of weight"] == 1
    # Line numbers, so a person can find the record; never the value.
    assert export.report.as_dict()["skipped_lines"]["HKQuantityTypeIdentifierStepCount: invalid date"]
    assert "900" not in repr(export.report.as_dict())


def test_dates_with_digits_that_are_not_ascii_are_skipped_not_fatal() -> None:
    items, export = read(
        document(
            quantity("StepCount", "2024-03-10 ²8:00:00 +0100", "2024-03-10 08:10:00 +0100", 10, "count"),
            quantity("StepCount", "2024-03-10 08:00:00 +01²0", "2024-03-10 08:10:00 +0100", 10, "count"),
            quantity("StepCount", "2024-03-10 0a:00:00 +0100", "2024-03-10 08:10:00 +0100", 10, "count"),
            quantity("StepCount", "2024-03-10 08:00:0² +0100", "2024-03-10 08:10:00 +0100", 10, "count"),
            quantity("StepCount", "2024-03-10 09:00:00 +0100", "2024-03-10 09:10:00 +0100", 42, "count"),
        )
    )
    assert days(items)[date(2024, 3, 10)].steps == 42
    assert export.report.skipped["HKQuantityTypeIdentifierStepCount: invalid date"] == 4


def test_a_bare_export_xml_is_read_too() -> None:
    items, _ = read(document(*OVERLAPPING_STEPS))
    assert days(items)[date(2024, 3, 10)].steps == 1700


def test_progress_reports_records_and_bytes() -> None:
    seen = []
    data = zipped(document(*OVERLAPPING_STEPS))
    list(AppleHealthExport(io.BytesIO(data), progress=lambda *a: seen.append(a), progress_every=2))
    assert [s[0] for s in seen][:3] == [2, 4, 6]
    assert seen[-1][0] == len(OVERLAPPING_STEPS)
    assert seen[-1][1] == seen[-1][2] > 0  # all of export.xml read, of the size the zip declared


def test_the_tree_is_not_kept_while_reading() -> None:
    body = [
        quantity("HeartRate", f"2024-03-10 {h:02d}:{m:02d}:00 +0100", None, 60 + m % 20, "count/min")
        for h in range(24)
        for m in range(60)
    ]
    export = AppleHealthExport(io.BytesIO(document(*body)))
    # Look at the tree from inside the pass: the root holds the parser's read-ahead (one buffer of
    # elements), never what was already read.
    root_sizes = []
    original = export._record

    def spy(elem):
        root_sizes.append(len(elem.getparent()))
        return original(elem)

    export._record = spy
    list(export)
    assert len(root_sizes) == 24 * 60
    assert max(root_sizes) < 24 * 60 / 4
    assert root_sizes[-1] <= 2


def test_strict_parsers_really_fail_on_the_ios16_fixture() -> None:
    from tests.parsers.apple_health.test_hostile import IOS16_DTD

    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(document(quantity("StepCount", "2024-03-10 08:00:00 +0100", None, 1, "count"), dtd=IOS16_DTD))


def test_a_nap_ending_the_same_day_is_not_taken_for_the_night() -> None:
    night = [
        sleep("AsleepCore", "2024-06-01 23:00:00 +0200", "2024-06-02 06:00:00 +0200"),
        sleep("AsleepCore", "2024-06-02 14:00:00 +0200", "2024-06-02 14:40:00 +0200"),
    ]
    items, _ = read(document(*night))
    (n,) = [i for i in items if isinstance(i, SleepNight)]
    assert (n.total_sleep_minutes, n.sleep_end.hour) == (420, 6)
