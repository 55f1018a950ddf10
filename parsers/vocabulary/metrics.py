"""The wearable and body-measurement metric catalog: what each stored number means, and its unit.

One entry per canonical metric. Wearable metrics are columns of ``wearable_daily``, ``wearable_sleep``
and ``wearable_activities`` and are keyed ``"<table>.<column>"``. Body measurements are rows of the
``measurements`` table, keyed by the value of its ``metric`` column (``"weight"``, ``"hrv_sdnn"``), so
their entries have ``column=None``.

Two metrics that look alike are never the same metric. HRV is the example that matters: Apple Health
reports SDNN, Oura and Whoop report RMSSD; the two are different statistics of the same beat-to-beat
intervals with no conversion between them. A day's SDNN has its own column (``wearable_daily.hrv_sdnn_ms``)
and a single reading is the body measurement ``hrv_sdnn``; neither ever lands in ``hrv_rmssd_ms`` or
``avg_hrv_ms``.

`normalize_metric_value` turns a provider's value into the canonical unit and checks the range. The
connector always states the unit: SpO2 and body fat arrive as a fraction (0.97) from some providers
and as a percent (97) from others, and a value is read as a fraction only when its unit says
``"fraction"`` or ``"1"``. Never guess from the magnitude: a body fat of 0.9 % and an SpO2 reading
just under 1 are both possible bad readings that a magnitude rule would silently multiply by 100.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from parsers.vocabulary.dictionary import load_dictionary
from parsers.vocabulary.units import UnitError, convert, normalize_unit

__all__ = ["METRICS", "Metric", "MetricKind", "get_metric", "normalize_metric_value"]

MetricKind = Literal["daily", "sleep", "activity", "measurement"]

# The pound is defined as exactly 0.45359237 kg.
_KG_PER_LB = 0.45359237


@dataclass(frozen=True, slots=True)
class Metric:
    key: str
    display_name: str
    canonical_unit: str  # a `units.normalize_unit` spelling
    table: str
    column: str | None  # None: a `measurements` row whose `metric` is `key`
    kind: MetricKind
    valid_range: tuple[float, float] | None  # inclusive, in canonical_unit
    description: str
    notes: str = ""
    # The biomarker whose chemistry converts this metric's units (a meter's mmol/L glucose needs the
    # molar mass of glucose from the biomarker dictionary).
    marker: str | None = None


_TABLES: dict[MetricKind, str] = {
    "daily": "wearable_daily",
    "sleep": "wearable_sleep",
    "activity": "wearable_activities",
    "measurement": "measurements",
}


def _column(
    kind: MetricKind,
    column: str,
    display_name: str,
    unit: str,
    valid_range: tuple[float, float] | None,
    description: str,
    notes: str = "",
) -> Metric:
    table = _TABLES[kind]
    return Metric(f"{table}.{column}", display_name, unit, table, column, kind, valid_range, description, notes)


def _measurement(
    key: str,
    display_name: str,
    unit: str,
    valid_range: tuple[float, float] | None,
    description: str,
    notes: str = "",
    marker: str | None = None,
) -> Metric:
    return Metric(key, display_name, unit, "measurements", None, "measurement", valid_range, description, notes, marker)


_HR = (20.0, 300.0)  # seed 003 §6, resting heart rate; no heart rate outside it is a real reading
_RMSSD = (1.0, 300.0)  # seed 003 §6
_SDNN = (1.0, 500.0)  # SDNN includes slower variation than RMSSD and runs higher
_SCORE = (0.0, 100.0)
_DAY_MINUTES = (0.0, 1440.0)
_SKIN_TEMP_DEVIATION = (-10.0, 10.0)
_VO2_MAX = (10.0, 100.0)
_RESPIRATORY_RATE = (4.0, 60.0)
_RMSSD_NOTE = (
    "RMSSD, as Oura, Whoop and Garmin report it. Apple Health's HRV is SDNN, a different statistic: it "
    "goes to hrv_sdnn_ms or the measurement hrv_sdnn, never here."
)

_CATALOG: tuple[Metric, ...] = (
    # --- wearable_daily -----------------------------------------------------------------------------
    _column("daily", "resting_hr_bpm", "Resting heart rate", "/min", _HR, "Lowest sustained heart rate of the day."),
    _column("daily", "max_hr_bpm", "Maximum heart rate", "/min", _HR, "Highest heart rate recorded that day."),
    _column(
        "daily",
        "hrv_rmssd_ms",
        "HRV (RMSSD)",
        "ms",
        _RMSSD,
        "Heart rate variability as the root mean square of successive RR differences, usually measured overnight.",
        _RMSSD_NOTE,
    ),
    _column(
        "daily",
        "hrv_sdnn_ms",
        "HRV (SDNN)",
        "ms",
        _SDNN,
        "Heart rate variability as the standard deviation of normal-to-normal intervals; the day's mean.",
        "Apple Health's HRV. Not RMSSD, never converted to it, never compared with hrv_rmssd_ms.",
    ),
    _column("daily", "steps", "Steps", "1", (0.0, 100_000.0), "Steps counted over the day."),  # seed 003 §6
    _column(
        "daily",
        "active_calories_kcal",
        "Active calories",
        "kcal",
        (0.0, 10_000.0),
        "Energy spent above resting metabolism.",
    ),
    _column(
        "daily",
        "total_calories_kcal",
        "Total calories",
        "kcal",
        (0.0, 20_000.0),
        "Resting plus active energy expenditure.",
    ),
    _column("daily", "active_minutes", "Active minutes", "min", _DAY_MINUTES, "Minutes of activity of any intensity."),
    _column(
        "daily",
        "moderate_intensity_minutes",
        "Moderate-intensity minutes",
        "min",
        _DAY_MINUTES,
        "Minutes at moderate intensity (about 3–6 METs).",
    ),
    _column(
        "daily",
        "vigorous_intensity_minutes",
        "Vigorous-intensity minutes",
        "min",
        _DAY_MINUTES,
        "Minutes at vigorous intensity (above about 6 METs).",
        "Garmin counts each vigorous minute twice in its intensity-minute total; store the raw minutes.",
    ),
    _column("daily", "distance_m", "Distance", "m", (0.0, 500_000.0), "Distance covered over the day."),
    _column(
        "daily",
        "floors_climbed",
        "Floors climbed",
        "1",
        (0.0, 1_000.0),
        "Floors climbed (about 3 m of ascent each).",
        "Garmin and Apple only.",
    ),
    _column(
        "daily",
        "spo2_avg_pct",
        "SpO2 (average)",
        "%",
        (70.0, 100.0),  # seed 003 §6
        "Average blood oxygen saturation, usually overnight.",
        "Some providers send a fraction (0.97): the connector passes unit 'fraction'.",
    ),
    _column(
        "daily",
        "spo2_min_pct",
        "SpO2 (minimum)",
        "%",
        (50.0, 100.0),
        "Lowest blood oxygen saturation.",
        "Some providers send a fraction (0.97): the connector passes unit 'fraction'.",
    ),
    _column(
        "daily",
        "respiratory_rate_avg",
        "Respiratory rate",
        "/min",
        _RESPIRATORY_RATE,
        "Average breaths per minute, usually during sleep.",
    ),
    _column(
        "daily",
        "stress_avg",
        "Stress (average)",
        "1",
        _SCORE,
        "Provider stress score, 0–100.",
        "A provider scale, not comparable across sources.",
    ),
    _column(
        "daily",
        "body_battery_start",
        "Body Battery (start of day)",
        "1",
        _SCORE,
        "Garmin energy reserve estimate at the start of the day, 0–100.",
    ),
    _column(
        "daily",
        "body_battery_end",
        "Body Battery (end of day)",
        "1",
        _SCORE,
        "Garmin energy reserve estimate at the end of the day, 0–100.",
    ),
    _column(
        "daily",
        "readiness_score",
        "Readiness score",
        "1",
        _SCORE,
        "Oura or Whoop readiness score, 0–100.",
        "A provider scale, not comparable across sources.",
    ),
    _column("daily", "recovery_score", "Recovery score", "1", _SCORE, "Whoop recovery score, 0–100."),
    _column(
        "daily",
        "skin_temp_deviation_c",
        "Skin temperature deviation",
        "delta_degC",
        _SKIN_TEMP_DEVIATION,
        "Deviation of night-time skin temperature from the person's own baseline.",
        "A difference: a deviation given in °F is multiplied by 5/9 with no offset.",
    ),
    _column(
        "daily",
        "vo2_max_ml_kg_min",
        "VO2 max",
        "mL/kg/min",
        _VO2_MAX,
        "Estimated maximal oxygen uptake, if measured that day.",
    ),
    # --- wearable_sleep -----------------------------------------------------------------------------
    _column("sleep", "total_sleep_minutes", "Total sleep", "min", _DAY_MINUTES, "Time asleep (light + deep + REM)."),
    _column("sleep", "rem_minutes", "REM sleep", "min", _DAY_MINUTES, "Time in REM sleep."),
    _column("sleep", "deep_minutes", "Deep sleep", "min", _DAY_MINUTES, "Time in deep (slow-wave) sleep."),
    _column("sleep", "light_minutes", "Light sleep", "min", _DAY_MINUTES, "Time in light sleep."),
    _column("sleep", "awake_minutes", "Awake time", "min", _DAY_MINUTES, "Time awake between sleep start and end."),
    _column("sleep", "sleep_latency_minutes", "Sleep latency", "min", (0.0, 720.0), "Minutes to fall asleep."),
    _column(
        "sleep",
        "sleep_efficiency_pct",
        "Sleep efficiency",
        "%",
        (0.0, 100.0),
        "Share of time in bed spent asleep.",
        "Some providers send a fraction: unit 'fraction'.",
    ),
    _column(
        "sleep",
        "sleep_score",
        "Sleep score",
        "1",
        _SCORE,
        "Provider sleep score, 0–100.",
        "A provider scale, not comparable across sources.",
    ),
    _column("sleep", "interruptions", "Interruptions", "1", (0.0, 500.0), "Wake events during the night."),
    _column("sleep", "avg_hr_bpm", "Sleeping heart rate (average)", "/min", _HR, "Average heart rate asleep."),
    _column("sleep", "min_hr_bpm", "Sleeping heart rate (minimum)", "/min", _HR, "Lowest heart rate asleep."),
    _column(
        "sleep",
        "avg_hrv_ms",
        "Sleeping HRV (RMSSD)",
        "ms",
        _RMSSD,
        "Average heart rate variability asleep.",
        _RMSSD_NOTE,
    ),
    _column(
        "sleep",
        "avg_respiratory_rate",
        "Sleeping respiratory rate",
        "/min",
        _RESPIRATORY_RATE,
        "Average breaths per minute asleep.",
    ),
    _column(
        "sleep",
        "avg_spo2_pct",
        "Sleeping SpO2 (average)",
        "%",
        (70.0, 100.0),
        "Average blood oxygen saturation asleep.",
        "Some providers send a fraction: unit 'fraction'.",
    ),
    _column(
        "sleep",
        "avg_skin_temp_deviation_c",
        "Sleeping skin temperature deviation",
        "delta_degC",
        _SKIN_TEMP_DEVIATION,
        "Deviation of skin temperature asleep from the person's baseline.",
        "A difference: a deviation given in °F is multiplied by 5/9 with no offset.",
    ),
    # --- wearable_activities ------------------------------------------------------------------------
    _column(
        "activity",
        "duration_seconds",
        "Duration",
        "s",
        (0.0, 604_800.0),
        "Elapsed time of the activity.",
        "Up to a week, for multi-day events recorded as one activity.",
    ),
    _column("activity", "distance_m", "Distance", "m", (0.0, 1_000_000.0), "Distance covered in the activity."),
    _column("activity", "calories_kcal", "Calories", "kcal", (0.0, 20_000.0), "Energy spent in the activity."),
    _column("activity", "avg_hr_bpm", "Average heart rate", "/min", _HR, "Average heart rate over the activity."),
    _column("activity", "max_hr_bpm", "Maximum heart rate", "/min", _HR, "Highest heart rate in the activity."),
    *(
        _column(
            "activity",
            f"hr_zone_{zone}_seconds",
            f"Heart-rate zone {zone}",
            "s",
            (0.0, 604_800.0),
            f"Time spent in heart-rate zone {zone}.",
            "Zone bounds are the provider's own.",
        )
        for zone in range(1, 6)
    ),
    _column(
        "activity",
        "avg_pace_sec_per_km",
        "Average pace",
        "s/km",
        (30.0, 6_000.0),
        "Time per kilometre, the inverse of speed.",
        "Pace in min/mi converts by unit; pace and speed do not convert into each other by factor.",
    ),
    _column("activity", "avg_speed_kmh", "Average speed", "km/h", (0.0, 200.0), "Distance per hour."),
    _column("activity", "elevation_gain_m", "Elevation gain", "m", (0.0, 20_000.0), "Total ascent."),
    _column(
        "activity",
        "avg_power_watts",
        "Average power",
        "W",
        (0.0, 3_000.0),
        "Average mechanical power.",
        "Cycling and rowing.",
    ),
    _column(
        "activity",
        "normalized_power_watts",
        "Normalized power",
        "W",
        (0.0, 3_000.0),
        "Power adjusted for variability (a 30-second rolling fourth-power mean).",
        "Cycling.",
    ),
    _column(
        "activity",
        "training_stress_score",
        "Training Stress Score",
        "1",
        (0.0, 2_000.0),
        "Load relative to one hour at functional threshold power (100 = that hour).",
    ),
    _column(
        "activity",
        "training_effect_aerobic",
        "Aerobic training effect",
        "1",
        (0.0, 5.0),
        "Garmin/Firstbeat aerobic training effect, 0.0–5.0.",
    ),
    _column(
        "activity",
        "training_effect_anaerobic",
        "Anaerobic training effect",
        "1",
        (0.0, 5.0),
        "Garmin/Firstbeat anaerobic training effect, 0.0–5.0.",
    ),
    _column("activity", "vo2_max_ml_kg_min", "VO2 max", "mL/kg/min", _VO2_MAX, "VO2 max estimated from this activity."),
    # --- measurements (keys are the values of the measurement_metric enum) ---------------------------
    _measurement(
        "weight",
        "Weight",
        "kg",
        (20 * _KG_PER_LB, 1000 * _KG_PER_LB),
        "Body weight.",
        "Seed 003 §6 sets 20–1000 lb; stored in kg.",
    ),
    _measurement(
        "body_fat_pct",
        "Body fat",
        "%",
        (1.0, 80.0),
        "Share of body mass that is fat.",
        "Seed 003 §6 DEXA range. Scales send a fraction or a percent: the connector states which.",
    ),
    _measurement("bmi", "Body mass index", "kg/m2", (8.0, 150.0), "Weight divided by height squared."),
    _measurement("height", "Height", "cm", (30.0, 275.0), "Standing height."),
    _measurement("waist_circumference", "Waist circumference", "cm", (30.0, 300.0), "Circumference at the waist."),
    _measurement(
        "blood_pressure_systolic", "Systolic blood pressure", "mmHg", (40.0, 300.0), "Peak arterial pressure."
    ),
    _measurement(
        "blood_pressure_diastolic",
        "Diastolic blood pressure",
        "mmHg",
        (20.0, 200.0),
        "Arterial pressure between beats.",
    ),
    _measurement(
        "resting_heart_rate",
        "Resting heart rate (spot)",
        "/min",
        _HR,
        "A resting heart rate measured on its own (cuff, scale, Apple Health), not a daily summary.",
    ),
    _measurement(
        "hrv_sdnn",
        "HRV (SDNN)",
        "ms",
        _SDNN,
        "Heart rate variability as the standard deviation of normal-to-normal intervals.",
        "Apple Health reports SDNN. It is not RMSSD and is never converted to or stored as RMSSD; a "
        "day's mean goes to wearable_daily.hrv_sdnn_ms, a single reading here. SDNN includes "
        "slower variation than RMSSD and runs higher, hence the wider range.",
    ),
    _measurement("body_temperature", "Body temperature", "degC", (25.0, 45.0), "Core or oral body temperature."),
    _measurement(
        "blood_glucose",
        "Blood glucose (meter)",
        "mg/dL",
        (10.0, 1_500.0),
        "Glucose from a finger-stick meter or CGM.",
        "Canonical unit matches the biomarker dictionary's glucose so meter and lab values compare; "
        "mmol/L converts with glucose's molar mass.",
        marker="glucose",
    ),
    _measurement(
        "spo2",
        "SpO2 (spot)",
        "%",
        (70.0, 100.0),
        "A single blood oxygen saturation reading.",
        "Some sources send a fraction: unit 'fraction'.",
    ),
    _measurement(
        "vo2_max",
        "VO2 max (measurement)",
        "mL/kg/min",
        _VO2_MAX,
        "VO2 max from a lab test or a device estimate outside a daily summary.",
    ),
    _measurement("lean_body_mass", "Lean body mass", "kg", (5.0, 250.0), "Body mass minus fat mass."),
)

METRICS: Mapping[str, Metric] = {metric.key: metric for metric in _CATALOG}
if len(METRICS) != len(_CATALOG):
    raise RuntimeError("two metrics share a key")


def get_metric(key: str) -> Metric:
    try:
        return METRICS[key]
    except KeyError:
        raise KeyError(f"no metric {key!r} in the catalog") from None


def normalize_metric_value(key: str, value: float, unit: str) -> float:
    """`value`, given in `unit` by a provider, in the metric's canonical unit, checked against its range.

    Raises `ValueError` (a `UnitError` for units) naming the metric, the value and the allowed range.
    """
    metric = get_metric(key)
    name = f"{metric.table}.{metric.column}" if metric.column else f"measurements[{metric.key}]"
    try:
        source_unit = unit
        if metric.canonical_unit.startswith("delta_") and normalize_unit(unit) in {"degC", "degF"}:
            # Providers label a deviation with the plain temperature unit; a deviation has no offset.
            source_unit = "delta_" + normalize_unit(unit)
        marker = load_dictionary().get(metric.marker) if metric.marker else None
        canonical = convert(value, source_unit, metric.canonical_unit, marker)
    except UnitError as error:
        raise UnitError(f"{name}: {error}", unit=unit) from None
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from None

    if metric.valid_range is not None:
        low, high = metric.valid_range
        if not low <= canonical <= high:
            given = "" if normalize_unit(unit) == metric.canonical_unit else f" (given as {value:g} {unit})"
            raise ValueError(
                f"{name}: {canonical:g} {metric.canonical_unit}{given} is outside the allowed range "
                f"{low:g}–{high:g} {metric.canonical_unit}"
            )
    return canonical
