"""A person's connection to a provider, as stored in `connected_devices`.

Tokens are stored only as db.crypto ciphertext and leave this module only as the dict authlib works
with. The row doubles as the lock that serialises refreshes of one connection (SELECT … FOR UPDATE).
The JSONB `sync_cursor` holds {"resources": {endpoint: {...}}, "authorization": {...}}: the per-resource
cursors, and the one pending authorization (see integrations.oauth).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from db import crypto
from db.engine import WORKER_ROLE, user_scope
from db.models import ConnectedDevice
from integrations.provider import Provider

# How long a refresher waits for another one holding the connection's lock before giving up.
LOCK_TIMEOUT = "30s"


def find(
    session: Session, user_id: uuid.UUID | str, provider: Provider, *, lock: bool = False
) -> ConnectedDevice | None:
    query = select(ConnectedDevice).where(ConnectedDevice.user_id == user_id, ConnectedDevice.source == provider.source)
    if lock:
        session.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
        query = query.with_for_update()
    return session.scalars(query).one_or_none()


def get_or_create(session: Session, user_id: uuid.UUID | str, provider: Provider) -> ConnectedDevice:
    """The person's row for `provider`, created inactive (no tokens yet) if there is none."""
    row = find(session, user_id, provider, lock=True)
    if row is None:
        session.execute(
            text(
                "INSERT INTO connected_devices (user_id, source, display_name, is_active) "
                "VALUES (:user_id, :source, :name, false) ON CONFLICT (user_id, source) DO NOTHING"
            ),
            {"user_id": str(user_id), "source": provider.source.value, "name": provider.name.capitalize()},
        )
        row = find(session, user_id, provider, lock=True)
    assert row is not None
    return row


@contextmanager
def locked(
    user_id: uuid.UUID | str, provider: Provider, engine: Engine | None = None
) -> Iterator[tuple[Session, ConnectedDevice | None]]:
    """The connection's row, locked for one transaction that commits when the block ends."""
    with user_scope(user_id, role=WORKER_ROLE, engine=engine) as session:
        yield session, find(session, user_id, provider, lock=True)


def token_of(row: ConnectedDevice) -> dict[str, Any] | None:
    """The stored token in authlib's shape, or None when the connection holds none."""
    if not row.access_token_enc:
        return None
    token: dict[str, Any] = {"access_token": crypto.decrypt(row.access_token_enc), "token_type": "Bearer"}
    if row.refresh_token_enc:
        token["refresh_token"] = crypto.decrypt(row.refresh_token_enc)
    if row.token_expires_at is not None:
        token["expires_at"] = int(row.token_expires_at.timestamp())
    return token


def store_token(row: ConnectedDevice, token: dict[str, Any], *, now: datetime | None = None) -> None:
    """Save a token response on the row, encrypted; a response without a new refresh token keeps the old."""
    if not token.get("access_token"):
        raise ValueError("the token response holds no access token")
    row.access_token_enc = crypto.encrypt(str(token["access_token"]))
    if token.get("refresh_token"):
        row.refresh_token_enc = crypto.encrypt(str(token["refresh_token"]))
    if token.get("expires_at"):
        row.token_expires_at = datetime.fromtimestamp(float(token["expires_at"]), UTC)
    elif token.get("expires_in"):
        row.token_expires_at = (now or datetime.now(UTC)) + timedelta(seconds=float(token["expires_in"]))
    else:
        row.token_expires_at = None
    if token.get("scope"):
        scope = token["scope"]
        row.scope = scope.split() if isinstance(scope, str) else list(scope)


def mark_error(row: ConnectedDevice, reason: str) -> None:
    """Stop syncing the connection and say why; its data and tokens' history stay as they are."""
    row.is_active = False
    row.last_sync_status = "error"
    row.last_sync_error = reason


def resource_cursor(row: ConnectedDevice, endpoint: str) -> dict[str, Any]:
    return dict(((row.sync_cursor or {}).get("resources") or {}).get(endpoint) or {})


def set_resource_cursor(row: ConnectedDevice, endpoint: str, cursor: dict[str, Any]) -> None:
    # A new dict, so SQLAlchemy sees the JSONB column change.
    state = dict(row.sync_cursor or {})
    resources = dict(state.get("resources") or {})
    resources[endpoint] = cursor
    state["resources"] = resources
    row.sync_cursor = state
