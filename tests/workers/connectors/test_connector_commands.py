"""`vitalis connect|disconnect|sync|sandbox` as a person at a terminal runs them, in processes of their own."""

from __future__ import annotations

import signal
import uuid
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from db.engine import admin_scope
from db.models.enums import JobStatus
from integrations.pacing import LocalBucket
from tests.helpers import create_user
from tests.integrations.connecting import TODAY, connect, counts, device
from tests.workers.connectors.running import (
    oura_app,
    read_until,
    remove_users,
    start_vitalis,
    vitalis,
    wait_for,
    worker_env,
)


@pytest.fixture
def person(engine) -> Iterator[tuple[uuid.UUID, str]]:
    email = f"cli-{uuid.uuid4().hex[:10]}@example.test"
    with admin_scope() as session:
        user = create_user(session, email)
    yield user, email
    remove_users([user])


def _job_id(line: str) -> str:
    return line.split(" job ")[1].split()[0]


def test_connect_catches_the_loopback_callback_and_queues_the_backfill(person, sandbox, worker, redis_url) -> None:
    user, email = person
    proc = start_vitalis("connect", "oura", "--user", email, "--timeout", "30", env=worker_env(sandbox, redis_url))
    try:
        url = read_until(proc, "http")
        assert url.startswith(sandbox.url + "/oauth/authorize?") and "redirect_uri=http%3A%2F%2F127.0.0.1%3A" in url

        # The sandbox approves at once and redirects the "browser" to the command's loopback listener.
        page = httpx.get(url, follow_redirects=True, timeout=30)
        assert page.status_code == 200 and "Oura is connected" in page.text

        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert f"oura connected for {email}" in out

    done = wait_for(_job_id(out), [worker])
    assert done.status is JobStatus.SUCCEEDED, done.error_message
    assert counts(user)["wearable_daily"] == 20
    row = device(user)
    assert row.is_active and row.external_user_id in out


def test_a_callback_with_a_forged_state_is_refused_and_nothing_is_connected(person, sandbox, redis_url) -> None:
    user, email = person
    proc = start_vitalis("connect", "oura", "--user", email, "--timeout", "30", env=worker_env(sandbox, redis_url))
    try:
        url = read_until(proc, "http")
        redirect = httpx.get(url, timeout=10).headers["location"]
        forged = redirect.split("state=")[0] + "state=forged"
        page = httpx.get(forged, timeout=30)
        assert "Connecting failed" in page.text
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1
    assert err.strip() == "vitalis: the authorization state is not one we issued, or it has expired"
    assert not device(user).is_active


def test_an_unknown_email_is_one_line_naming_users_add(sandbox, redis_url) -> None:
    done = vitalis("sync", "oura", "--user", "nobody@example.test", env=worker_env(sandbox, redis_url))
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "vitalis: no user with email nobody@example.test: add one with `vitalis users add nobody@example.test`"
    ]


def test_sync_queues_a_job_and_wait_shows_its_report(person, sandbox, worker, redis_url, token_key) -> None:
    user, email = person
    connect(oura_app(sandbox), user, LocalBucket())
    since = (TODAY - timedelta(days=4)).isoformat()

    done = vitalis("sync", "oura", "--user", email, "--since", since, "--wait", env=worker_env(sandbox, redis_url))

    assert done.returncode == 0, done.stderr
    assert "daily_activity" in done.stdout and since in done.stdout
    assert counts(user)["wearable_daily"] == 5


def test_disconnect_revokes_at_the_provider_and_keeps_the_data(person, sandbox, redis_url, token_key) -> None:
    user, email = person
    connect(oura_app(sandbox), user, LocalBucket())
    from integrations.sync import sync

    sync(user, "oura", start=TODAY - timedelta(days=2), app=oura_app(sandbox), bucket=LocalBucket(), today=TODAY)
    stored, revoked = counts(user), sandbox.stats.revocations

    done = vitalis("disconnect", "oura", "--user", email, env=worker_env(sandbox, redis_url))

    assert done.returncode == 0, done.stderr
    assert "revoked at the provider" in done.stdout and "kept" in done.stdout
    assert sandbox.stats.revocations == revoked + 1
    assert not device(user).is_active and device(user).access_token_enc is None
    assert counts(user) == stored


def test_the_sandbox_command_serves_the_api_until_stopped(redis_url, sandbox) -> None:
    proc = start_vitalis("sandbox", "oura", "--days", "3", env=worker_env(sandbox, redis_url))
    try:
        line = read_until(proc, "oura sandbox on ")
        url = line.split()[3]
        assert url.startswith("http://127.0.0.1:")
        assert "export VITALIS_OURA_BASE_URL=" + url in read_until(proc, "  export VITALIS_OURA_BASE_URL")
        # A real API: a data route without a token is refused, the token route is there.
        assert httpx.get(url + "/v2/usercollection/daily_activity", timeout=5).status_code == 401
        assert httpx.post(url + "/oauth/token", data={}, timeout=5).status_code == 401
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
