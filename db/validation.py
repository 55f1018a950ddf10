"""The validation rules of seed 003 §6, enforced where data enters.

One table of ranges serves twice: the Python check that gives the user a message naming the field and
the range, and the CHECK constraints in the schema that are the last line of defence.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

# (table, column) -> inclusive (low, high), in the column's own unit.
RANGES: dict[tuple[str, str], tuple[float, float]] = {
    ("wearable_daily", "resting_hr_bpm"): (20, 300),
    ("wearable_daily", "max_hr_bpm"): (20, 300),
    ("wearable_daily", "hrv_rmssd_ms"): (1, 300),
    ("wearable_daily", "hrv_sdnn_ms"): (1, 500),
    ("wearable_daily", "steps"): (0, 100_000),
    ("wearable_daily", "spo2_avg_pct"): (70, 100),
    ("wearable_daily", "spo2_min_pct"): (50, 100),
    ("wearable_daily", "stress_avg"): (0, 100),
    ("wearable_daily", "body_battery_start"): (0, 100),
    ("wearable_daily", "body_battery_end"): (0, 100),
    ("wearable_daily", "readiness_score"): (0, 100),
    ("wearable_daily", "recovery_score"): (0, 100),
    ("wearable_sleep", "sleep_score"): (0, 100),
    ("wearable_sleep", "sleep_efficiency_pct"): (0, 100),
    ("wearable_sleep", "avg_spo2_pct"): (70, 100),
    ("wearable_sleep", "avg_hrv_ms"): (1, 300),
    ("wearable_activities", "avg_hr_bpm"): (20, 300),
    ("wearable_activities", "max_hr_bpm"): (20, 300),
    ("wearable_activities", "training_effect_aerobic"): (0, 5),
    ("wearable_activities", "training_effect_anaerobic"): (0, 5),
    ("mood_journal", "mood_score"): (1, 5),
    ("mood_journal", "energy_score"): (1, 5),
    ("mood_journal", "stress_score"): (1, 5),
    ("menstrual_cycles", "flow_intensity"): (0, 4),
    ("lifting_sets", "weight_lbs"): (0, 2000),
    ("lifting_sets", "reps"): (1, 999),
    ("lifting_sets", "rpe"): (0, 10),
    ("dexa_regions", "body_fat_pct"): (1, 80),
    ("dexa_scans", "total_body_fat_pct"): (1, 80),
    ("epigenetic_tests", "pace_score"): (0.2, 3.0),
    ("blood_markers", "parse_confidence"): (0, 1),
    ("documents", "parse_confidence"): (0, 1),
    ("ingestion_jobs", "priority"): (1, 10),
}

# Body weight is stored with its unit, so its range is checked after converting to pounds.
WEIGHT_LBS_RANGE = (20.0, 1000.0)
_LBS_PER_UNIT = {"lb": 1.0, "lbs": 1.0, "kg": 2.2046226218487757}

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ValidationError(ValueError):
    """A value refused at the door; the message names the field and what was allowed."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def check_constraint_sql(column: str, low: float, high: float) -> str:
    return f"{column} IS NULL OR ({column} >= {low} AND {column} <= {high})"


def _fmt(x: float) -> str:
    return f"{x:g}"


def _finite(field: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValidationError(field, f"expected a number, got {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number):
        raise ValidationError(field, f"{value} is not a finite number")
    return number


def validate_row(table: str, values: Mapping[str, Any]) -> None:
    """Refuse a row for `table` that breaks a §6 rule or does not fit its column; raises ValidationError
    on the first problem, so the database never answers with an error that quotes the row."""
    rules = _numeric_rules(table)
    for column, value in values.items():
        if value is not None and column in rules:
            _check_number(table, column, value, rules[column])
    dated = _dated_column(table)
    if dated is not None and dated in values:
        validate_data_date(f"{table}.{dated}", values[dated])
    if table == "blood_markers" and values.get("value_numeric") is not None:
        _finite("blood_markers.value_numeric", values["value_numeric"])
    if table == "measurements" and values.get("metric") == "weight":
        validate_weight(values.get("value"), values.get("unit"))
    if table == "users":
        if "email" in values:
            validate_email(values["email"])
        if values.get("date_of_birth") is not None:
            validate_date_of_birth(values["date_of_birth"])


def validate_weight(value: Any, unit: Any) -> None:
    factor = _LBS_PER_UNIT.get(str(unit).strip().lower()) if unit is not None else None
    if factor is None:
        raise ValidationError("measurements.unit", f"weight unit {unit!r} is not one of lb, kg")
    lbs = _finite("measurements.value", value) * factor
    low, high = WEIGHT_LBS_RANGE
    if not low <= lbs <= high:
        raise ValidationError(
            "measurements.value",
            f"weight {_fmt(float(value))} {unit} is outside the allowed range {_fmt(low)}–{_fmt(high)} lb",
        )


def normalize_email(email: str) -> str:
    return email.strip().lower()


def validate_email(email: Any) -> None:
    if not isinstance(email, str) or not _EMAIL.match(email):
        raise ValidationError("users.email", "not a valid email address")
    if email != normalize_email(email):
        raise ValidationError("users.email", "must be stored lowercase without surrounding spaces")


def validate_date_of_birth(dob: date, today: date | None = None) -> None:
    today = today or date.today()
    if dob >= today:
        raise ValidationError("users.date_of_birth", "must be in the past")
    age = today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))
    if not 13 <= age <= 150:
        raise ValidationError("users.date_of_birth", f"age {age} is outside the allowed range 13–150")


# Wearable rows live in yearly partitions; these are the years a partition may be made for (the database
# function vitalis_ensure_year_partitions enforces the same bounds).
EARLIEST_DATA_YEAR = 1970


def latest_data_year(today: date | None = None) -> int:
    return (today or date.today()).year + 1


def validate_data_date(field: str, value: Any, today: date | None = None) -> None:
    if not isinstance(value, date) or isinstance(value, datetime):
        raise ValidationError(field, f"expected a date, got {type(value).__name__}")
    latest = latest_data_year(today)
    if not EARLIEST_DATA_YEAR <= value.year <= latest:
        raise ValidationError(field, f"{value.isoformat()} is outside the accepted years {EARLIEST_DATA_YEAR}–{latest}")


def _dated_column(table: str) -> str | None:
    from db.models.wearables import PARTITIONED_BY_YEAR  # the models import this module

    return PARTITIONED_BY_YEAR.get(table)


@dataclass(frozen=True, slots=True)
class _NumberRule:
    bounds: tuple[float, float] | None  # the §6 range, if any
    whole: bool  # an integer column
    largest: float | None  # what the column type can hold


@functools.cache
def _numeric_rules(table: str) -> dict[str, _NumberRule]:
    """column -> what a value of it must satisfy: its §6 range and what its column type can hold."""
    from sqlalchemy import BigInteger, Integer, Numeric, SmallInteger

    from db.models import Base

    rules: dict[str, _NumberRule] = {}
    sql_table = Base.metadata.tables.get(table)
    for column in sql_table.columns if sql_table is not None else ():
        kind, bounds = column.type, RANGES.get((table, column.name))
        if isinstance(kind, SmallInteger):
            rules[column.name] = _NumberRule(bounds, True, 2**15 - 1)
        elif isinstance(kind, BigInteger):
            rules[column.name] = _NumberRule(bounds, True, 2**63 - 1)
        elif isinstance(kind, Integer):
            rules[column.name] = _NumberRule(bounds, True, 2**31 - 1)
        elif isinstance(kind, Numeric):
            largest = 10.0 ** (kind.precision - (kind.scale or 0)) if kind.precision is not None else None
            rules[column.name] = _NumberRule(bounds, False, largest)
    for (tbl, column), bounds in RANGES.items():
        if tbl == table and column not in rules:
            rules[column] = _NumberRule(bounds, False, None)
    return rules


def _check_number(table: str, column: str, value: Any, rule: _NumberRule) -> None:
    field = f"{table}.{column}"
    number = _finite(field, value)
    if rule.bounds is not None and not rule.bounds[0] <= number <= rule.bounds[1]:
        low, high = rule.bounds
        raise ValidationError(field, f"{_fmt(number)} is outside the allowed range {_fmt(low)}–{_fmt(high)}")
    if rule.largest is None:
        return
    if rule.whole and not isinstance(value, int) and not number.is_integer():
        raise ValidationError(field, f"expected a whole number, got {_plain(value)}")
    # NUMERIC(p, s) holds magnitudes below 10^(p-s); integers up to their largest value.
    if (abs(number) > rule.largest) if rule.whole else (abs(number) >= rule.largest):
        bound = f"at most {rule.largest:.0f}" if rule.whole else f"less than {rule.largest:.0f} in magnitude"
        raise ValidationError(field, f"{_plain(value)} does not fit this field ({bound})")


def _plain(value: int | float | Decimal) -> str:
    """A number as a person would write it (no exponent)."""
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value) if isinstance(value, int) else f"{value:f}".rstrip("0").rstrip(".")
