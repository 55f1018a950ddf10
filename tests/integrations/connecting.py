"""Helpers for connector tests: connecting a person through the sandbox, reading what was stored."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import func, select

from db.engine import admin_scope
from db.models import ConnectedDevice, Measurement, WearableActivity, WearableDaily, WearableSleep
from integrations.apps import ProviderApp
from integrations.oauth import Connected, begin_connect, finish_connect
from integrations.pacing import Bucket

TODAY = datetime.now(UTC).date()
REDIRECT = "http://127.0.0.1:9/callback"


def authorize(url: str, person: str | None = None) -> dict[str, str]:
    """Follow an authorization URL to the sandbox, which approves at once; the callback's query."""
    if person:
        url += f"&sandbox_person={person}"
    response = httpx.get(url, follow_redirects=False, timeout=5)
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT)
    return {k: v[-1] for k, v in parse_qs(urlsplit(location).query).items()}


def connect(app: ProviderApp, user_id: uuid.UUID, bucket: Bucket, person: str | None = None) -> Connected:
    request = begin_connect(user_id, "oura", app=app)
    callback = authorize(request.url, person)
    return finish_connect(callback["state"], callback.get("code"), app=app, bucket=bucket, today=TODAY)


def device(user_id: uuid.UUID) -> ConnectedDevice:
    with admin_scope() as session:
        row = session.scalars(select(ConnectedDevice).where(ConnectedDevice.user_id == user_id)).one()
        session.expunge(row)
        return row


def counts(user_id: uuid.UUID) -> dict[str, int]:
    with admin_scope() as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model).where(model.user_id == user_id))
            for model in (WearableDaily, WearableSleep, WearableActivity, Measurement)
        }
