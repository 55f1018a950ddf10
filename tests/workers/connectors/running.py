"""Running connector jobs in real processes: the environment a worker (or `vitalis serve`, `vitalis
connect`) needs to reach the sandbox, the worker process, and waiting for a job."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from db import crypto, jobs
from db.engine import worker_scope
from db.models.enums import JobStatus
from integrations import oura
from integrations.apps import ProviderApp
from integrations.sandbox.oura import OuraSandbox
from tests.helpers import TEST_DATABASE_URL
from tests.integrations.connecting import REDIRECT
from tests.workers.processes import WorkerProcess

ROOT = Path(__file__).resolve().parents[3]
SETTLE = 60  # seconds a job may take before a test gives up on it
TOKEN_KEY = crypto.new_key()


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
        **extra,
    }
    env.pop("CELERY_BROKER_URL", None)
    env.pop("CELERY_RESULT_BACKEND", None)
    return env


class Worker(WorkerProcess):
    queues = "sync"


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


def vitalis(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run the `vitalis` command in a process of its own."""
    return subprocess.run(
        [sys.executable, "-m", "workers.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def start_vitalis(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    """Start `vitalis` in the background; its output is read line by line."""
    return subprocess.Popen(
        [sys.executable, "-u", "-m", "workers.cli", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def read_until(proc: subprocess.Popen[str], prefix: str, timeout: float = 30) -> str:
    """The first line of `proc`'s output that starts with `prefix` (the process is killed after `timeout`)."""
    import threading

    assert proc.stdout is not None
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    seen = []
    try:
        for line in proc.stdout:
            seen.append(line)
            if line.startswith(prefix):
                return line.strip()
    finally:
        timer.cancel()
    proc.kill()
    raise AssertionError(f"no line starting with {prefix!r}; output: {''.join(seen)}; errors: {proc.stderr.read()}")


def remove_users(users: list[uuid.UUID]) -> None:
    """Remove people created for a test (their connections and rows go with their account)."""
    from sqlalchemy import delete

    from db.engine import admin_scope
    from db.models import Account, User

    with admin_scope() as session:
        accounts = [session.get(User, u).account_id for u in users]
        session.execute(delete(Account).where(Account.account_id.in_(accounts)))
