"""The wearable metric catalog: complete against the schema, and strict about what a value means."""

from __future__ import annotations

import pytest

from db.models.enums import MeasurementMetric
from db.validation import RANGES
from parsers.vocabulary.dictionary import load_dictionary
from parsers.vocabulary.metrics import METRICS, get_metric, normalize_metric_value
from parsers.vocabulary.units import UnitError, normalize_unit

# The metric columns of seed 003 §2.3, written out from the seed (keys, ids, timestamps, JSON and free
# text left out), plus hrv_sdnn_ms, added so that Apple Health's SDNN has a column that is not RMSSD.
SEED_COLUMNS = {
    "wearable_daily": [
        "resting_hr_bpm",
        "max_hr_bpm",
        "hrv_rmssd_ms",
        "hrv_sdnn_ms",
        "steps",
        "active_calories_kcal",
        "total_calories_kcal",
        "active_minutes",
        "moderate_intensity_minutes",
        "vigorous_intensity_minutes",
        "distance_m",
        "floors_climbed",
        "spo2_avg_pct",
        "spo2_min_pct",
        "respiratory_rate_avg",
        "stress_avg",
        "body_battery_start",
        "body_battery_end",
        "readiness_score",
        "recovery_score",
        "skin_temp_deviation_c",
        "vo2_max_ml_kg_min",
    ],
    "wearable_sleep": [
        "total_sleep_minutes",
        "rem_minutes",
        "deep_minutes",
        "light_minutes",
        "awake_minutes",
        "sleep_latency_minutes",
        "sleep_efficiency_pct",
        "sleep_score",
        "interruptions",
        "avg_hr_bpm",
        "min_hr_bpm",
        "avg_hrv_ms",
        "avg_respiratory_rate",
        "avg_spo2_pct",
        "avg_skin_temp_deviation_c",
    ],
    "wearable_activities": [
        "duration_seconds",
        "distance_m",
        "calories_kcal",
        "avg_hr_bpm",
        "max_hr_bpm",
        "hr_zone_1_seconds",
        "hr_zone_2_seconds",
        "hr_zone_3_seconds",
        "hr_zone_4_seconds",
        "hr_zone_5_seconds",
        "avg_pace_sec_per_km",
        "avg_speed_kmh",
        "elevation_gain_m",
        "avg_power_watts",
        "normalized_power_watts",
        "training_stress_score",
        "training_effect_aerobic",
        "training_effect_anaerobic",
        "vo2_max_ml_kg_min",
    ],
}


def test_every_wearable_column_has_exactly_one_entry() -> None:
    catalogued = sorted((m.table, m.column) for m in METRICS.values() if m.kind != "measurement")
    expected = sorted((table, column) for table, columns in SEED_COLUMNS.items() for column in columns)
    assert catalogued == expected
    for metric in METRICS.values():
        if metric.column:
            assert metric.key == f"{metric.table}.{metric.column}"


def test_measurement_keys_are_the_measurement_metric_enum() -> None:
    measurement_keys = {m.key for m in METRICS.values() if m.kind == "measurement"}
    assert measurement_keys == {member.value for member in MeasurementMetric}
    assert all(m.table == "measurements" and m.column is None for m in METRICS.values() if m.kind == "measurement")


def test_ranges_agree_with_the_database_checks() -> None:
    # The same §6 numbers are CHECK constraints in the schema; a value the catalog accepts must store.
    for metric in METRICS.values():
        bounds = RANGES.get((metric.table, metric.column or ""))
        if bounds is not None:
            assert metric.valid_range == pytest.approx(bounds), metric.key


def test_every_entry_is_complete_and_uses_canonical_unit_spellings() -> None:
    for metric in METRICS.values():
        assert metric.display_name and metric.description, metric.key
        assert normalize_unit(metric.canonical_unit) == metric.canonical_unit, metric.key
        if metric.valid_range is not None:
            assert metric.valid_range[0] < metric.valid_range[1], metric.key


def test_rmssd_and_sdnn_are_distinct_and_never_share_a_column() -> None:
    sdnn = [get_metric("hrv_sdnn"), get_metric("wearable_daily.hrv_sdnn_ms")]
    rmssd = [get_metric("wearable_daily.hrv_rmssd_ms"), get_metric("wearable_sleep.avg_hrv_ms")]
    assert sdnn[0].table == "measurements" and sdnn[0].column is None
    for metric in rmssd:
        assert "RMSSD" in metric.display_name and "SDNN" in metric.notes
        assert all(metric.column != s.column for s in sdnn)
    for metric in sdnn:
        assert "SDNN" in metric.display_name and "RMSSD" not in metric.display_name
    # Every HRV entry is one statistic or the other.
    hrv = [m for m in METRICS.values() if "hrv" in m.key]
    assert {m.key for m in hrv} == {*(m.key for m in sdnn), *(m.key for m in rmssd)}
    # A unit conversion never turns one into the other: both are milliseconds and stay as given.
    assert normalize_metric_value("hrv_sdnn", 48.0, "ms") == 48.0
    assert normalize_metric_value("wearable_daily.hrv_rmssd_ms", 0.048, "s") == pytest.approx(48.0)


@pytest.mark.parametrize(
    ("key", "fraction"),
    [
        ("wearable_daily.spo2_avg_pct", 0.96),
        ("wearable_daily.spo2_min_pct", 0.89),
        ("wearable_sleep.avg_spo2_pct", 0.95),
        ("spo2", 0.97),
        ("body_fat_pct", 0.235),
    ],
)
def test_fraction_becomes_percent_only_when_the_unit_says_so(key: str, fraction: float) -> None:
    percent = fraction * 100
    assert normalize_metric_value(key, fraction, "fraction") == pytest.approx(percent)
    assert normalize_metric_value(key, fraction, "1") == pytest.approx(percent)
    assert normalize_metric_value(key, percent, "%") == percent
    # The magnitude alone never decides: a fraction-sized value stated as a percent is refused.
    with pytest.raises(ValueError, match="outside the allowed range"):
        normalize_metric_value(key, fraction, "%")


def test_weight_in_pounds_is_stored_in_kilograms() -> None:
    assert normalize_metric_value("weight", 180.0, "lbs") == pytest.approx(81.6466266)
    assert normalize_metric_value("weight", 81.6, "kg") == 81.6
    assert normalize_metric_value("weight", 20.0, "lb") == pytest.approx(9.0718474)  # §6's lower bound
    with pytest.raises(ValueError, match=r"weight.*\(given as 19\.9 lb\).*9\.07185–453\.592 kg"):
        normalize_metric_value("weight", 19.9, "lb")


@pytest.mark.parametrize(
    ("key", "value", "unit", "message"),
    [
        ("wearable_daily.resting_hr_bpm", 12.0, "bpm", r"wearable_daily\.resting_hr_bpm: 12 /min .* 20–300 /min"),
        ("wearable_daily.hrv_rmssd_ms", 450.0, "ms", r"wearable_daily\.hrv_rmssd_ms: 450 ms .* 1–300 ms"),
        ("wearable_daily.steps", 150_000, "steps", r"wearable_daily\.steps: 150000 1 .* 0–100000 1"),
        ("wearable_sleep.sleep_score", 101, "1", r"wearable_sleep\.sleep_score: 101 .* 0–100"),
        ("wearable_activities.training_effect_aerobic", 5.5, "1", r"training_effect_aerobic: 5\.5 .* 0–5"),
        ("body_temperature", 115.0, "°F", r"measurements\[body_temperature\]: 46\.1111 degC \(given as 115 °F\)"),
    ],
)
def test_out_of_range_values_name_the_field_and_the_range(key: str, value: float, unit: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        normalize_metric_value(key, value, unit)


def test_units_convert_to_the_canonical_unit() -> None:
    assert normalize_metric_value("wearable_daily.distance_m", 3.1, "mi") == pytest.approx(4988.9664)
    assert normalize_metric_value("wearable_daily.active_calories_kcal", 2092.0, "kJ") == pytest.approx(500.0)
    assert normalize_metric_value("wearable_activities.avg_pace_sec_per_km", 8.0, "min/mi") == pytest.approx(
        298.258, rel=1e-5
    )
    assert normalize_metric_value("height", 70.0, "in") == pytest.approx(177.8)
    assert normalize_metric_value("body_temperature", 98.6, "°F") == pytest.approx(37.0)


def test_a_temperature_deviation_converts_without_the_offset() -> None:
    assert normalize_metric_value("wearable_daily.skin_temp_deviation_c", 0.9, "°F") == pytest.approx(0.5)
    assert normalize_metric_value("wearable_sleep.avg_skin_temp_deviation_c", -0.3, "°C") == pytest.approx(-0.3)


def test_meter_glucose_is_comparable_with_lab_glucose() -> None:
    assert get_metric("blood_glucose").canonical_unit == load_dictionary().get("glucose").canonical_unit
    assert normalize_metric_value("blood_glucose", 5.5, "mmol/L") == pytest.approx(99.09, rel=1e-3)


def test_bad_input_is_refused_clearly() -> None:
    with pytest.raises(KeyError, match="no metric 'hrv'"):
        get_metric("hrv")
    with pytest.raises(UnitError, match=r"wearable_daily\.steps: kg \(mass\) cannot be converted"):
        normalize_metric_value("wearable_daily.steps", 10.0, "kg")
    with pytest.raises(ValueError, match=r"resting_hr_bpm.*not a finite number"):
        normalize_metric_value("wearable_daily.resting_hr_bpm", float("nan"), "bpm")
