"""What an Apple Health export becomes: typed records, and the HealthKit identifiers that map into them.

Every value is already in the unit of the metric catalog (`parsers.vocabulary.metrics`): the export's
own unit is read from each record (it depends on the phone's locale and settings) and converted
through `parsers.vocabulary.units`.
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

# --- typed output ----------------------------------------------------------------------------------


@dataclass(slots=True)
class DailySummary:
    """One day of `wearable_daily`, all of the person's Apple sources merged as the Health app shows them."""

    day: date
    steps: int | None = None
    distance_m: int | None = None
    active_calories_kcal: int | None = None
    total_calories_kcal: int | None = None
    active_minutes: int | None = None
    floors_climbed: int | None = None
    resting_hr_bpm: int | None = None
    max_hr_bpm: int | None = None
    hrv_sdnn_ms: float | None = None  # SDNN: never an RMSSD column
    spo2_avg_pct: float | None = None
    spo2_min_pct: float | None = None
    respiratory_rate_avg: float | None = None
    vo2_max_ml_kg_min: float | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class SleepNight:
    """One night of `wearable_sleep`: the segments of the best source that ended on `sleep_date`."""

    sleep_date: date  # the local date of the morning the sleep ended
    sleep_start: datetime
    sleep_end: datetime
    total_sleep_minutes: int | None
    rem_minutes: int | None
    deep_minutes: int | None
    light_minutes: int | None
    awake_minutes: int | None
    interruptions: int | None
    sleep_efficiency_pct: float | None
    hypnogram: list[dict[str, str]]
    source_name: str


@dataclass(slots=True)
class Workout:
    source_activity_id: str  # a content hash: the export gives workouts no id
    activity_date: date  # local date of the start, in the record's own offset
    activity_type: str  # an `ActivityType` value
    activity_name: str
    start_time: datetime
    end_time: datetime
    duration_seconds: int | None
    distance_m: float | None
    calories_kcal: int | None
    avg_hr_bpm: int | None
    max_hr_bpm: int | None
    avg_speed_kmh: float | None
    avg_pace_sec_per_km: float | None
    elevation_gain_m: float | None
    raw: dict[str, Any]


@dataclass(slots=True)
class Measurement:
    metric: str  # a `measurement_metric` value
    value: float  # in the catalog's canonical unit
    unit: str
    measured_at: datetime


@dataclass(slots=True)
class Profile:
    """The export's `Me` element: what the person told the Health app about themselves."""

    date_of_birth: date | None
    biological_sex: str | None  # 'male', 'female', 'other' or None


@dataclass(slots=True)
class ImportReport:
    """What was read, and what was skipped and why (reasons and line numbers only, never values)."""

    records: int = 0
    bytes_read: int = 0
    export_version: str | None = None
    locale: str | None = None
    dtd_removed: bool = False
    skipped: Counter[str] = field(default_factory=Counter)
    skipped_examples: dict[str, list[int]] = field(default_factory=dict)
    xml_problems: Counter[str] = field(default_factory=Counter)
    xml_problem_lines: list[int] = field(default_factory=list)
    unknown_types: Counter[str] = field(default_factory=Counter)
    produced: Counter[str] = field(default_factory=Counter)

    def skip(self, reason: str, line: int | None) -> None:
        self.skipped[reason] += 1
        examples = self.skipped_examples.setdefault(reason, [])
        if line is not None and len(examples) < 5:
            examples.append(line)

    def merge(self, other: ImportReport) -> None:
        """Add what a chunk read elsewhere counted (its line numbers are already the file's)."""
        self.records += other.records
        self.locale = self.locale or other.locale
        self.skipped.update(other.skipped)
        for reason, lines in other.skipped_examples.items():
            mine = self.skipped_examples.setdefault(reason, [])
            mine.extend(lines[: 5 - len(mine)])
        self.xml_problems.update(other.xml_problems)
        self.xml_problem_lines.extend(other.xml_problem_lines[: max(0, 100 - len(self.xml_problem_lines))])
        self.unknown_types.update(other.unknown_types)

    def as_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "bytes_read": self.bytes_read,
            "export_version": self.export_version,
            "locale": self.locale,
            "dtd_removed": self.dtd_removed,
            "produced": dict(self.produced),
            "skipped": dict(self.skipped),
            "skipped_lines": self.skipped_examples,
            # libxml2 keeps the first 100 problems of a parse: a count of 100 means "100 or more".
            "xml_problems": dict(self.xml_problems),
            "xml_problem_lines": self.xml_problem_lines[:20],
            "unknown_types": len(self.unknown_types),
        }


# --- HealthKit identifiers -------------------------------------------------------------------------

_Q = "HKQuantityTypeIdentifier"

# Sums over time. Overlapping sources are resolved by priority (see parsers.apple_health.daily).
CUMULATIVE: dict[str, str] = {
    f"{_Q}StepCount": "steps",
    f"{_Q}DistanceWalkingRunning": "distance_m",
    f"{_Q}ActiveEnergyBurned": "active_calories_kcal",
    f"{_Q}BasalEnergyBurned": "basal_calories_kcal",
    f"{_Q}FlightsClimbed": "floors_climbed",
    f"{_Q}AppleExerciseTime": "active_minutes",
}

# Samples at an instant or over a short window, summarised per day (mean, min, max).
DISCRETE: dict[str, str] = {
    f"{_Q}HeartRate": "heart_rate",
    f"{_Q}RestingHeartRate": "resting_hr_bpm",
    f"{_Q}HeartRateVariabilitySDNN": "hrv_sdnn_ms",
    f"{_Q}OxygenSaturation": "spo2",
    f"{_Q}RespiratoryRate": "respiratory_rate_avg",
    f"{_Q}VO2Max": "vo2_max_ml_kg_min",
}

DISCRETE_METRICS = frozenset(DISCRETE.values())

# Body measurements: one `measurements` row per sample.
MEASUREMENTS: dict[str, str] = {
    f"{_Q}BodyMass": "weight",
    f"{_Q}BodyFatPercentage": "body_fat_pct",
    f"{_Q}BodyMassIndex": "bmi",
    f"{_Q}Height": "height",
    f"{_Q}LeanBodyMass": "lean_body_mass",
    f"{_Q}WaistCircumference": "waist_circumference",
    f"{_Q}BloodPressureSystolic": "blood_pressure_systolic",
    f"{_Q}BloodPressureDiastolic": "blood_pressure_diastolic",
    f"{_Q}BloodGlucose": "blood_glucose",
    f"{_Q}BodyTemperature": "body_temperature",
}

SLEEP_TYPE = "HKCategoryTypeIdentifierSleepAnalysis"
BLOOD_PRESSURE = "HKCorrelationTypeIdentifierBloodPressure"

# Catalog key and canonical unit of each daily quantity (None: no catalog entry, kcal by definition).
DAILY_METRIC_KEYS: dict[str, str | None] = {
    "steps": "wearable_daily.steps",
    "distance_m": "wearable_daily.distance_m",
    "active_calories_kcal": "wearable_daily.active_calories_kcal",
    "basal_calories_kcal": None,
    "floors_climbed": "wearable_daily.floors_climbed",
    "active_minutes": "wearable_daily.active_minutes",
    "heart_rate": "wearable_daily.max_hr_bpm",
    "resting_hr_bpm": "wearable_daily.resting_hr_bpm",
    "hrv_sdnn_ms": "wearable_daily.hrv_sdnn_ms",
    "spo2": "wearable_daily.spo2_avg_pct",
    "respiratory_rate_avg": "wearable_daily.respiratory_rate_avg",
    "vo2_max_ml_kg_min": "wearable_daily.vo2_max_ml_kg_min",
}

SLEEP_STAGES: dict[str, str] = {
    "HKCategoryValueSleepAnalysisInBed": "in_bed",
    "HKCategoryValueSleepAnalysisAsleepUnspecified": "asleep",
    "HKCategoryValueSleepAnalysisAsleep": "asleep",  # before iOS 16
    "HKCategoryValueSleepAnalysisAwake": "awake",
    "HKCategoryValueSleepAnalysisAsleepCore": "core",
    "HKCategoryValueSleepAnalysisAsleepDeep": "deep",
    "HKCategoryValueSleepAnalysisAsleepREM": "rem",
    # Raw values, as some third-party writers store them.
    "0": "in_bed",
    "1": "asleep",
    "2": "awake",
    "3": "core",
    "4": "deep",
    "5": "rem",
}

_W = "HKWorkoutActivityType"
ACTIVITY_TYPES: dict[str, str] = {
    f"{_W}Running": "running",
    f"{_W}Walking": "walking",
    f"{_W}Hiking": "hiking",
    f"{_W}Cycling": "cycling",
    f"{_W}HandCycling": "cycling",
    f"{_W}Swimming": "swimming",
    f"{_W}Rowing": "rowing",
    f"{_W}Elliptical": "elliptical",
    f"{_W}StairClimbing": "stair_climbing",
    f"{_W}Stairs": "stair_climbing",
    f"{_W}TraditionalStrengthTraining": "strength_training",
    f"{_W}FunctionalStrengthTraining": "strength_training",
    f"{_W}CoreTraining": "strength_training",
    f"{_W}HighIntensityIntervalTraining": "hiit",
    f"{_W}CrossTraining": "hiit",
    f"{_W}Yoga": "yoga",
    f"{_W}Pilates": "pilates",
    f"{_W}DownhillSkiing": "skiing",
    f"{_W}CrossCountrySkiing": "skiing",
    f"{_W}Snowboarding": "skiing",
    f"{_W}Soccer": "team_sport",
    f"{_W}Basketball": "team_sport",
    f"{_W}Volleyball": "team_sport",
    f"{_W}Hockey": "team_sport",
    f"{_W}AmericanFootball": "team_sport",
    f"{_W}Rugby": "team_sport",
    f"{_W}Baseball": "team_sport",
    f"{_W}Tennis": "racket_sport",
    f"{_W}Badminton": "racket_sport",
    f"{_W}TableTennis": "racket_sport",
    f"{_W}Squash": "racket_sport",
    f"{_W}Pickleball": "racket_sport",
    f"{_W}MartialArts": "martial_arts",
    f"{_W}Boxing": "martial_arts",
    f"{_W}Kickboxing": "martial_arts",
    f"{_W}Dance": "dance",
    f"{_W}SocialDance": "dance",
    f"{_W}CardioDance": "dance",
    f"{_W}MindAndBody": "meditation",
}

BIOLOGICAL_SEX = {
    "HKBiologicalSexMale": "male",
    "HKBiologicalSexFemale": "female",
    "HKBiologicalSexOther": "other",
}

# HKUnit spellings the unit converter does not read as they are.
_APPLE_UNITS = {
    "mL/min·kg": "mL/kg/min",
    "ml/(kg*min)": "mL/kg/min",
    "mL/(kg·min)": "mL/kg/min",
    "count": "1",
}

# Metrics HealthKit stores as a plain number (HKUnit.count()) although they have a unit by definition:
# a BMI is kg/m² whatever the record says. Only for these is a bare count read as that unit; the
# converter rightly refuses a count as kg/m² anywhere else.
COUNTED_IN = {"bmi": "kg/m2"}

# Apple writes every percentage as a fraction of one (SpO2 0.97 with unit "%"): that is the format,
# not a guess from the magnitude.
_FRACTION_METRICS = frozenset({"spo2", "body_fat_pct"})


def apple_unit(unit: str, metric: str) -> str:
    if unit == "%" and metric in _FRACTION_METRICS:
        return "fraction"
    if unit.startswith("mmol<"):  # "mmol<180.15588...>/L": HKUnit's molar mass annotation
        return "mmol/L"
    return _APPLE_UNITS.get(unit, unit)


@functools.cache
def affine(unit: str, canonical: str, marker: str | None = None) -> tuple[float, float]:
    """(factor, offset) taking `unit` to `canonical`, computed once by the unit converter.

    Every unit here is linear or affine (°F → °C), so two points define the conversion; a unit the
    converter refuses raises its `UnitError` here, once per spelling rather than once per record.
    """
    from parsers.vocabulary.units import convert

    if marker is not None:
        from parsers.vocabulary.dictionary import load_dictionary

        entry = load_dictionary().get(marker)
        zero, one = convert(0.0, unit, canonical, entry), convert(1.0, unit, canonical, entry)
    else:
        zero, one = convert(0.0, unit, canonical), convert(1.0, unit, canonical)
    return one - zero, zero


def catalog_unit(key: str | None) -> str:
    return catalog(key)[0] if key else "kcal"


# (canonical unit, marker, valid range) per catalog key. The catalog is imported only when a key is
# first asked for: it brings in the database models, which a parsing process (parallel.py) never
# needs, since the reading process hands it the entries it uses.
_CATALOG: dict[str, tuple[str, str | None, tuple[float, float] | None]] = {}


def catalog(key: str) -> tuple[str, str | None, tuple[float, float] | None]:
    entry = _CATALOG.get(key)
    if entry is None:
        from parsers.vocabulary.metrics import get_metric

        metric = get_metric(key)
        entry = _CATALOG[key] = (metric.canonical_unit, metric.marker, metric.valid_range)
    return entry
