"""Fixtures for connector jobs in real processes: one Oura sandbox and token key per module, a sync
worker process on the test Redis, and an app to enqueue with."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from db import crypto
from integrations.sandbox.oura import OuraSandbox
from integrations.sandbox.server import SandboxConfig
from tests.integrations.connecting import TODAY
from tests.workers.connectors.running import TOKEN_KEY, Worker, worker_env


@pytest.fixture(scope="module")
def token_key() -> Iterator[str]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VITALIS_TOKEN_KEYS", TOKEN_KEY)
        crypto.reset()
        yield TOKEN_KEY
    crypto.reset()


@pytest.fixture(scope="module")
def sandbox() -> Iterator[OuraSandbox]:
    config = SandboxConfig(days=20, page_size=5, series_page_size=500, timeout_seconds=1.0)
    with OuraSandbox(config, today=TODAY) as running:
        yield running


@pytest.fixture
def fresh_sandbox(sandbox: OuraSandbox) -> OuraSandbox:
    """The module's sandbox with this test's faults and counters only."""
    with sandbox.lock:
        sandbox.faults.clear()
        sandbox.stats.__init__()  # type: ignore[misc]
        sandbox._window.clear()
        sandbox.config.quota_requests, sandbox.config.quota_window = 5000, 300.0
    return sandbox


@pytest.fixture(scope="module")
def worker(engine, redis_url, sandbox, token_key, tmp_path_factory) -> Iterator[Worker]:
    """One sync worker process for the module, on the test Redis, reaching the module's sandbox."""
    running = Worker(worker_env(sandbox, redis_url), tmp_path_factory.mktemp("sync") / "worker.log")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def celery_app(redis_url):
    from workers.app import make_app

    return make_app(broker_url=redis_url, result_backend=redis_url)
