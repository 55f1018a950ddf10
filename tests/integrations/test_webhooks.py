"""Oura webhooks: only a genuine, fresh delivery leads to a targeted sync; the challenge is answered."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import select

from db.engine import admin_scope
from db.models import WearableDaily
from integrations.errors import WebhookRefused
from integrations.sync import sync_document
from integrations.webhooks import receive
from tests.integrations.connecting import TODAY, connect


def test_a_genuine_delivery_names_the_person_and_the_document_to_sync(committed_users, sandbox, app, bucket) -> None:
    user, _ = committed_users
    person = connect(app, user, bucket).external_user_id
    document = sandbox.people[person].docs["daily_activity"][-1]
    headers, body = sandbox.signed_event(person, "daily_activity", document["id"])

    reply = receive(app, "POST", headers, body)

    assert reply.status == 200 and reply.sync is not None
    assert (reply.sync.user_id, reply.sync.resource, reply.sync.object_id) == (
        str(user),
        "daily_activity",
        document["id"],
    )
    report = sync_document(user, "oura", reply.sync.resource, reply.sync.object_id, app=app, bucket=bucket, today=TODAY)
    assert report.resources[0].rows["wearable_daily"]["inserted"] == 1
    with admin_scope() as session:
        steps = session.scalar(select(WearableDaily.steps).where(WearableDaily.user_id == user))
    assert steps == document["steps"]


def test_a_bad_signature_an_altered_body_or_a_stale_timestamp_is_refused(committed_users, sandbox, app, bucket) -> None:
    user, _ = committed_users
    person = connect(app, user, bucket).external_user_id
    headers, body = sandbox.signed_event(person, "sleep", "some-id")

    forged = {**headers, "x-oura-signature": "0" * 64}
    with pytest.raises(WebhookRefused, match="signature does not match") as raised:
        receive(app, "POST", forged, body)
    assert raised.value.status == 401
    with pytest.raises(WebhookRefused, match="signature does not match"):
        receive(app, "POST", headers, body.replace(b"sleep", b"workout"))
    with pytest.raises(WebhookRefused, match="outside the accepted window"):
        receive(app, "POST", headers, body, now=time.time() + 3600)  # the same delivery, replayed an hour later
    with pytest.raises(WebhookRefused, match="no signature"):
        receive(app, "POST", {"content-type": "application/json"}, body)


def test_an_event_for_someone_not_connected_is_acknowledged_and_ignored(sandbox, app) -> None:
    headers, body = sandbox.signed_event("nobody-we-know", "sleep", "x")
    reply = receive(app, "POST", headers, body)
    assert reply.status == 200 and reply.sync is None


def test_the_subscription_challenge_is_answered_only_with_our_verification_token(app) -> None:
    reply = receive(app, "GET", {}, b"", {"verification_token": app.webhook_token, "challenge": "abc123"})
    assert reply.status == 200 and reply.body == {"challenge": "abc123"}
    with pytest.raises(WebhookRefused, match="verification token"):
        receive(app, "GET", {}, b"", {"verification_token": "guess", "challenge": "abc123"})


def test_the_sandbox_subscribes_with_a_challenge_and_delivers_signed_events_over_http(
    committed_users, sandbox, app, bucket
) -> None:
    user, _ = committed_users
    person = connect(app, user, bucket).external_user_id
    received = []

    class Receiver(BaseHTTPRequestHandler):
        """What a deployment's webhook endpoint does: hand the raw request to receive()."""

        def do_GET(self) -> None:
            self._answer("GET", b"")

        def do_POST(self) -> None:
            self._answer("POST", self.rfile.read(int(self.headers["Content-Length"])))

        def _answer(self, method: str, body: bytes) -> None:
            query = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
            try:
                reply = receive(app, method, dict(self.headers), body, query)
                if reply.sync:
                    received.append(reply.sync)
                status, payload = reply.status, reply.body
            except WebhookRefused as exc:
                status, payload = exc.status, {"detail": str(exc)}
            raw = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/webhooks/oura"
        credentials = {"x-client-id": app.client_id, "x-client-secret": app.client_secret}
        subscribe = {"callback_url": url, "event_type": "update", "data_type": "daily_sleep"}
        created = httpx.post(
            sandbox.url + "/v2/webhook/subscription",
            json={**subscribe, "verification_token": app.webhook_token},
            headers=credentials,
        )
        assert created.status_code == 201 and created.json()["data_type"] == "daily_sleep"
        refused = httpx.post(
            sandbox.url + "/v2/webhook/subscription",
            json={**subscribe, "verification_token": "not-ours"},
            headers=credentials,
        )
        assert refused.status_code == 400  # our endpoint did not answer a challenge with a foreign token

        assert sandbox.deliver(url, person, "daily_sleep", "doc-1") == 200
        sandbox.config.client_secret = "not-the-apps-secret"  # a delivery signed by someone else
        assert sandbox.deliver(url, person, "daily_sleep", "doc-2") == 401
    finally:
        server.shutdown()
        server.server_close()
    assert [s.object_id for s in received] == ["doc-1"]
