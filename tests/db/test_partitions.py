"""Partitions: rows of any year land in that year's partition, created on demand."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, ProgrammingError

from db import partitions
from db.engine import admin_scope, get_engine, user_scope
from db.models import PARTITIONED_BY_YEAR, WearableActivity, WearableDaily, WearableSleep
from db.models.enums import ActivityType, DataSource
from db.upsert import upsert
from db.validation import ValidationError


@pytest.mark.parametrize("year", [2009, 2026, date.today().year + 1])
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


@pytest.mark.parametrize("year", [1969, date.today().year + 2, 99999])
def test_years_outside_what_validation_accepts_are_refused_by_the_writer_and_the_database(
    committed_users, year
) -> None:
    user, _ = committed_users
    with pytest.raises(ValidationError, match="outside the accepted years"), user_scope(user) as session:
        upsert(session, WearableDaily, [_daily(user, date(min(year, 9999), 1, 1))])
    with pytest.raises(DBAPIError, match="outside the accepted range"):
        partitions.ensure_years(get_engine(), [year])


def test_ensure_ahead_creates_next_year_and_the_coming_audit_quarters(db) -> None:
    now = datetime.now(UTC)
    partitions.ensure_ahead(db, now=now)
    quarters = {
        f"audit_log_{(now + timedelta(days=92 * q)):%Y}q{((now + timedelta(days=92 * q)).month - 1) // 3 + 1}"
        for q in range(5)
    }
    wanted = {f"wearable_daily_{now.year}", f"wearable_daily_{now.year + 1}", *quarters}
    names = set(
        db.execute(text("SELECT relname FROM pg_class WHERE relname = ANY(:names)"), {"names": list(wanted)}).scalars()
    )
    assert names == wanted


def _daily(user, day, steps=1000):
    return {"user_id": user, "date": day, "source": DataSource.OURA, "steps": steps}


def _drop_year(year: int) -> None:
    with admin_scope() as session:
        for parent in PARTITIONED_BY_YEAR:
            session.execute(text(f"DROP TABLE IF EXISTS {parent}_{year}"))


def test_a_writer_creating_a_new_year_does_not_lock_other_readers_out_while_its_transaction_runs(
    committed_users,
) -> None:
    """Creating a partition locks the whole table; it must happen before, not inside, a long import."""
    user, other = committed_users
    year = 1983
    _drop_year(year)
    with user_scope(user) as importing:
        upsert(importing, WearableDaily, [_daily(user, date(year, 3, 1))])
        # The import's transaction is still open. Another user's read must not wait behind it.
        with get_engine().connect() as conn, conn.begin():
            conn.execute(text("SET LOCAL lock_timeout = '2s'"))
            conn.execute(text("SET LOCAL ROLE vitalis_api"))
            conn.execute(text("SELECT set_config('app.current_user_id', :u, true)"), {"u": str(other)})
            assert conn.execute(text("SELECT count(*) FROM wearable_daily")).scalar_one() == 0
    with user_scope(user) as session:
        assert (
            session.scalar(
                select(func.count()).select_from(WearableDaily).where(WearableDaily.date == date(year, 3, 1))
            )
            == 1
        )


def test_two_writers_creating_the_same_new_year_at_once_both_succeed(committed_users) -> None:
    """Six pairs of writers race for the first rows of a year nobody has written yet."""
    user, other = committed_users
    years = list(range(1971, 1977))
    for year in years:
        _drop_year(year)
    errors: list[BaseException] = []

    def write(owner, year, barrier) -> None:
        try:
            barrier.wait(timeout=10)
            with user_scope(owner) as session:
                upsert(session, WearableDaily, [_daily(owner, date(year, 7, 1))])
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    for year in years:
        barrier = threading.Barrier(2)
        pair = [threading.Thread(target=write, args=(owner, year, barrier)) for owner in (user, other)]
        for thread in pair:
            thread.start()
        for thread in pair:
            thread.join(timeout=30)
    assert errors == []
    with admin_scope() as session:
        written = session.scalar(
            select(func.count())
            .select_from(WearableDaily)
            .where(WearableDaily.date.in_([date(y, 7, 1) for y in years]))
        )
    assert written == 2 * len(years)


def test_an_orm_insert_for_a_year_with_no_partition_gets_one_first(committed_users) -> None:
    user, _ = committed_users
    _drop_year(1991)
    with user_scope(user) as session:
        session.add(WearableSleep(user_id=user, sleep_date=date(1991, 2, 3), source=DataSource.MANUAL, sleep_score=80))
    with user_scope(user) as session:
        table = session.execute(
            text("SELECT tableoid::regclass::text FROM wearable_sleep WHERE user_id = :u"), {"u": user}
        ).scalar_one()
    assert table == "wearable_sleep_1991"


def test_the_api_role_cannot_create_partitions(committed_users) -> None:
    user, _ = committed_users
    with pytest.raises(ProgrammingError, match="permission denied"), user_scope(user) as session:
        session.execute(text("SELECT vitalis_ensure_year_partitions(1990)"))
