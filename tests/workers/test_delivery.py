"""The sweeper's decisions on a real database: what is sent again, queued again or failed, and that two
sweepers never take the same job."""

from __future__ import annotations

import socket
import uuid

from sqlalchemy import delete, text
from sqlalchemy.orm import Session

from db import jobs
from db.engine import worker_scope
from db.models import IngestionJob
from db.models.enums import JobStatus, JobType
from tests.helpers import TEST_DATABASE_URL
from workers import delivery
from workers.app import make_app

RESEND_AFTER = 300.0


def _job(db: Session, **columns) -> uuid.UUID:
    job_id = jobs.create(db, job_type=JobType.SMOKE, max_attempts=3, task_name="vitalis.nightly", task_id="t")
    row = db.get(IngestionJob, job_id)
    for name, value in columns.items():
        setattr(row, name, db.scalar(text(value)) if isinstance(value, str) and value.startswith("SELECT") else value)
    db.flush()
    return job_id


def _ago(seconds: int) -> str:
    return f"SELECT now() - interval '{seconds} seconds'"


def _plan(db: Session, ids) -> tuple[jobs.SweepPlan, set[uuid.UUID]]:
    plan = jobs.sweep(db, resend_after=RESEND_AFTER)
    return plan, {r.job_id for r in plan.resend} & set(ids)


def test_the_sweeper_sends_what_nobody_took_and_leaves_what_is_in_hand(db) -> None:
    unsent = _job(db, dispatched_at=None)
    lost = _job(db, dispatched_at=_ago(600))
    fresh = _job(db)
    retry_pending = _job(db, dispatched_at=_ago(600), next_retry_at="SELECT now() + interval '1 hour'")
    retry_overdue = _job(db, dispatched_at=_ago(900), next_retry_at=_ago(600))
    running = _job(db, status=JobStatus.RUNNING, attempts=1, lease_expires_at="SELECT now() + interval '30 seconds'")

    _, resent = _plan(db, [unsent, lost, fresh, retry_pending, retry_overdue, running])

    assert resent == {unsent, lost, retry_overdue}
    assert jobs.get(db, running).status == JobStatus.RUNNING
    # Sent again means not again at the next pass: the send time moves on.
    _, resent_again = _plan(db, [unsent, lost, retry_overdue])
    assert resent_again == set()


def test_a_job_whose_lease_ran_out_is_queued_again_while_attempts_are_left_else_failed(db) -> None:
    lost_once = _job(db, status=JobStatus.RUNNING, attempts=1, claim_token=uuid.uuid4(), lease_expires_at=_ago(5))
    lost_last = _job(db, status=JobStatus.RUNNING, attempts=3, claim_token=uuid.uuid4(), lease_expires_at=_ago(5))

    plan, resent = _plan(db, [lost_once, lost_last])

    assert resent == {lost_once}
    assert plan.requeued >= 1 and plan.failed >= 1
    again = db.get(IngestionJob, lost_once)
    assert (again.status, again.attempts, again.claim_token, again.lease_expires_at) == (
        JobStatus.QUEUED,
        1,
        None,
        None,
    )
    assert again.error_message == "attempt 1 stopped before it finished (its worker was lost); it was sent again"
    done = jobs.get(db, lost_last)
    assert done.status == JobStatus.FAILED
    assert done.error_message == "the worker stopped before finishing attempt 3 of 3, and no attempts are left"


def test_a_lost_job_that_does_not_name_its_task_is_failed_with_the_reason(db) -> None:
    orphan = _job(db, task_name=None, dispatched_at=None)

    _, resent = _plan(db, [orphan])

    assert resent == set()
    job = jobs.get(db, orphan)
    assert job.status == JobStatus.FAILED
    assert job.error_message == "the job's message was lost and the job does not record which task runs it"


def test_two_sweepers_at_once_never_take_the_same_job(engine) -> None:
    with worker_scope() as session:
        ids = [_job(session, dispatched_at=None) for _ in range(5)]
    try:
        with Session(engine) as first, Session(engine) as second:
            _, taken_first = _plan(first, ids)
            _, taken_second = _plan(second, ids)  # while the first still holds its rows
            first.rollback()
            second.rollback()
        assert taken_first == set(ids)
        assert taken_second == set()
    finally:
        with worker_scope() as session:
            session.execute(delete(IngestionJob).where(IngestionJob.job_id.in_(ids)))


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_sweep_with_the_broker_away_leaves_its_jobs_marked_for_the_next_pass(engine) -> None:
    url = f"redis://127.0.0.1:{_closed_port()}/0"
    app = make_app(broker_url=url, result_backend=url)
    with worker_scope() as session:
        ids = [_job(session, dispatched_at=_ago(600)) for _ in range(3)]
    try:
        counts = delivery.sweep(app)

        assert counts["sent"] == 0
        with worker_scope() as session:
            rows = [session.get(IngestionJob, i) for i in ids]
            assert {(r.status, r.dispatched_at) for r in rows} == {(JobStatus.QUEUED, None)}
            assert {r.error_message for r in rows} == {
                f"the broker at {url} refused the connection (not running?); "
                "the job stays queued and is sent when the broker answers again"
            }
    finally:
        with worker_scope() as session:
            session.execute(delete(IngestionJob).where(IngestionJob.job_id.in_(ids)))


def test_the_sweeper_runs_inside_workers_by_default_only_for_the_database_broker() -> None:
    database = make_app(broker_url=f"sqla+{TEST_DATABASE_URL}", result_backend=f"db+{TEST_DATABASE_URL}")
    redis = make_app(broker_url="redis://127.0.0.1:6379/0", result_backend="redis://127.0.0.1:6379/0")
    assert delivery.sweep_in_worker(database) is True
    assert delivery.sweep_in_worker(redis) is False
    redis.conf.vitalis_sweep_in_worker = "1"
    database.conf.vitalis_sweep_in_worker = "0"
    assert delivery.sweep_in_worker(redis) is True
    assert delivery.sweep_in_worker(database) is False
