"""Oura end to end on loopback: connect, backfill, incremental sync, and every way it can go wrong."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from db import crypto
from db.engine import admin_scope
from db.models import WearableDaily
from integrations.client import connection_client
from integrations.errors import AuthorizationRevoked, MalformedResponse, ProviderUnavailable, RateLimited
from integrations.oauth import disconnect
from integrations.pacing import BucketSize, LocalBucket
from integrations.sync import sync
from tests.integrations.connecting import TODAY, connect, counts, device
from workers.jobtask import TransientError

START = TODAY - timedelta(days=14)


def test_connect_stores_encrypted_tokens_and_asks_for_a_backfill(committed_users, sandbox, app, bucket) -> None:
    user, _ = committed_users
    connected = connect(app, user, bucket)

    row = device(user)
    access, refresh = crypto.decrypt(row.access_token_enc), crypto.decrypt(row.refresh_token_enc)
    assert sandbox.access[access].person == connected.external_user_id  # the sandbox's own token, stored
    assert refresh in sandbox.refresh
    assert access not in row.access_token_enc and refresh not in row.refresh_token_enc
    assert row.is_active and row.token_expires_at is not None
    assert row.external_user_id == connected.external_user_id
    assert "authorization" not in row.sync_cursor  # the state was used up
    assert connected.enqueue["job_type"] == "backfill"
    assert connected.enqueue["payload"]["provider"] == "oura"
    assert connected.enqueue["payload"]["end"] == TODAY.isoformat()


def test_backfill_fills_the_tables_and_a_second_run_changes_nothing(committed_users, app, bucket) -> None:
    user, _ = committed_users
    connect(app, user, bucket)

    report = sync(user, "oura", start=START, app=app, bucket=bucket, today=TODAY)
    stored = counts(user)
    assert stored["wearable_daily"] == 15 and stored["wearable_sleep"] == 15
    assert stored["wearable_activities"] > 0 and stored["measurements"] == 2
    by_name = {r.resource: r for r in report.resources}
    activity = by_name["daily_activity"]
    assert activity.requested == (START.isoformat(), TODAY.isoformat())
    assert activity.fetched == activity.requested
    assert activity.days_with_data == 15
    assert by_name["heartrate"].rows["wearable_daily"]["updated"] > 0  # the day's max joined the daily row
    assert report.warnings == []
    cursor = device(user).sync_cursor

    again = sync(user, "oura", start=START, app=app, bucket=bucket, today=TODAY)
    assert again.inserted() == 0
    assert all(t["updated"] == 0 for r in again.resources for t in r.rows.values())
    assert counts(user) == stored
    assert device(user).sync_cursor == cursor


def test_incremental_sync_runs_from_the_cursor_and_twice_is_a_no_op(committed_users, app, bucket) -> None:
    user, _ = committed_users
    connect(app, user, bucket)
    first = sync(user, "oura", app=app, bucket=bucket, today=TODAY)
    activity = next(r for r in first.resources if r.resource == "daily_activity")
    assert activity.requested == ((TODAY - timedelta(days=7)).isoformat(), TODAY.isoformat())
    cursor = device(user).sync_cursor["resources"]
    assert cursor["daily_activity"]["last_day"] == TODAY.isoformat()
    stored = counts(user)

    second = sync(user, "oura", app=app, bucket=bucket, today=TODAY)
    activity = next(r for r in second.resources if r.resource == "daily_activity")
    assert activity.requested == (TODAY.isoformat(), TODAY.isoformat())  # from the cursor, no re-pull window
    assert second.inserted() == 0
    assert counts(user) == stored
    assert device(user).sync_cursor["resources"] == cursor
    assert device(user).last_sync_status == "success"


def test_an_access_token_expiring_mid_backfill_is_refreshed_once_and_the_rotation_kept(
    committed_users, sandbox, app, bucket
) -> None:
    user, _ = committed_users
    connect(app, user, bucket)
    old_refresh = crypto.decrypt(device(user).refresh_token_enc)
    sandbox.inject("expire", "daily_activity", skip=1)  # the token dies between two pages

    report = sync(user, "oura", start=START, app=app, bucket=bucket, today=TODAY)

    assert sandbox.stats.refreshes == 1 and report.refreshes == 1
    new_refresh = crypto.decrypt(device(user).refresh_token_enc)
    assert new_refresh != old_refresh and new_refresh in sandbox.refresh
    assert old_refresh not in sandbox.refresh  # rotated: the old one is dead at the provider
    assert counts(user)["wearable_daily"] == 15
    assert device(user).is_active


def test_a_revoked_refresh_token_marks_the_connection_and_keeps_the_data(committed_users, sandbox, app, bucket) -> None:
    user, _ = committed_users
    connected = connect(app, user, bucket)
    sync(user, "oura", start=START, app=app, bucket=bucket, today=TODAY)
    stored = counts(user)
    sandbox.revoke_person(connected.external_user_id)  # the person withdrew consent at Oura

    with pytest.raises(AuthorizationRevoked, match="refused to renew"):
        sync(user, "oura", app=app, bucket=bucket, today=TODAY)

    row = device(user)
    assert not row.is_active and row.last_sync_status == "error"
    assert "connect oura again" in row.last_sync_error and "kept" in row.last_sync_error
    assert counts(user) == stored


def test_a_429_becomes_a_retry_after_the_providers_delay_and_nothing_is_lost(
    committed_users, sandbox, app, bucket
) -> None:
    user, _ = committed_users
    connect(app, user, bucket)
    sandbox.config.quota_window = 7
    sandbox.inject("429", "daily_readiness", skip=1)

    with pytest.raises(RateLimited) as raised:
        sync(user, "oura", start=START, app=app, bucket=bucket, today=TODAY)
    assert isinstance(raised.value, TransientError)
    assert raised.value.retry_after == 7
    assert counts(user)["wearable_sleep"] == 15  # what came before the 429 is stored

    granted, wait = bucket.acquire(app.key, BucketSize(rate=100, capacity=10), max_wait=60)
    assert not granted and 6 < wait <= 7  # every worker of the app holds off, not only this one

    later = LocalBucket()  # the retry, once the delay has passed
    sync(user, "oura", start=START, app=app, bucket=later, today=TODAY)
    with admin_scope() as session:
        readiness = session.scalar(
            select(text("count(*)"))
            .select_from(WearableDaily)
            .where(WearableDaily.user_id == user, WearableDaily.readiness_score.is_not(None))
        )
    assert readiness == 15


def test_a_malformed_page_fails_clearly_and_keeps_the_earlier_pages(committed_users, sandbox, app, bucket) -> None:
    user, _ = committed_users
    connect(app, user, bucket)
    sandbox.inject("malformed", "daily_activity", skip=1)

    with pytest.raises(MalformedResponse, match="daily_activity: the response is not valid JSON") as raised:
        sync(user, "oura", start=START, resources=["daily_activity"], app=app, bucket=bucket, today=TODAY)

    with admin_scope() as session:
        steps = session.scalars(
            select(WearableDaily.date).where(WearableDaily.user_id == user, WearableDaily.steps.is_not(None))
        ).all()
    assert 0 < len(steps) < 15  # the first page's days, no more
    assert raised.value.report.resources[0].pages == 1
    assert "MalformedResponse" in device(user).last_sync_error
    assert "resources" not in device(user).sync_cursor or "daily_activity" not in device(user).sync_cursor["resources"]


def test_no_sleep_while_daily_data_flows_is_a_warning_on_the_connection(committed_users, sandbox, app, bucket) -> None:
    user, _ = committed_users
    person = sandbox.new_person(gaps={"sleep": 3, "daily_sleep": 3})
    connect(app, user, bucket, person=person)

    report = sync(user, "oura", start=START, app=app, bucket=bucket, today=TODAY)

    quiet_since = (TODAY - timedelta(days=3)).isoformat()
    assert any(f"no sleep since {quiet_since}" in w for w in report.warnings)
    row = device(user)
    assert row.last_sync_status == "partial" and f"no sleep since {quiet_since}" in row.last_sync_error


def test_two_workers_refreshing_one_connection_send_one_refresh(committed_users, sandbox, app, bucket) -> None:
    user, _ = committed_users
    connect(app, user, bucket)
    sandbox.config.refresh_delay = 0.3  # both workers are inside the refresh window together
    with admin_scope() as session:
        session.execute(
            text("UPDATE connected_devices SET token_expires_at = now() - interval '1 hour' WHERE user_id = :u"),
            {"u": user},
        )
    results: list[object] = []
    start = threading.Barrier(2)

    def worker() -> None:
        with connection_client(app, user, bucket=bucket) as client:
            start.wait()
            try:
                results.append(client.get_json("/v2/usercollection/personal_info", what="personal_info")["id"])
            except Exception as exc:  # the assertion below reports it
                results.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)

    assert sandbox.stats.refreshes == 1 and sandbox.stats.refresh_refusals == 0
    assert len(results) == 2 and all(isinstance(r, str) for r in results), results
    row = device(user)
    assert row.is_active and row.last_sync_status is None
    assert crypto.decrypt(row.refresh_token_enc) in sandbox.refresh


def test_disconnect_revokes_at_the_provider_and_keeps_the_data(committed_users, sandbox, app, bucket) -> None:
    user, _ = committed_users
    connect(app, user, bucket)
    sync(user, "oura", start=START, resources=["daily_activity"], app=app, bucket=bucket, today=TODAY)
    stored = counts(user)

    result = disconnect(user, "oura", app=app)

    assert result["revoked"] and sandbox.stats.revocations == 1
    assert not sandbox.access and not sandbox.refresh  # nothing of this person works at the provider any more
    row = device(user)
    assert not row.is_active and row.access_token_enc is None and row.refresh_token_enc is None
    assert counts(user) == stored


def test_no_token_reaches_logs_errors_results_or_the_audit_log(committed_users, sandbox, app, bucket, caplog) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    user, _ = committed_users
    issued: list[str] = []
    original = sandbox.token

    def recording(form):
        status, body = original(form)
        issued.extend(v for k, v in body.items() if k in ("access_token", "refresh_token"))
        issued.extend(v for k, v in form.items() if k in ("code", "refresh_token"))
        return status, body

    sandbox.token = recording
    connect(app, user, bucket)
    sandbox.inject("expire", "daily_sleep")
    report = sync(user, "oura", start=START, app=app, bucket=bucket, today=TODAY)
    sandbox.revoke_person(device(user).external_user_id, access=False)
    sandbox.expire_access(device(user).external_user_id)
    with pytest.raises(AuthorizationRevoked) as raised:
        sync(user, "oura", app=app, bucket=bucket, today=TODAY)
    connections_row = device(user)
    disconnect(user, "oura", app=app)

    with admin_scope() as session:
        audit = (
            session.execute(
                text(
                    "SELECT coalesce(old_values::text, '') || coalesce(new_values::text, '') FROM audit_log "
                    "WHERE table_name = 'connected_devices' AND user_id = :u"
                ),
                {"u": user},
            )
            .scalars()
            .all()
        )
    assert len(issued) >= 4 and audit
    exposed = [
        caplog.text,
        str(raised.value),
        json.dumps(report.as_dict()),
        connections_row.last_sync_error or "",
        *audit,
    ]
    for secret in [*issued, app.client_secret]:
        for place in exposed:
            assert secret not in place
    assert connections_row.access_token_enc not in "".join(audit)


@pytest.mark.parametrize("fault", ["500", "timeout"])
def test_a_server_error_or_a_timeout_is_transient_and_leaves_the_connection_alone(
    committed_users, sandbox, app, bucket, fault
) -> None:
    user, _ = committed_users
    connect(app, user, bucket)
    sandbox.inject(fault, "workout")

    with pytest.raises(ProviderUnavailable) as raised:
        sync(user, "oura", start=START, app=app, bucket=bucket, today=TODAY)
    assert isinstance(raised.value, TransientError) and "workout" in str(raised.value)
    assert device(user).is_active and device(user).last_sync_status is None

    sync(user, "oura", start=START, app=app, bucket=bucket, today=TODAY)  # the retry
    assert counts(user)["wearable_activities"] == len(
        [d for d in sandbox.people[device(user).external_user_id].docs["workout"] if d["day"] >= START.isoformat()]
    )
