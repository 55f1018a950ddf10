"""Idempotent writes: running the same batch twice leaves the database as the first run left it."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from db.models import WearableDaily
from db.models.enums import DataSource
from db.upsert import upsert
from db.validation import ValidationError
from tests.helpers import create_user


def _row(user, day, **metrics):
    return {"user_id": user, "date": day, "source": DataSource.OURA, **metrics}


def test_same_batch_twice_inserts_once_then_changes_nothing(db) -> None:
    user = create_user(db)
    batch = [_row(user, date(2026, 1, d), steps=1000 * d) for d in range(1, 6)]
    assert upsert(db, WearableDaily, batch).as_dict() == {"inserted": 5, "updated": 0, "unchanged": 0}
    assert upsert(db, WearableDaily, batch).as_dict() == {"inserted": 0, "updated": 0, "unchanged": 5}
    assert db.scalar(select(func.count()).select_from(WearableDaily).where(WearableDaily.user_id == user)) == 5


def test_a_changed_value_updates_the_existing_row(db) -> None:
    user = create_user(db)
    upsert(db, WearableDaily, [_row(user, date(2026, 2, 1), steps=1000)])
    stats = upsert(db, WearableDaily, [_row(user, date(2026, 2, 1), steps=1200)])
    assert stats.as_dict() == {"inserted": 0, "updated": 1, "unchanged": 0}
    assert db.scalar(select(WearableDaily.steps).where(WearableDaily.user_id == user)) == 1200


def test_duplicates_inside_one_batch_are_folded_last_one_wins(db) -> None:
    user = create_user(db)
    day = date(2026, 3, 1)
    stats = upsert(db, WearableDaily, [_row(user, day, steps=1), _row(user, day, steps=2)])
    assert stats.inserted == 1
    assert db.scalar(select(WearableDaily.steps).where(WearableDaily.user_id == user)) == 2


def test_one_bad_value_refuses_the_whole_batch_and_keeps_what_was_stored(db) -> None:
    user = create_user(db)
    upsert(db, WearableDaily, [_row(user, date(2026, 4, 1), resting_hr_bpm=52)])
    bad_batch = [_row(user, date(2026, 4, 1), resting_hr_bpm=54), _row(user, date(2026, 4, 2), resting_hr_bpm=400)]
    with pytest.raises(
        ValidationError, match=r"wearable_daily\.resting_hr_bpm: 400 is outside the allowed range 20–300"
    ):
        upsert(db, WearableDaily, bad_batch)
    stored = db.execute(
        select(WearableDaily.date, WearableDaily.resting_hr_bpm).where(WearableDaily.user_id == user)
    ).all()
    assert [tuple(r) for r in stored] == [(date(2026, 4, 1), 52)]


def test_merged_json_keeps_each_sources_payload_and_an_identical_rerun_changes_nothing(db) -> None:
    user = create_user(db)
    day = date(2026, 5, 1)
    upsert(db, WearableDaily, [_row(user, day, steps=9000, raw_data={"activity": {"steps": 9000}})], merge=["raw_data"])
    readiness = [_row(user, day, readiness_score=80, raw_data={"readiness": {"score": 80}})]
    assert upsert(db, WearableDaily, readiness, merge=["raw_data"]).updated == 1
    assert upsert(db, WearableDaily, readiness, merge=["raw_data"]).unchanged == 1
    stored = db.execute(select(WearableDaily.steps, WearableDaily.raw_data).where(WearableDaily.user_id == user)).one()
    assert stored.steps == 9000
    assert stored.raw_data == {"activity": {"steps": 9000}, "readiness": {"score": 80}}
