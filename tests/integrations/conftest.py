"""Connector fixtures: a real Oura sandbox on loopback, an app registered with it, a pacing bucket."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from db import crypto
from integrations import oura
from integrations.apps import ProviderApp
from integrations.pacing import LocalBucket
from integrations.sandbox.oura import OuraSandbox
from integrations.sandbox.server import SandboxConfig
from tests.integrations.connecting import REDIRECT, TODAY


@pytest.fixture(autouse=True)
def token_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("VITALIS_TOKEN_KEYS", crypto.new_key())
    crypto.reset()
    yield
    crypto.reset()


@pytest.fixture
def sandbox() -> Iterator[OuraSandbox]:
    config = SandboxConfig(days=20, page_size=5, series_page_size=500, timeout_seconds=1.0)
    with OuraSandbox(config, today=TODAY) as running:
        yield running


@pytest.fixture
def app(sandbox: OuraSandbox) -> ProviderApp:
    return ProviderApp(
        provider=oura.PROVIDER,
        client_id=sandbox.config.client_id,
        client_secret=sandbox.config.client_secret,
        redirect_uri=REDIRECT,
        base_url=sandbox.url,
        webhook_token="subscription-verification-token",
        timeout_seconds=0.5,
    )


@pytest.fixture
def bucket() -> LocalBucket:
    return LocalBucket()
