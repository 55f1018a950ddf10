"""The job lifecycle on a real database: claims, leases, duplicates, lost claims, exhausted attempts,
and how errors are put on the job row."""

from __future__ import annotations

import time
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from db import jobs
from db.models import IngestionJob
from db.models.enums import JobStatus, JobType
from tests.helpers import TEST_DATABASE_URL
from workers.jobtask import describe, is_transient

LEASE = 30.0


def _new_job(db: Session, *, max_attempts: int = 4) -> uuid.UUID:
    return jobs.create(db, job_type=JobType.SMOKE, max_attempts=max_attempts, task_name="vitalis.nightly")


def _expire_lease(db: Session, job_id: uuid.UUID) -> None:
    db.get(IngestionJob, job_id).lease_expires_at = db.scalar(text("SELECT now() - interval '1 second'"))
    db.flush()


def test_only_one_attempt_claims_a_job_and_a_second_delivery_is_a_duplicate(db) -> None:
    job_id = _new_job(db)

    first = jobs.claim(db, job_id, task_id="t1", lease_seconds=LEASE)
    second = jobs.claim(db, job_id, task_id="t2", lease_seconds=LEASE)

    assert first.outcome is jobs.Outcome.CLAIMED
    assert (first.job.status, first.job.attempts) == (JobStatus.RUNNING, 1)
    assert second.outcome is jobs.Outcome.BUSY
    assert second.token is None
    assert jobs.get(db, job_id).attempts == 1


def test_a_claim_whose_lease_ran_out_is_taken_over_and_its_outcome_no_longer_counts(db) -> None:
    job_id = _new_job(db)
    stale = jobs.claim(db, job_id, task_id="t1", lease_seconds=LEASE)
    _expire_lease(db, job_id)

    fresh = jobs.claim(db, job_id, task_id="t2", lease_seconds=LEASE)

    assert fresh.outcome is jobs.Outcome.CLAIMED
    assert fresh.job.attempts == 2
    assert jobs.renew(db, job_id, stale.token, LEASE) is False
    assert jobs.succeed(db, job_id, stale.token, {"from": "stale"}) is False
    assert jobs.fail(db, job_id, stale.token, "stale") is False
    assert jobs.get(db, job_id).status == JobStatus.RUNNING
    assert jobs.succeed(db, job_id, fresh.token, {"from": "fresh"}) is True
    job = jobs.get(db, job_id)
    assert (job.status, job.result) == (JobStatus.SUCCEEDED, {"from": "fresh"})


def test_renewing_keeps_a_lease_alive(db) -> None:
    job_id = _new_job(db)
    claim = jobs.claim(db, job_id, task_id="t1", lease_seconds=0.01)
    time.sleep(0.05)

    assert jobs.renew(db, job_id, claim.token, LEASE) is True

    assert jobs.claim(db, job_id, task_id="t2", lease_seconds=LEASE).outcome is jobs.Outcome.BUSY


def test_a_finished_job_is_handed_back_not_run_again(db) -> None:
    job_id = _new_job(db)
    claim = jobs.claim(db, job_id, task_id="t1", lease_seconds=LEASE)
    jobs.succeed(db, job_id, claim.token, {"rows": 3})

    again = jobs.claim(db, job_id, task_id="t1", lease_seconds=LEASE)

    assert again.outcome is jobs.Outcome.FINISHED
    assert (again.job.result, again.job.attempts) == ({"rows": 3}, 1)


def test_a_failed_job_stays_failed_when_delivered_again(db) -> None:
    job_id = _new_job(db)
    claim = jobs.claim(db, job_id, task_id="t1", lease_seconds=LEASE)
    jobs.fail(db, job_id, claim.token, "ValueError: bad")

    again = jobs.claim(db, job_id, task_id="t1", lease_seconds=LEASE)

    assert again.outcome is jobs.Outcome.CLOSED
    assert (again.job.status, again.job.attempts) == (JobStatus.FAILED, 1)


def test_a_delivery_after_the_last_attempt_died_fails_the_job_with_a_plain_reason(db) -> None:
    job_id = _new_job(db, max_attempts=2)
    for _ in range(2):
        assert jobs.claim(db, job_id, task_id="t", lease_seconds=LEASE).outcome is jobs.Outcome.CLAIMED
        _expire_lease(db, job_id)

    last = jobs.claim(db, job_id, task_id="t", lease_seconds=LEASE)

    assert last.outcome is jobs.Outcome.EXHAUSTED
    job = jobs.get(db, job_id)
    assert (job.status, job.attempts) == (JobStatus.FAILED, 2)
    assert job.error_message == "the worker stopped before finishing attempt 2 of 2, and no attempts are left"


def test_a_retry_puts_the_job_back_in_the_queue_until_its_time(db) -> None:
    job_id = _new_job(db)
    claim = jobs.claim(db, job_id, task_id="t1", lease_seconds=LEASE)

    assert jobs.retry_later(db, job_id, claim.token, "TransientError: 503", 60) is True

    row = db.get(IngestionJob, job_id)
    db.refresh(row)
    assert (row.status, row.claim_token, row.lease_expires_at) == (JobStatus.QUEUED, None, None)
    assert row.next_retry_at > row.started_at
    assert jobs.claim(db, job_id, task_id="t1", lease_seconds=LEASE).job.attempts == 2


def _database_error(sql: str, params: dict) -> Exception:
    engine = create_engine(TEST_DATABASE_URL)
    try:
        with engine.connect() as conn:
            conn.execute(text(sql), params)
    except Exception as exc:
        return exc
    finally:
        engine.dispose()
    raise AssertionError("the statement was expected to fail")


def test_a_database_error_goes_on_the_job_row_without_sql_or_values() -> None:
    exc = _database_error(
        "SELECT CAST(:heart_rate AS smallint), CAST(:user_id AS uuid)",
        {
            "heart_rate": 912345,
            "user_id": "6b1f3c1e-6f0e-4a8e-9d55-3f8f6a0c2b11",
        },
    )

    message = describe(exc)

    assert message == "the database refused the data (NumericValueOutOfRange): smallint out of range"
    assert not is_transient(exc)


def test_an_unreachable_database_is_transient_and_described_plainly() -> None:
    engine = create_engine("postgresql+psycopg://postgres@127.0.0.1:1/none", connect_args={"connect_timeout": 2})
    try:
        with pytest.raises(Exception) as caught, engine.connect():
            pass
    finally:
        engine.dispose()

    assert is_transient(caught.value)
    assert describe(caught.value) == "the database could not be reached or gave up on the statement (OperationalError)"
