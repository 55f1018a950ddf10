"""Audit: every insert, update and delete of user data leaves exactly one audit row."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import delete, select, update

from db.engine import WORKER_ROLE, admin_scope, user_scope
from db.models import AuditLog, ConnectedDevice, Measurement
from db.models.enums import DataSource, MeasurementMetric


def _trail(record_id: uuid.UUID) -> list[AuditLog]:
    with admin_scope() as session:
        return list(
            session.scalars(
                select(AuditLog).where(AuditLog.record_id == record_id).order_by(AuditLog.created_at, AuditLog.action)
            )
        )


def test_insert_update_delete_each_leave_one_audit_row_with_old_and_new_values(committed_users) -> None:
    user, _ = committed_users
    request_id = uuid.uuid4()
    with user_scope(user, request_id=request_id) as session:
        row = Measurement(
            user_id=user,
            metric=MeasurementMetric.WEIGHT,
            value=81.5,
            unit="kg",
            measured_at=datetime(2026, 5, 1, 7, 30, tzinfo=UTC),
            source=DataSource.MANUAL,
        )
        session.add(row)
        session.flush()
        measurement_id = row.measurement_id
    with user_scope(user, request_id=request_id) as session:
        session.execute(update(Measurement).where(Measurement.measurement_id == measurement_id).values(value=80.9))
    with user_scope(user, request_id=request_id) as session:
        session.execute(delete(Measurement).where(Measurement.measurement_id == measurement_id))

    trail = _trail(measurement_id)
    assert [r.action.value for r in trail] == ["INSERT", "UPDATE", "DELETE"]
    insert, change, removal = trail
    assert insert.old_values is None and insert.new_values["value"] == 81.5
    assert change.old_values["value"] == 81.5 and change.new_values["value"] == 80.9
    assert removal.old_values["value"] == 80.9 and removal.new_values is None
    for r in trail:
        assert r.table_name == "measurements"
        assert r.user_id == user
        assert r.action_by == user
        assert r.request_id == request_id


def test_an_update_that_changes_nothing_leaves_no_audit_row(committed_users) -> None:
    user, _ = committed_users
    with user_scope(user) as session:
        row = Measurement(
            user_id=user,
            metric=MeasurementMetric.HEIGHT,
            value=180,
            unit="cm",
            measured_at=datetime(2026, 5, 1, tzinfo=UTC),
            source=DataSource.MANUAL,
        )
        session.add(row)
        session.flush()
        measurement_id = row.measurement_id
    with user_scope(user) as session:
        session.execute(update(Measurement).where(Measurement.measurement_id == measurement_id).values(value=180))
    assert [r.action.value for r in _trail(measurement_id)] == ["INSERT"]


def test_tokens_never_reach_the_audit_log(committed_users) -> None:
    user, _ = committed_users
    # Connections are stored by the system (the connect flow), not written by the person directly.
    with user_scope(user, role=WORKER_ROLE) as session:
        device = ConnectedDevice(
            user_id=user, source=DataSource.OURA, access_token_enc="ciphertext-a", refresh_token_enc="ciphertext-r"
        )
        session.add(device)
        session.flush()
        device_id = device.device_id
    (entry,) = _trail(device_id)
    assert "access_token_enc" not in entry.new_values
    assert "refresh_token_enc" not in entry.new_values
    assert entry.new_values["source"] == "oura"


def test_a_batch_upsert_audits_each_inserted_and_changed_row_once(committed_users) -> None:
    from datetime import date

    from sqlalchemy import func

    from db.models import WearableDaily
    from db.upsert import upsert

    user, _ = committed_users
    rows = [
        {"user_id": user, "date": date(2026, 7, d), "source": DataSource.WHOOP, "recovery_score": 50 + d}
        for d in range(1, 11)
    ]
    with user_scope(user) as session:
        upsert(session, WearableDaily, rows)
    changed = [dict(r, recovery_score=r["recovery_score"] + 1) if r["date"].day <= 3 else r for r in rows]
    with user_scope(user) as session:
        stats = upsert(session, WearableDaily, changed)
    assert stats.as_dict() == {"inserted": 0, "updated": 3, "unchanged": 7}

    with admin_scope() as session:
        counts = dict(
            session.execute(
                select(AuditLog.action, func.count())
                .where(AuditLog.user_id == user, AuditLog.table_name == "wearable_daily")
                .group_by(AuditLog.action)
            ).all()
        )
        updates = session.scalars(select(AuditLog).where(AuditLog.user_id == user, AuditLog.action == "UPDATE")).all()
    assert {a.value: n for a, n in counts.items()} == {"INSERT": 10, "UPDATE": 3}
    assert sorted(u.new_values["recovery_score"] - u.old_values["recovery_score"] for u in updates) == [1, 1, 1]
