"""Seed 003 §6 ranges: refused at the door with a message naming the field and the range, and again by
the database if anything gets past the door."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from db.models import MoodJournal, WearableDaily
from db.models.enums import DataSource
from db.validation import RANGES, ValidationError, validate_date_of_birth, validate_row
from tests.helpers import create_user

CASES = [
    ("wearable_daily", "resting_hr_bpm", 19, "20–300"),
    ("wearable_daily", "resting_hr_bpm", 301, "20–300"),
    ("wearable_daily", "hrv_rmssd_ms", 0.5, "1–300"),
    ("wearable_daily", "spo2_avg_pct", 69.9, "70–100"),
    ("wearable_daily", "steps", 100_001, "0–100000"),
    ("wearable_daily", "steps", -1, "0–100000"),
    ("mood_journal", "mood_score", 6, "1–5"),
    ("lifting_sets", "weight_lbs", 2000.5, "0–2000"),
    ("lifting_sets", "reps", 0, "1–999"),
    ("dexa_regions", "body_fat_pct", 81, "1–80"),
    ("epigenetic_tests", "pace_score", 3.2, "0.2–3"),
]


@pytest.mark.parametrize(("table", "column", "value", "allowed"), CASES, ids=[f"{c[0]}.{c[1]}={c[2]}" for c in CASES])
def test_out_of_range_values_are_refused_with_field_and_range(table, column, value, allowed) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_row(table, {column: value})
    assert str(caught.value) == f"{table}.{column}: {value:g} is outside the allowed range {allowed}"
    assert caught.value.field == f"{table}.{column}"


@pytest.mark.parametrize(("table", "column"), sorted(RANGES))
def test_range_bounds_themselves_are_accepted(table, column) -> None:
    low, high = RANGES[(table, column)]
    validate_row(table, {column: low})
    validate_row(table, {column: high})


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_lab_values_are_refused(value) -> None:
    with pytest.raises(ValidationError, match=r"blood_markers\.value_numeric: .* is not a finite number"):
        validate_row("blood_markers", {"value_numeric": value})


def test_weight_is_checked_in_its_own_unit() -> None:
    validate_row("measurements", {"metric": "weight", "value": 80, "unit": "kg"})
    validate_row("measurements", {"metric": "weight", "value": 176, "unit": "lb"})
    with pytest.raises(ValidationError, match="weight 500 kg is outside the allowed range 20–1000 lb"):
        validate_row("measurements", {"metric": "weight", "value": 500, "unit": "kg"})
    with pytest.raises(ValidationError, match="weight unit 'stone' is not one of lb, kg"):
        validate_row("measurements", {"metric": "weight", "value": 12, "unit": "stone"})


def test_email_and_birth_date_rules() -> None:
    validate_row("users", {"email": "ada@example.org"})
    with pytest.raises(ValidationError, match="lowercase"):
        validate_row("users", {"email": "Ada@Example.org"})
    with pytest.raises(ValidationError, match="not a valid email"):
        validate_row("users", {"email": "ada.example.org"})
    with pytest.raises(ValidationError, match="age 10 is outside the allowed range 13–150"):
        validate_date_of_birth(date(2016, 1, 1), today=date(2026, 11, 23))
    with pytest.raises(ValidationError, match="must be in the past"):
        validate_date_of_birth(date(2027, 1, 1), today=date(2026, 11, 23))


def test_the_database_refuses_what_gets_past_the_door(db) -> None:
    user = create_user(db)
    from db.partitions import ensure_years

    ensure_years(db, [2026])
    with pytest.raises(IntegrityError, match="ck_wearable_daily_resting_hr_bpm_range"), db.begin_nested():
        db.execute(
            insert(WearableDaily).values(
                user_id=user, date=date(2026, 1, 1), source=DataSource.OURA, resting_hr_bpm=400
            )
        )
    with pytest.raises(IntegrityError, match="ck_mood_journal_mood_score_range"), db.begin_nested():
        db.execute(insert(MoodJournal).values(user_id=user, journal_date=date(2026, 1, 1), mood_score=9))
    from db.models import BloodMarker, BloodPanel

    panel = BloodPanel(user_id=user, collected_at=datetime(2026, 1, 1, tzinfo=UTC))
    db.add(panel)
    db.flush()
    with pytest.raises(IntegrityError, match="value_numeric_finite"), db.begin_nested():
        db.execute(
            insert(BloodMarker).values(
                user_id=user, panel_id=panel.panel_id, raw_name="X", value_numeric=Decimal("NaN")
            )
        )


# Values with no §6 range that still cannot be stored: refused here with a plain message, so the database
# never answers with an error that quotes the row (a user id, a health value) and its SQL.
DOES_NOT_FIT = [
    ("wearable_daily", "active_calories_kcal", 40_000, "40000 does not fit this field (at most 32767)"),
    ("wearable_daily", "distance_m", 3_000_000_000, "3000000000 does not fit this field (at most 2147483647)"),
    ("wearable_daily", "skin_temp_deviation_c", Decimal("123.45"), "123.45 does not fit this field (less than 100"),
    ("wearable_daily", "total_calories_kcal", 2100.5, "expected a whole number, got 2100.5"),
    ("wearable_daily", "floors_climbed", "12", "expected a number, got str"),
    ("blood_markers", "value_numeric", Decimal("123456789"), "123456789 does not fit this field (less than 100000000"),
]


@pytest.mark.parametrize(
    ("table", "column", "value", "message"), DOES_NOT_FIT, ids=[f"{c[1]}={c[2]!r}" for c in DOES_NOT_FIT]
)
def test_a_value_its_column_cannot_hold_is_refused_in_plain_words(table, column, value, message) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_row(table, {column: value})
    assert str(caught.value).startswith(f"{table}.{column}: {message}")


def test_values_at_the_edge_of_their_columns_are_accepted() -> None:
    validate_row("wearable_daily", {"active_calories_kcal": 32_767, "total_calories_kcal": 2100.0})
    validate_row("wearable_daily", {"skin_temp_deviation_c": Decimal("99.99")})


@pytest.mark.parametrize("day", [date(1969, 12, 31), date(date.today().year + 2, 1, 1)])
def test_wearable_dates_outside_the_accepted_years_are_refused(day) -> None:
    with pytest.raises(ValidationError, match=r"wearable_daily\.date: .* is outside the accepted years 1970–"):
        validate_row("wearable_daily", {"date": day})
    with pytest.raises(ValidationError, match="expected a date, got str"):
        validate_row("wearable_sleep", {"sleep_date": "2026-01-01"})
