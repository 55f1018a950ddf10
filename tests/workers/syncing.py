"""Helpers for sync jobs through real worker processes: a module-wide Oura sandbox and token key, the
environment a worker (or `vitalis serve`/`vitalis connect`) needs to reach them, and job waiting."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from db import crypto, jobs
from db.engine import worker_scope
from db.models.enums import JobStatus
from integrations import oura
from integrations.apps import ProviderApp
from integrations.sandbox.oura import OuraSandbox
from integrations.sandbox.server import SandboxConfig
from tests.helpers import TEST_DATABASE_URL
from tests.integrations.connecting import REDIRECT, TODAY

ROOT = Path(__file__).resolve().parents[2]
SETTLE = 60  # seconds a job may take before a test gives up on it
TOKEN_KEY = crypto.new_key()
CELERY = [sys.executable, "-m", "celery", "-A", "workers.app"]
WORKER_OPTIONS = ["-Q", "sync", "-l", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"]


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


def oura_app(sandbox: OuraSandbox) -> ProviderApp:
    return ProviderApp(
        provider=oura.PROVIDER,
        client_id=sandbox.config.client_id,
        client_secret=sandbox.config.client_secret,
        redirect_uri=REDIRECT,
        base_url=sandbox.url,
        webhook_token="subscription-verification-token",
        timeout_seconds=2,
    )


def worker_env(sandbox: OuraSandbox, redis_url: str, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": TEST_DATABASE_URL,
        "REDIS_URL": redis_url,  # broker, results and the shared pacing bucket
        "VITALIS_TOKEN_KEYS": TOKEN_KEY,
        "VITALIS_OURA_CLIENT_ID": sandbox.config.client_id,
        "VITALIS_OURA_CLIENT_SECRET": sandbox.config.client_secret,
        "VITALIS_OURA_BASE_URL": sandbox.url,
        "VITALIS_OURA_REDIRECT_URI": REDIRECT,
        "VITALIS_OURA_WEBHOOK_TOKEN": "subscription-verification-token",
        "VITALIS_RETRY_BASE_SECONDS": "0.05",
        "VITALIS_JOB_LEASE_SECONDS": "5",
        "PYTHONWARNINGS": "ignore::celery.exceptions.SecurityWarning",
        **extra,
    }
    env.pop("CELERY_BROKER_URL", None)
    env.pop("CELERY_RESULT_BACKEND", None)
    return env


class Worker:
    """`celery -A workers.app worker -Q sync` in a process group of its own."""

    def __init__(self, env: dict[str, str], log: Path, *, pool: str = "solo", concurrency: int = 1) -> None:
        self.log = log
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [*CELERY, "worker", "--pool", pool, "-c", str(concurrency), *WORKER_OPTIONS],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def job(job_id: uuid.UUID) -> jobs.JobSnapshot:
    with worker_scope() as session:
        return jobs.get(session, job_id)


def wait_for(job_id: uuid.UUID, workers: list[Worker] = (), timeout: float = SETTLE) -> jobs.JobSnapshot:  # type: ignore[assignment]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        snapshot = job(job_id)
        if snapshot.status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
            return snapshot
        time.sleep(0.1)
    logs = "\n".join(w.output()[-3000:] for w in workers)
    raise AssertionError(f"job {job_id} did not finish within {timeout}s; it is {job(job_id)}\n{logs}")
