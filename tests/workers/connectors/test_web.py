"""`vitalis serve` over real HTTP on loopback: the OAuth callback and the webhook route, each ending in a
job a real worker runs."""

from __future__ import annotations

import signal
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select

from db.engine import admin_scope, worker_scope
from db.models import IngestionJob, WearableDaily
from db.models.enums import JobStatus, JobType
from integrations.oauth import begin_connect
from integrations.pacing import LocalBucket
from integrations.sandbox.oura import SUBSCRIPTIONS
from tests.integrations.connecting import connect, counts, device
from tests.workers.connectors.running import oura_app, read_until, start_vitalis, wait_for, worker_env


@pytest.fixture(scope="module")
def server(sandbox, redis_url, token_key, engine):
    proc = start_vitalis("serve", "--port", "0", env=worker_env(sandbox, redis_url))
    try:
        yield read_until(proc, "serving on ").split()[-1]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()


def _jobs(user, job_type: JobType) -> list:
    with worker_scope() as session:
        return list(
            session.scalars(
                select(IngestionJob.job_id).where(IngestionJob.user_id == user, IngestionJob.job_type == job_type)
            )
        )


def test_the_callback_connects_queues_the_backfill_and_refuses_a_replay(
    committed_users, sandbox, server, worker
) -> None:
    user, _ = committed_users
    app = oura_app(sandbox).with_options(redirect_uri=f"{server}/oauth/oura/callback")
    request = begin_connect(user, "oura", app=app)

    page = httpx.get(request.url, follow_redirects=True, timeout=30)  # the sandbox approves and redirects here

    assert page.status_code == 200 and "Oura is connected" in page.text
    assert urlsplit(str(page.url)).path == "/oauth/oura/callback"
    [job_id] = _jobs(user, JobType.BACKFILL)
    done = wait_for(job_id, [worker])
    assert done.status is JobStatus.SUCCEEDED, done.error_message
    assert counts(user)["wearable_daily"] == 20
    assert device(user).is_active

    replayed = httpx.get(str(page.url), timeout=30)
    assert replayed.status_code == 400 and "already used" in replayed.text
    assert len(_jobs(user, JobType.BACKFILL)) == 1


def test_a_subscription_challenge_is_answered_only_with_the_verification_token(sandbox, server) -> None:
    created = httpx.post(
        sandbox.url + SUBSCRIPTIONS,
        headers={"x-client-id": sandbox.config.client_id, "x-client-secret": sandbox.config.client_secret},
        json={
            "callback_url": f"{server}/webhooks/oura",
            "verification_token": "subscription-verification-token",
            "event_type": "update",
            "data_type": "daily_activity",
        },
        timeout=30,
    )
    assert created.status_code == 201, created.text  # the sandbox checked our answer to its challenge

    wrong = httpx.get(f"{server}/webhooks/oura", params={"verification_token": "guess", "challenge": "c"}, timeout=10)
    assert wrong.status_code == 401 and "challenge" not in wrong.json()


def test_a_signed_delivery_queues_a_targeted_sync_and_a_forged_one_is_refused(
    committed_users, sandbox, server, worker, token_key
) -> None:
    user, _ = committed_users
    person = connect(oura_app(sandbox), user, LocalBucket()).external_user_id
    document = sandbox.people[person].docs["daily_activity"][-1]

    headers, body = sandbox.signed_event(person, "daily_activity", document["id"])
    forged = httpx.post(
        f"{server}/webhooks/oura", headers={**headers, "x-oura-signature": "0" * 64}, content=body, timeout=10
    )
    assert forged.status_code == 401 and "signature does not match" in forged.json()["error"]
    assert _jobs(user, JobType.WEBHOOK) == []

    assert sandbox.deliver(f"{server}/webhooks/oura", person, "daily_activity", document["id"]) == 200

    [job_id] = _jobs(user, JobType.WEBHOOK)
    done = wait_for(job_id, [worker])
    assert done.status is JobStatus.SUCCEEDED, done.error_message
    assert done.payload == {
        "provider": "oura",
        "resource": "daily_activity",
        "object_id": document["id"],
        "event_type": "update",
    }
    with admin_scope() as session:
        steps = session.scalars(select(WearableDaily.steps).where(WearableDaily.user_id == user)).all()
    assert steps == [document["steps"]]  # the one document the event named, nothing else


def test_unknown_routes_are_404(server) -> None:
    assert httpx.get(f"{server}/webhooks/fitbark", timeout=10).status_code == 404
    assert httpx.get(f"{server}/healthz", timeout=10).json() == {"ok": True}
