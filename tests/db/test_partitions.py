"""Partitions: rows of any year land in that year's partition, created on demand."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import text

from db import partitions
from db.engine import user_scope
from db.models import WearableActivity, WearableDaily, WearableSleep
from db.models.enums import ActivityType, DataSource
from db.upsert import upsert


@pytest.mark.parametrize("year", [2009, 2026, 2031])
def test_a_daily_row_lands_in_its_years_partition(committed_users, year) -> None:
    user, _ = committed_users
    day = date(year, 6, 30)
    with user_scope(user) as session:
        upsert(session, WearableDaily, [{"user_id": user, "date": day, "source": DataSource.OURA, "steps": 4200}])
        upsert(
            session,
            WearableSleep,
            [{"user_id": user, "sleep_date": day, "source": DataSource.OURA, "total_sleep_minutes": 420}],
        )
        upsert(
            session,
            WearableActivity,
            [
                {
                    "user_id": user,
                    "activity_date": day,
                    "source": DataSource.GARMIN,
                    "source_activity_id": f"run-{year}",
                    "activity_type": ActivityType.RUNNING,
                }
            ],
        )
    with user_scope(user) as session:
        where = {"user": user, "day": day}
        assert (
            session.execute(
                text("SELECT tableoid::regclass::text FROM wearable_daily WHERE user_id = :user AND date = :day"), where
            ).scalar_one()
            == f"wearable_daily_{year}"
        )
        assert (
            session.execute(
                text("SELECT tableoid::regclass::text FROM wearable_sleep WHERE user_id = :user AND sleep_date = :day"),
                where,
            ).scalar_one()
            == f"wearable_sleep_{year}"
        )
        assert (
            session.execute(
                text(
                    "SELECT tableoid::regclass::text FROM wearable_activities"
                    " WHERE user_id = :user AND activity_date = :day"
                ),
                where,
            ).scalar_one()
            == f"wearable_activities_{year}"
        )


def test_the_partition_function_refuses_an_absurd_year(db) -> None:
    with pytest.raises(Exception, match="outside the supported range"):
        partitions.ensure_years(db, [99999])


def test_ensure_ahead_creates_next_year_and_the_coming_audit_quarters(db) -> None:
    partitions.ensure_ahead(db, now=datetime(2040, 11, 20, tzinfo=UTC))
    names = set(
        db.execute(
            text(
                "SELECT relname FROM pg_class WHERE relname IN "
                "('wearable_daily_2040', 'wearable_daily_2041', 'audit_log_2040q4', 'audit_log_2041q1', "
                "'audit_log_2041q4')"
            )
        ).scalars()
    )
    assert names == {
        "wearable_daily_2040",
        "wearable_daily_2041",
        "audit_log_2040q4",
        "audit_log_2041q1",
        "audit_log_2041q4",
    }
