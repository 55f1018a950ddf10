"""The Apple Health import with its worker killed midway: the sweeper hands the job to another worker,
whose rerun completes the import without writing anything twice. On the database broker (the embedded
default) only: how each broker brings a killed worker's job back is tests/workers/test_faults.py's
subject, what the rerun of an import leaves behind is this one's. Leases and sweeps run in seconds here
(tests.workers.test_faults.WORKER_ENV)."""

from __future__ import annotations

import io
import os
import time

import pytest
from sqlalchemy import func, select, text

import tests.workers.apple_faulty  # noqa: F401  (registers the holding import in this process too)
from db import jobs
from db.apple_health_documents import export_document, store_export
from db.engine import admin_scope, user_scope, worker_scope
from db.models import Measurement
from db.models.enums import JobStatus, JobType, ParseStatus
from tests.helpers import TEST_DATABASE_URL
from tests.parsers.apple_health.exports import document, quantity, zipped
from tests.workers.processes import WorkerProcess
from tests.workers.test_faults import WORKER_ENV
from workers.app import make_app
from workers.tasks import enqueue

SETTLE = 45

WEIGHTS = tuple(
    quantity("BodyMass", f"2024-03-{day:02d} {hour:02d}:00:00 +0100", None, 70 + day / 10, "kg")
    for day in range(1, 21)
    for hour in (7, 19)
)
# A heart rate a minute for a week after them: enough bytes that the first batch is written well before
# the reader reaches the end of the file.
PULSE = tuple(
    quantity(
        "HeartRate",
        f"2024-04-{1 + minute // 1440:02d} {minute // 60 % 24:02d}:{minute % 60:02d}:00 +0100",
        None,
        61,
        "count/min",
    )
    for minute in range(7 * 1440)
)


class Worker(WorkerProcess):
    queues = "default,documents"
    imports = ("tests.workers.apple_faulty",)


@pytest.fixture
def broker(engine, tmp_path, monkeypatch):
    """The database broker with no beat, as on the embedded default: workers sweep on their own."""
    monkeypatch.setenv("VITALIS_HOME", str(tmp_path))  # the document store, the test's and its workers'
    monkeypatch.delenv("VITALIS_DOCUMENT_STORE", raising=False)
    env = {**os.environ, **WORKER_ENV, "DATABASE_URL": TEST_DATABASE_URL, "VITALIS_FAULT_DIR": str(tmp_path)}
    env["VITALIS_PROGRESS_INTERVAL_SECONDS"] = "0"  # every step on the row, so the one before the strike is there
    env["PYTHONWARNINGS"] = "ignore::celery.exceptions.SecurityWarning"
    for name in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "REDIS_URL", "VITALIS_SWEEP_IN_WORKER"):
        env.pop(name, None)
    app = make_app(broker_url=f"sqla+{TEST_DATABASE_URL}", result_backend=f"db+{TEST_DATABASE_URL}")
    started: list[Worker] = []

    def start() -> Worker:
        worker = Worker(env, tmp_path / f"worker-{len(started)}.log")
        started.append(worker)
        return worker

    yield app, start, tmp_path
    for worker in started:
        worker.kill()


def _job(job_id) -> jobs.JobSnapshot:
    with worker_scope() as session:
        return jobs.get(session, job_id)


def _wait(until, what: str, workers) -> None:
    deadline = time.monotonic() + SETTLE
    while not until():
        if time.monotonic() > deadline:
            logs = "\n".join(w.output()[-3000:] for w in workers)
            raise AssertionError(f"{what} did not happen within {SETTLE}s\n{logs}")
        time.sleep(0.1)


def test_a_worker_killed_midway_is_recovered_and_the_rerun_completes_the_import_once(broker, committed_users) -> None:
    app, start, fault_dir = broker
    user, _ = committed_users
    stored = store_export(user, io.BytesIO(zipped(document(*WEIGHTS, *PULSE))), filename="export.zip")
    first = start()
    job_id = enqueue(
        app.tasks["tests.faults.apple_import_holding"],
        JobType.APPLE_HEALTH_IMPORT,
        user_id=user,
        payload={"document_id": str(stored.document_id)},
    )
    _wait((fault_dir / f"{job_id}.1").exists, "the first batch", [first])

    # Midway: the first batch is committed and the job row shows how far the import got.
    running = _job(job_id)
    assert running.status == JobStatus.RUNNING
    progress = running.result["progress"]
    assert progress["rows"] == 10 and progress["records"] >= 5
    assert 0 < progress["bytes"] <= progress["bytes_total"] and 0 < progress["fraction"] < 1
    assert running.result["document_id"] == str(stored.document_id)
    midway = export_document(user, stored.document_id)
    assert midway.status == ParseStatus.PROCESSING

    first.kill()
    second = start()
    _wait(lambda: _job(job_id).status in (JobStatus.SUCCEEDED, JobStatus.FAILED), "the job's end", [second])

    job = _job(job_id)
    assert (job.status, job.attempts, job.error_message) == (JobStatus.SUCCEEDED, 2, None)
    # The rerun found the first batch as it was and wrote the rest: 40 weights, each inserted once.
    assert job.result["written"]["measurements"] == {"inserted": 30, "updated": 0, "unchanged": 10}
    with user_scope(user) as session:
        assert session.scalar(select(func.count()).select_from(Measurement)) == 40
    with admin_scope() as session:
        changes = session.execute(
            text(
                "SELECT action::text, count(*) FROM audit_log WHERE user_id = :u AND table_name = 'measurements'"
                " GROUP BY action"
            ),
            {"u": user},
        ).all()
    assert dict(changes) == {"INSERT": 40}
    done = export_document(user, stored.document_id)
    assert (done.status, done.error) == (ParseStatus.PARSED, None)
