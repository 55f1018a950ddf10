"""The Apple Health import job end to end: an export stored as a document, imported by a real worker on
both brokers, its report on the job and the document; a broken export failing both with its reason.
A worker killed midway is in test_apple_faults.py."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from celery.contrib.testing.worker import start_worker
from celery.result import AsyncResult
from sqlalchemy import func, select

from db import jobs
from db.apple_health_documents import store_export
from db.engine import user_scope, worker_scope
from db.models import Document, IngestionJob, WearableActivity, WearableDaily
from db.models.enums import JobStatus, JobType, ParseStatus
from tests.db.test_apple_health import export
from tests.helpers import TEST_DATABASE_URL
from tests.parsers.apple_health.exports import quantity
from workers.app import make_app
from workers.apple_tasks import TASK_NAME, enqueue_import
from workers.jobtask import JobFailed

TIMEOUT = 30
BAD_DATE = quantity("StepCount", "2024-02-30 08:00:00 +0100", "2024-02-30 08:10:00 +0100", 10, "count")


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """A document store of this module's own, seen by the test and by its workers."""
    path = tmp_path_factory.mktemp("vitalis-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VITALIS_HOME", str(path))
        patch.delenv("VITALIS_DOCUMENT_STORE", raising=False)
        yield path


@pytest.fixture(scope="module", params=["redis", "database"])
def app(request, engine, redis_url, home):
    if request.param == "redis":
        app = make_app(broker_url=redis_url, result_backend=redis_url)
    else:
        app = make_app(broker_url=f"sqla+{TEST_DATABASE_URL}", result_backend=f"db+{TEST_DATABASE_URL}")
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20):
        yield app


def _job(job_id) -> jobs.JobSnapshot:
    with worker_scope() as session:
        return jobs.get(session, job_id)


def _task_id(job_id) -> str:
    with worker_scope() as session:
        return session.get(IngestionJob, job_id).task_id


def _document(user, document_id) -> Document:
    with user_scope(user) as session:
        row = session.get(Document, document_id)
        session.expunge(row)
        return row


def test_a_stored_export_is_imported_by_a_worker_with_its_report_on_the_job_and_the_document(
    app, committed_users
) -> None:
    user, _ = committed_users
    stored = store_export(user, io.BytesIO(export(BAD_DATE)), filename="export.zip")
    assert app.amqp.router.route({}, TASK_NAME)["queue"].name == "documents"

    job_id = enqueue_import(user, stored.document_id, app=app)
    result = AsyncResult(_task_id(job_id), app=app).get(timeout=TIMEOUT)

    job = _job(job_id)
    # The message and the job carry the document's id, never its bytes.
    assert job.payload == {"document_id": str(stored.document_id)}
    assert (job.job_type, job.status, job.attempts, job.error_message) == (
        JobType.APPLE_HEALTH_IMPORT,
        JobStatus.SUCCEEDED,
        1,
        None,
    )
    assert job.result == result
    assert result["written"]["wearable_daily"] == {"inserted": 2, "updated": 0, "unchanged": 0}
    assert result["written"]["measurements"]["inserted"] == 2
    assert result["skipped"] == {"HKQuantityTypeIdentifierStepCount: invalid date": 1}
    assert result["skipped_lines"]["HKQuantityTypeIdentifierStepCount: invalid date"]
    row = _document(user, stored.document_id)
    assert (row.document_type, row.mime_type, row.parse_status, row.error_message) == (
        "apple_health_export",
        "application/zip",
        ParseStatus.PARSED,
        None,
    )
    assert row.parsed_at is not None
    report = {key: value for key, value in result.items() if key != "document_id"}
    assert row.parse_result == {**report, "job_id": str(job_id)}
    with user_scope(user) as session:
        steps = dict(session.execute(select(WearableDaily.date, WearableDaily.steps)).all())
        ride = session.scalar(select(WearableActivity.distance_m))
    assert steps == {date(2024, 3, 10): 1700, date(2024, 3, 11): 700}
    assert ride == Decimal("20000.00")

    # The same document imported again (an upload repeated, a job re-sent): every row is unchanged.
    again = enqueue_import(user, stored.document_id, app=app)
    second = AsyncResult(_task_id(again), app=app).get(timeout=TIMEOUT)
    assert {table: stats["inserted"] + stats["updated"] for table, stats in second["written"].items()} == {
        table: 0 for table in result["written"]
    }
    assert _document(user, stored.document_id).parse_status == ParseStatus.PARSED


def test_a_truncated_zip_fails_the_job_and_the_document_with_its_reason(app, committed_users) -> None:
    user, _ = committed_users
    data = export()
    stored = store_export(user, io.BytesIO(data[: len(data) // 2]), filename="export.zip")

    job_id = enqueue_import(user, stored.document_id, app=app)
    with pytest.raises(JobFailed, match=r"failed \(ExportError\); the job record holds the details"):
        AsyncResult(_task_id(job_id), app=app).get(timeout=TIMEOUT)

    reason = "the zip archive is incomplete or damaged (no central directory); upload it again"
    job = _job(job_id)
    assert (job.status, job.attempts, job.error_message) == (JobStatus.FAILED, 1, f"ExportError: {reason}")
    row = _document(user, stored.document_id)
    assert (row.parse_status, row.error_message) == (ParseStatus.FAILED, reason)
    assert row.parse_result == {"error": "truncated_zip", "job_id": str(job_id)}
    with user_scope(user) as session:
        assert session.scalar(select(func.count()).select_from(WearableDaily)) == 0
