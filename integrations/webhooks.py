"""Receiving a provider's webhook: verify it, answer its challenge, and say what to sync.

`receive` is what an HTTP endpoint calls with the raw request; it returns the status and body to send
back and, for a genuine event, the targeted sync to enqueue. The signature is an HMAC over timestamp +
raw body, keyed with the app's client secret, compared in constant time; a timestamp outside the
tolerance is refused, so a captured delivery cannot be replayed later.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from db.engine import worker_scope
from db.models import ConnectedDevice
from integrations.apps import ProviderApp
from integrations.errors import WebhookRefused


@dataclass(frozen=True, slots=True)
class WebhookSync:
    """A targeted sync: one resource's document for one person."""

    user_id: str
    provider: str
    resource: str
    object_id: str | None
    event_type: str


@dataclass(frozen=True, slots=True)
class WebhookReply:
    status: int
    body: dict[str, Any] = field(default_factory=dict)
    sync: WebhookSync | None = None


def signature(app: ProviderApp, timestamp: str, body: bytes) -> str:
    spec = app.provider.webhook
    assert spec is not None
    digest = hmac.new(app.client_secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    if spec.digest == "base64":
        return base64.b64encode(digest).decode()
    return digest.hex().upper() if spec.digest == "hex_upper" else digest.hex()


def receive(
    app: ProviderApp,
    method: str,
    headers: Mapping[str, str],
    body: bytes,
    query: Mapping[str, str] | None = None,
    *,
    now: float | None = None,
) -> WebhookReply:
    """Handle one webhook request. Raises WebhookRefused (with the status to answer) when it fails a check."""
    spec = app.provider.webhook
    if spec is None:
        raise WebhookRefused(f"{app.provider.name} sends no webhooks", status=404)
    query = query or {}
    if method.upper() == "GET" and spec.challenge_param and spec.challenge_param in query:
        return _challenge(app, query)
    if method.upper() != "POST":
        raise WebhookRefused("webhooks are POSTed", status=405)

    lowered = {k.lower(): v for k, v in headers.items()}
    sent, stamp = lowered.get(spec.signature_header.lower()), lowered.get(spec.timestamp_header.lower())
    if not sent or not stamp:
        raise WebhookRefused("the delivery carries no signature or timestamp")
    try:
        seconds = float(stamp) / (1000 if spec.timestamp_unit == "ms" else 1)
    except ValueError:
        raise WebhookRefused("the delivery's timestamp is not a number") from None
    if abs((time.time() if now is None else now) - seconds) > spec.tolerance_seconds:
        raise WebhookRefused("the delivery's timestamp is outside the accepted window (a replay or a skewed clock)")
    expected = signature(app, stamp, body)
    if spec.digest.startswith("hex"):
        sent, expected = sent.upper(), expected.upper()
    if not hmac.compare_digest(sent.encode(), expected.encode()):
        raise WebhookRefused("the delivery's signature does not match")

    try:
        event = json.loads(body)
        provider_user, resource = str(event["user_id"]), str(event["data_type"])
    except (ValueError, KeyError, TypeError):
        raise WebhookRefused("the delivery's body is not the documented event", status=400) from None
    if resource not in {e.name for e in app.provider.endpoints}:
        return WebhookReply(200, {"ignored": f"data type {resource} is not synced"})
    user_id = _person(app, provider_user)
    if user_id is None:
        # Answer 2xx anyway: a retried delivery would not find the person either.
        return WebhookReply(200, {"ignored": "no active connection for this user"})
    object_id = event.get("object_id")
    return WebhookReply(
        200,
        {"accepted": True},
        WebhookSync(
            user_id, app.provider.name, resource, str(object_id) if object_id else None, event.get("event_type", "")
        ),
    )


def _challenge(app: ProviderApp, query: Mapping[str, str]) -> WebhookReply:
    spec = app.provider.webhook
    assert spec is not None and spec.challenge_param
    if spec.verification_token_param:
        offered = query.get(spec.verification_token_param, "")
        if not app.webhook_token or not hmac.compare_digest(offered.encode(), app.webhook_token.encode()):
            raise WebhookRefused("the subscription's verification token does not match", status=401)
    return WebhookReply(200, {"challenge": query[spec.challenge_param]})


def _person(app: ProviderApp, provider_user: str) -> str | None:
    """Our user behind the provider's user id (no user scope yet: the worker's cross-user read)."""
    with worker_scope() as session:
        found = session.scalars(
            select(ConnectedDevice.user_id).where(
                ConnectedDevice.source == app.provider.source,
                ConnectedDevice.external_user_id == provider_user,
                ConnectedDevice.is_active.is_(True),
            )
        ).first()
    return str(found) if found else None
