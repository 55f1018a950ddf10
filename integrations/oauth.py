"""Connecting and disconnecting a person: the OAuth 2.0 authorization-code flow, through authlib.

`state` is single-use, bound to the person and short-lived, without a table of its own:

- the state string is a db.crypto (Fernet) token sealing {person, provider, nonce, redirect URI, PKCE
  verifier}: nobody can forge or alter it, the verifier never leaves the server in clear, and its
  embedded timestamp makes it expire (STATE_TTL);
- the nonce's hash is stored on the person's connection row (`sync_cursor.authorization`), and
  finishing removes it under the row lock, so a second use of the same state finds nothing and is
  refused. Starting again replaces it: only the newest authorization of a person can finish.

Redis would do for the single-use record too, but the embedded default has no Redis, and the row is
where the connection's truth lives anyway.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from sqlalchemy import Engine

from db import crypto
from db.engine import WORKER_ROLE, user_scope
from db.models.enums import JobType
from integrations import connections
from integrations.apps import ProviderApp, app_from_env
from integrations.client import connection_client, oauth_client
from integrations.errors import ConnectError, ConnectionUnusable, ProviderError, StateRefused
from integrations.http import HTTPStatusError, TransportError
from integrations.pacing import Bucket, default_bucket
from workers.jobtask import TransientError

log = logging.getLogger(__name__)

STATE_TTL = 600  # seconds: an authorization code is valid for 10 minutes at Oura, the state no longer
_PURPOSE = "vitalis-oauth-state"


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    url: str
    state: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Connected:
    """A stored connection, and the backfill job the job layer should enqueue for it."""

    user_id: str
    provider: str
    device_id: str
    external_user_id: str | None
    enqueue: dict[str, Any]


def _nonce_hash(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


def begin_connect(
    user_id: uuid.UUID | str,
    provider: str,
    *,
    app: ProviderApp | None = None,
    redirect_uri: str | None = None,
    engine: Engine | None = None,
) -> AuthorizationRequest:
    """The URL to send the person to, with a fresh single-use `state` (PKCE too where declared)."""
    app = app or app_from_env(provider)
    redirect = redirect_uri or app.redirect_uri
    if not redirect:
        raise ConnectionUnusable(f"{app.provider.name}: no redirect URI configured")
    nonce = secrets.token_urlsafe(24)
    verifier = generate_token(64) if app.provider.oauth.pkce else None
    state = crypto.encrypt(
        json.dumps({"p": _PURPOSE, "u": str(user_id), "v": app.provider.name, "n": nonce, "r": redirect, "k": verifier})
    )
    expires = datetime.now(UTC) + timedelta(seconds=STATE_TTL)
    with user_scope(user_id, role=WORKER_ROLE, engine=engine) as session:
        row = connections.get_or_create(session, user_id, app.provider)
        row.sync_cursor = {
            **(row.sync_cursor or {}),
            "authorization": {"nonce": _nonce_hash(nonce), "expires_at": expires.isoformat()},
        }
    options: dict[str, Any] = {"code_challenge_method": "S256"} if verifier else {}
    with oauth_client(app, scope=" ".join(app.provider.oauth.scopes), redirect_uri=redirect, **options) as client:
        url, _ = client.create_authorization_url(app.authorize_url, state=state, code_verifier=verifier)
    return AuthorizationRequest(url=url, state=state, expires_at=expires)


def _open_state(state: str) -> dict[str, Any]:
    plain = crypto.decrypt_fresh(state, STATE_TTL) if state else None
    try:
        sealed = json.loads(plain) if plain else None
    except ValueError:
        sealed = None
    if not isinstance(sealed, dict) or sealed.get("p") != _PURPOSE:
        raise StateRefused("the authorization state is not one we issued, or it has expired")
    return sealed


def _consume(sealed: dict[str, Any], app: ProviderApp, engine: Engine | None) -> None:
    """Remove the pending authorization the state names; refuse it if it is not there any more."""
    user_id = sealed["u"]
    with user_scope(user_id, role=WORKER_ROLE, engine=engine) as session:
        row = connections.find(session, user_id, app.provider, lock=True)
        pending = ((row.sync_cursor or {}).get("authorization") or {}) if row is not None else {}
        expected = str(pending.get("nonce", ""))
        if not expected or not hmac.compare_digest(expected, _nonce_hash(sealed["n"])):
            raise StateRefused("the authorization state was already used, or a newer one replaced it")
        assert row is not None
        row.sync_cursor = {k: v for k, v in (row.sync_cursor or {}).items() if k != "authorization"}


def finish_connect(
    state: str,
    code: str | None,
    *,
    error: str | None = None,
    expected_user: uuid.UUID | str | None = None,
    app: ProviderApp | None = None,
    bucket: Bucket | None = None,
    engine: Engine | None = None,
    today: date | None = None,
) -> Connected:
    """Check `state`, exchange `code` for tokens, store them encrypted, and say what to enqueue.

    `expected_user`, when the application knows who is signed in on the callback, must be the person
    the state was issued to. `error` is the provider's `error` query parameter (e.g. access_denied).
    """
    sealed = _open_state(state)
    if expected_user is not None and str(expected_user) != sealed["u"]:
        raise StateRefused("the authorization state belongs to another person")
    app = app or app_from_env(sealed["v"])
    if app.provider.name != sealed["v"]:
        raise StateRefused("the authorization state was issued for another provider")
    _consume(sealed, app, engine)
    name, user_id = app.provider.name, sealed["u"]
    if error or not code:
        raise ConnectError(f"{name}: the authorization was not granted ({error or 'no code'})")

    try:
        with oauth_client(app, redirect_uri=sealed["r"]) as client:
            extra = {"code_verifier": sealed["k"]} if sealed.get("k") else {}
            token = dict(client.fetch_token(app.token_url, code=code, redirect_uri=sealed["r"], **extra))
    except OAuthError as exc:
        raise ConnectError(f"{name} refused the authorization code ({exc.error})") from None
    except HTTPStatusError as exc:
        raise ConnectError(f"{name}: the token endpoint answered {exc.response.status_code}") from None
    except (TransportError, TransientError) as exc:
        # The state is spent; the person starts again (the code dies in minutes anyway).
        raise ConnectError(f"{name}: the token endpoint is unavailable ({type(exc).__name__}); connect again") from None

    with user_scope(user_id, role=WORKER_ROLE, engine=engine) as session:
        row = connections.get_or_create(session, user_id, app.provider)
        connections.store_token(row, token)
        row.is_active = True
        row.last_sync_status = None
        row.last_sync_error = None
        device_id = str(row.device_id)

    external = _identify(app, user_id, bucket, engine)
    today = today or datetime.now(UTC).date()
    days = app.provider.backfill_days
    if app.provider.history_days is not None:
        days = min(days, app.provider.history_days)
    payload = {"provider": name, "start": (today - timedelta(days=days)).isoformat(), "end": today.isoformat()}
    enqueue = {"job_type": JobType.BACKFILL, "user_id": user_id, "source": app.provider.source, "payload": payload}
    log.info("%s connected for user %s", name, user_id)
    return Connected(user_id, name, device_id, external, enqueue)


def _identify(app: ProviderApp, user_id: str, bucket: Bucket | None, engine: Engine | None) -> str | None:
    """Store the provider's id for the person (webhooks name people by it); a later sync retries."""
    if app.provider.identity is None:
        return None
    endpoint_name, key = app.provider.identity
    endpoint = app.provider.endpoint(endpoint_name)
    try:
        with connection_client(app, user_id, bucket=bucket or default_bucket(), engine=engine) as client:
            body = client.get_json(endpoint.path, what=endpoint_name)
    except (ProviderError, TransientError) as exc:
        log.warning("%s: could not read the person's provider id yet (%s)", app.provider.name, type(exc).__name__)
        return None
    found = body.get(key) if isinstance(body, dict) else None
    if not found:
        return None
    with user_scope(user_id, role=WORKER_ROLE, engine=engine) as session:
        row = connections.find(session, user_id, app.provider, lock=True)
        if row is not None:
            row.external_user_id = str(found)
    return str(found)


def disconnect(
    user_id: uuid.UUID | str, provider: str, *, app: ProviderApp | None = None, engine: Engine | None = None
) -> dict[str, Any]:
    """Revoke the authorization at the provider and forget the tokens; the synced data stays."""
    app = app or app_from_env(provider)
    spec = app.provider.oauth
    with connections.locked(user_id, app.provider, engine) as (_, row):
        if row is None:
            return {"provider": app.provider.name, "connected": False, "revoked": False}
        token = connections.token_of(row)
        row.access_token_enc = row.refresh_token_enc = None
        row.token_expires_at = None
        row.is_active = False
    revoked, reason = False, "no token was stored"
    if token and app.revoke_url:
        secret = token.get("access_token") if spec.revoke_token_param == "access_token" else token.get("refresh_token")
        secret = secret or token["access_token"]
        try:
            with oauth_client(app) as client:
                if spec.revoke_token_in == "query":
                    response = client.request(
                        spec.revoke_method,
                        app.revoke_url,
                        params={spec.revoke_token_param: secret},
                        withhold_token=True,
                    )
                else:
                    response = client.revoke_token(app.revoke_url, token=secret)
            revoked = response.status_code < 300
            reason = "" if revoked else f"the provider answered {response.status_code}"
        except TransportError as exc:
            reason = f"the provider did not answer ({type(exc).__name__})"
    if not revoked:
        log.warning("%s: revocation for user %s not confirmed: %s", app.provider.name, user_id, reason)
    return {"provider": app.provider.name, "connected": False, "revoked": revoked, "reason": reason or None}
