"""Seed 003 §2.3: wearable daily summaries, sleep and activities, partitioned by date (yearly).

PostgreSQL requires every unique constraint of a partitioned table to contain the partition key, so the
primary keys are (id, date) and the activity dedup key carries activity_date (see WearableActivity).
Partitions are created on demand by vitalis_ensure_year_partitions() (db.partitions).
"""

from __future__ import annotations

import datetime as dt
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Index, Integer, UniqueConstraint, desc, text
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, created_at, num, range_checks, small, updated_at, user_fk
from db.models.enums import DATA_SOURCE, ActivityType, DataSource, pg_enum

PARTITIONED_BY_YEAR = {
    "wearable_daily": "date",
    "wearable_sleep": "sleep_date",
    "wearable_activities": "activity_date",
}


def _partitioned(column: str) -> dict[str, Any]:
    return {"postgresql_partition_by": f"RANGE ({column})"}


class WearableDaily(Base):
    __tablename__ = "wearable_daily"

    daily_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, server_default=text("gen_random_uuid()"))
    date: Mapped[dt.date] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = user_fk()
    source: Mapped[DataSource] = mapped_column(DATA_SOURCE)
    resting_hr_bpm: Mapped[int | None] = small()
    max_hr_bpm: Mapped[int | None] = small()
    hrv_rmssd_ms: Mapped[Decimal | None] = num(6, 2)
    hrv_sdnn_ms: Mapped[Decimal | None] = num(6, 2)  # Apple Health's HRV: a different statistic, never RMSSD
    steps: Mapped[int | None] = mapped_column(Integer)
    active_calories_kcal: Mapped[int | None] = small()
    total_calories_kcal: Mapped[int | None] = small()
    active_minutes: Mapped[int | None] = small()
    moderate_intensity_minutes: Mapped[int | None] = small()
    vigorous_intensity_minutes: Mapped[int | None] = small()
    distance_m: Mapped[int | None] = mapped_column(Integer)
    floors_climbed: Mapped[int | None] = small()
    spo2_avg_pct: Mapped[Decimal | None] = num(4, 1)
    spo2_min_pct: Mapped[Decimal | None] = num(4, 1)
    respiratory_rate_avg: Mapped[Decimal | None] = num(4, 1)
    stress_avg: Mapped[int | None] = small()
    body_battery_start: Mapped[int | None] = small()
    body_battery_end: Mapped[int | None] = small()
    readiness_score: Mapped[int | None] = small()
    recovery_score: Mapped[int | None] = small()
    skin_temp_deviation_c: Mapped[Decimal | None] = num(4, 2)
    vo2_max_ml_kg_min: Mapped[Decimal | None] = num(4, 1)
    raw_data: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    __table_args__ = (
        UniqueConstraint("user_id", "date", "source"),
        Index("ix_wearable_daily_user_date", "user_id", desc("date")),
        Index("ix_wearable_daily_user_source_date", "user_id", "source", desc("date")),
        *range_checks("wearable_daily"),
        _partitioned("date"),
    )


class WearableSleep(Base):
    __tablename__ = "wearable_sleep"

    sleep_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, server_default=text("gen_random_uuid()"))
    sleep_date: Mapped[date] = mapped_column(primary_key=True)  # the morning the sleep ended
    user_id: Mapped[uuid.UUID] = user_fk()
    source: Mapped[DataSource] = mapped_column(DATA_SOURCE)
    sleep_start: Mapped[datetime | None]
    sleep_end: Mapped[datetime | None]
    total_sleep_minutes: Mapped[int | None] = small()
    rem_minutes: Mapped[int | None] = small()
    deep_minutes: Mapped[int | None] = small()
    light_minutes: Mapped[int | None] = small()
    awake_minutes: Mapped[int | None] = small()
    sleep_latency_minutes: Mapped[int | None] = small()
    sleep_efficiency_pct: Mapped[Decimal | None] = num(4, 1)
    sleep_score: Mapped[int | None] = small()
    interruptions: Mapped[int | None] = small()
    avg_hr_bpm: Mapped[int | None] = small()
    min_hr_bpm: Mapped[int | None] = small()
    avg_hrv_ms: Mapped[Decimal | None] = num(6, 2)
    avg_respiratory_rate: Mapped[Decimal | None] = num(4, 1)
    avg_spo2_pct: Mapped[Decimal | None] = num(4, 1)
    avg_skin_temp_deviation_c: Mapped[Decimal | None] = num(4, 2)
    hypnogram: Mapped[list[Any] | None]
    raw_data: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    __table_args__ = (
        UniqueConstraint("user_id", "sleep_date", "source"),
        Index("ix_wearable_sleep_user_date", "user_id", desc("sleep_date")),
        *range_checks("wearable_sleep"),
        _partitioned("sleep_date"),
    )


class WearableActivity(Base):
    """One workout.

    The seed's dedup key is (user_id, source, source_activity_id); the partition key has to join it, so
    the unique constraint is (user_id, source, source_activity_id, activity_date). Writers derive
    activity_date from the start time in the user's time zone; the non-unique index on the seed's key
    lets a writer find and replace an activity whose date a provider later moved.
    """

    __tablename__ = "wearable_activities"

    activity_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, server_default=text("gen_random_uuid()"))
    activity_date: Mapped[date] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = user_fk()
    source: Mapped[DataSource] = mapped_column(DATA_SOURCE)
    source_activity_id: Mapped[str | None]
    activity_type: Mapped[ActivityType] = mapped_column(pg_enum(ActivityType, "activity_type"))
    activity_name: Mapped[str | None]
    start_time: Mapped[datetime | None]
    end_time: Mapped[datetime | None]
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    distance_m: Mapped[Decimal | None] = num(10, 2)
    calories_kcal: Mapped[int | None] = small()
    avg_hr_bpm: Mapped[int | None] = small()
    max_hr_bpm: Mapped[int | None] = small()
    hr_zone_1_seconds: Mapped[int | None] = mapped_column(Integer)
    hr_zone_2_seconds: Mapped[int | None] = mapped_column(Integer)
    hr_zone_3_seconds: Mapped[int | None] = mapped_column(Integer)
    hr_zone_4_seconds: Mapped[int | None] = mapped_column(Integer)
    hr_zone_5_seconds: Mapped[int | None] = mapped_column(Integer)
    avg_pace_sec_per_km: Mapped[Decimal | None] = num(7, 2)
    avg_speed_kmh: Mapped[Decimal | None] = num(5, 2)
    elevation_gain_m: Mapped[Decimal | None] = num(7, 2)
    avg_power_watts: Mapped[int | None] = small()
    normalized_power_watts: Mapped[int | None] = small()
    training_stress_score: Mapped[Decimal | None] = num(6, 1)
    training_effect_aerobic: Mapped[Decimal | None] = num(3, 1)
    training_effect_anaerobic: Mapped[Decimal | None] = num(3, 1)
    vo2_max_ml_kg_min: Mapped[Decimal | None] = num(4, 1)
    notes: Mapped[str | None]
    raw_data: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    __table_args__ = (
        UniqueConstraint("user_id", "source", "source_activity_id", "activity_date"),
        Index("ix_wearable_activities_source_key", "user_id", "source", "source_activity_id"),
        Index("ix_wearable_activities_user_date", "user_id", desc("activity_date")),
        Index("ix_wearable_activities_user_type_date", "user_id", "activity_type", desc("activity_date")),
        *range_checks("wearable_activities"),
        _partitioned("activity_date"),
    )
