"""Celery end to end: a real worker on a real broker (Redis, and the database transport), with every
job's story recorded in ingestion_jobs."""

from __future__ import annotations

import logging
import uuid
from datetime import date

import pytest
from celery import shared_task
from celery.contrib.testing.worker import start_worker
from celery.result import AsyncResult
from sqlalchemy import create_engine, func, select, text

from db import jobs
from db.engine import user_scope, worker_scope
from db.models import WearableDaily
from db.models.enums import JobStatus, JobType
from tests.helpers import TEST_DATABASE_URL
from workers.app import make_app
from workers.jobtask import JobFailed, JobTask, TransientError
from workers.tasks import enqueue

TIMEOUT = 30


@shared_task(bind=True, base=JobTask, name="tests.always_transient")
def always_transient(self: JobTask, job_id: str) -> dict:
    def work(job: jobs.JobSnapshot) -> dict:
        raise TransientError("provider answered 503 Service Unavailable")

    return self.run_job(job_id, work)


@shared_task(bind=True, base=JobTask, name="tests.database_unreachable")
def database_unreachable(self: JobTask, job_id: str) -> dict:
    def work(job: jobs.JobSnapshot) -> dict:
        unreachable = create_engine("postgresql+psycopg://postgres@127.0.0.1:1/none")
        try:
            with unreachable.connect():
                return {}
        finally:
            unreachable.dispose()

    return self.run_job(job_id, work)


@shared_task(bind=True, base=JobTask, name="tests.database_refuses")
def database_refuses(self: JobTask, job_id: str) -> dict:
    def work(job: jobs.JobSnapshot) -> dict:
        with user_scope(job.user_id) as session:
            session.execute(text("SELECT CAST(:resting_hr AS smallint)"), {"resting_hr": 91234})
        return {}

    return self.run_job(job_id, work)


@pytest.fixture(scope="module", params=["redis", "database"])
def app(request, engine, redis_url):
    if request.param == "redis":
        app = make_app(broker_url=redis_url, result_backend=redis_url)
    else:
        app = make_app(broker_url=f"sqla+{TEST_DATABASE_URL}", result_backend=f"db+{TEST_DATABASE_URL}")
    # Retries in seconds, not minutes, so the retry path runs in a test.
    app.conf.vitalis_retry_base_seconds = 0.05
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20):
        yield app


def _job(job_id) -> jobs.JobSnapshot:
    with worker_scope() as session:
        return jobs.get(session, job_id)


def _task_id(job_id) -> str:
    from db.models import IngestionJob

    with worker_scope() as session:
        return session.get(IngestionJob, job_id).task_id


def _daily_rows(user) -> int:
    with user_scope(user) as session:
        return session.scalar(select(func.count()).select_from(WearableDaily).where(WearableDaily.user_id == user))


def test_a_task_round_trips_and_its_job_ends_succeeded(app, committed_users) -> None:
    user, _ = committed_users
    task = app.tasks["vitalis.ingest.manual_daily"]
    job_id = enqueue(task, JobType.SMOKE, user_id=user, payload={"date": "2026-11-20", "metrics": {"steps": 8123}})

    result = AsyncResult(_task_id(job_id), app=app).get(timeout=TIMEOUT)

    assert result == {"date": "2026-11-20", "metrics": 1, "inserted": 1, "updated": 0, "unchanged": 0}
    job = _job(job_id)
    assert (job.status, job.attempts, job.error_message) == (JobStatus.SUCCEEDED, 1, None)
    assert job.result == result
    assert _daily_rows(user) == 1


def test_running_a_finished_job_again_changes_nothing(app, committed_users) -> None:
    user, _ = committed_users
    task = app.tasks["vitalis.ingest.manual_daily"]
    payload = {"date": "2026-11-21", "metrics": {"steps": 6000, "resting_hr_bpm": 58}}
    job_id = enqueue(task, JobType.SMOKE, user_id=user, payload=payload)
    first = AsyncResult(_task_id(job_id), app=app).get(timeout=TIMEOUT)

    again = task.apply_async(args=[str(job_id)]).get(timeout=TIMEOUT)  # as a redelivery would

    assert again == first
    assert _job(job_id).attempts == 1
    assert _daily_rows(user) == 1


def test_bad_input_fails_the_job_with_the_error_and_keeps_what_was_stored(app, committed_users, caplog) -> None:
    caplog.set_level(logging.INFO)
    user, _ = committed_users
    task = app.tasks["vitalis.ingest.manual_daily"]
    good = enqueue(task, JobType.SMOKE, user_id=user, payload={"date": "2026-11-19", "metrics": {"resting_hr_bpm": 55}})
    AsyncResult(_task_id(good), app=app).get(timeout=TIMEOUT)

    bad = enqueue(task, JobType.SMOKE, user_id=user, payload={"date": "2026-11-19", "metrics": {"resting_hr_bpm": 400}})
    with pytest.raises(JobFailed, match=r"failed \(ValidationError\); the job record holds the details") as caught:
        AsyncResult(_task_id(bad), app=app).get(timeout=TIMEOUT)
    # The value itself stays on the job row, out of the broker's results and the worker's log.
    assert "outside the allowed range" not in str(caught.value)
    assert "failed after 1 attempt(s): ValidationError" in caplog.text
    assert "outside the allowed range" not in caplog.text

    job = _job(bad)
    assert job.status == JobStatus.FAILED
    assert job.attempts == 1
    assert (
        job.error_message == "ValidationError: wearable_daily.resting_hr_bpm: 400 is outside the allowed range 20–300"
    )
    with user_scope(user) as session:
        stored = session.scalar(select(WearableDaily.resting_hr_bpm).where(WearableDaily.date == date(2026, 11, 19)))
    assert stored == 55


def test_a_malformed_payload_fails_with_a_plain_message(app, committed_users) -> None:
    user, _ = committed_users
    task = app.tasks["vitalis.ingest.manual_daily"]
    job_id = enqueue(task, JobType.SMOKE, user_id=user, payload={"date": "yesterday", "metrics": {"steps": 1}})
    with pytest.raises(JobFailed, match=r"\(ValueError\)"):
        AsyncResult(_task_id(job_id), app=app).get(timeout=TIMEOUT)
    job = _job(job_id)
    assert job.status == JobStatus.FAILED
    assert job.error_message == "ValueError: payload.date 'yesterday' is not a date (expected YYYY-MM-DD)"


def test_a_transient_failure_is_retried_a_bounded_number_of_times_then_fails(app) -> None:
    task = app.tasks["tests.always_transient"]
    job_id = enqueue(task, JobType.DAILY_SYNC)
    with pytest.raises(JobFailed, match=r"\(TransientError\)"):
        AsyncResult(_task_id(job_id), app=app).get(timeout=TIMEOUT)
    # The result arrives from the last attempt; its job row is written just before.
    job = _job(job_id)
    assert job.status == JobStatus.FAILED
    assert job.attempts == JobTask.max_retries + 1
    assert job.error_message == "TransientError: provider answered 503 Service Unavailable"


def test_a_payload_of_the_wrong_shape_fails_with_a_clear_message(app, committed_users) -> None:
    user, _ = committed_users
    task = app.tasks["vitalis.ingest.manual_daily"]
    job_id = enqueue(task, JobType.SMOKE, user_id=user, payload={"date": "2026-11-20", "metrics": [8123]})
    with pytest.raises(JobFailed, match=r"\(ValueError\)"):
        AsyncResult(_task_id(job_id), app=app).get(timeout=TIMEOUT)
    job = _job(job_id)
    assert (job.status, job.attempts) == (JobStatus.FAILED, 1)
    assert job.error_message == "ValueError: payload.metrics is a list; expected an object of metric name → number"


def test_an_unreachable_database_is_retried_as_transient_then_fails_in_plain_words(app) -> None:
    job_id = enqueue(app.tasks["tests.database_unreachable"], JobType.DAILY_SYNC)
    with pytest.raises(JobFailed, match=r"\(OperationalError\)"):
        AsyncResult(_task_id(job_id), app=app).get(timeout=TIMEOUT)
    job = _job(job_id)
    assert (job.status, job.attempts) == (JobStatus.FAILED, JobTask.max_retries + 1)
    assert job.error_message == "the database could not be reached or gave up on the statement (OperationalError)"


def test_a_database_error_reaches_the_job_row_without_its_sql_or_values(app, committed_users) -> None:
    user, _ = committed_users
    job_id = enqueue(app.tasks["tests.database_refuses"], JobType.SMOKE, user_id=user)
    with pytest.raises(JobFailed, match=r"\(DataError\)"):
        AsyncResult(_task_id(job_id), app=app).get(timeout=TIMEOUT)
    job = _job(job_id)
    assert job.status == JobStatus.FAILED
    assert job.error_message == "the database refused the data (NumericValueOutOfRange): smallint out of range"


def test_a_job_that_cannot_be_saved_is_refused_without_quoting_its_values(engine) -> None:
    from workers.tasks import JobNotSaved

    nobody = uuid.uuid4()
    payload = {"date": "2026-11-20", "metrics": {"resting_hr_bpm": 61}}
    with pytest.raises(JobNotSaved) as caught:
        enqueue("vitalis.ingest.manual_daily", JobType.SMOKE, user_id=nobody, payload=payload)
    assert str(caught.value) == "the job could not be saved (IntegrityError); nothing was queued"


def test_the_nightly_run_records_itself_and_keeps_partitions_ahead(app) -> None:
    from db.models import IngestionJob

    result = app.tasks["vitalis.nightly"].apply_async().get(timeout=TIMEOUT)

    assert (result["years_ensured"], result["audit_quarters_ensured"]) == (2, 5)
    assert result["insights"]["batch_size"] == 50  # the documented default
    with worker_scope() as session:
        job = session.scalars(
            select(IngestionJob).where(IngestionJob.job_type == JobType.NIGHTLY).order_by(IngestionJob.queued_at.desc())
        ).first()
        assert (job.status, job.user_id, job.result) == (JobStatus.SUCCEEDED, None, result)
        next_year = session.execute(
            text("SELECT to_regclass('wearable_daily_' || (extract(year FROM now())::int + 1))")
        ).scalar()
    assert next_year is not None
