"""The nightly insights run through real workers on both brokers: fan-out in batches, per-user
transactions, a failing user reported without stopping the others, dismissed insights kept dismissed;
and `vitalis insights run` at the terminal."""

from __future__ import annotations

import time
import uuid

import pytest
from celery.contrib.testing.worker import start_worker
from celery.result import AsyncResult
from sqlalchemy import insert, select, text, update

from db import jobs
from db.engine import admin_scope, user_scope, worker_scope
from db.models import IngestionJob, Insight, InsightRun, MoodJournal
from db.models.enums import JobStatus, JobType
from db.partitions import ensure_years
from tests.helpers import TEST_DATABASE_URL, create_user
from tests.insights.history import add_linked_history, today
from workers.app import make_app
from workers.cli import main
from workers.tasks import enqueue

TIMEOUT = 60


@pytest.fixture(scope="module", params=["redis", "database"])
def app(request, engine, redis_url):
    if request.param == "redis":
        app = make_app(broker_url=redis_url, result_backend=redis_url)
    else:
        app = make_app(broker_url=f"sqla+{TEST_DATABASE_URL}", result_backend=f"db+{TEST_DATABASE_URL}")
    app.conf.vitalis_retry_base_seconds = 0.05
    app.conf.vitalis_insights_batch_size = 2
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20):
        yield app


@pytest.fixture
def people(engine):
    """Three committed users with linked HRV and mood; removed afterwards."""
    ensure_years(engine, {today().year - 1, today().year})
    with admin_scope() as session:
        ids = [create_user(session) for _ in range(3)]
    for seed, user in enumerate(ids):
        add_linked_history(user, seed=seed)
    yield ids
    with admin_scope() as session:
        session.execute(
            text("DELETE FROM accounts WHERE account_id IN (SELECT account_id FROM users WHERE user_id = ANY(:u))"),
            {"u": ids},
        )


def insights_of(user: uuid.UUID) -> list[Insight]:
    with admin_scope() as s:
        return list(s.scalars(select(Insight).where(Insight.user_id == user).order_by(Insight.insight_id)))


def computed(user: uuid.UUID) -> bool:
    with admin_scope() as s:
        run = s.get(InsightRun, user)
        return run is not None and run.computed_at is not None


def batch_jobs(nightly_id) -> list[IngestionJob]:
    with worker_scope() as s:
        return list(
            s.scalars(
                select(IngestionJob).where(
                    IngestionJob.job_type == JobType.INSIGHTS, IngestionJob.payload["nightly"].astext == str(nightly_id)
                )
            )
        )


def wait_finished(job_ids, timeout: float = TIMEOUT) -> list[jobs.JobSnapshot]:
    deadline = time.monotonic() + timeout
    while True:
        with worker_scope() as s:
            found = [jobs.get(s, j) for j in job_ids]
        if all(j.status in (JobStatus.SUCCEEDED, JobStatus.FAILED) for j in found):
            return found
        assert time.monotonic() < deadline, [j.status for j in found]
        time.sleep(0.1)


def run_batch(app, users) -> jobs.JobSnapshot:
    payload = {"user_ids": [str(u) for u in users], "today": today().isoformat()}
    job_id = enqueue(app.tasks["vitalis.insights.run_batch"], JobType.INSIGHTS, payload=payload)
    return wait_finished([job_id])[0]


def test_the_nightly_run_fans_out_batches_that_analyse_every_due_user(app, people) -> None:
    nightly = app.tasks["vitalis.nightly"].apply_async().get(timeout=TIMEOUT)
    fanned = nightly["insights"]
    assert fanned["batch_size"] == 2 and fanned["batches"] == -(-fanned["users"] // 2) and fanned["users"] >= 3
    with worker_scope() as s:
        nightly_id = s.scalar(
            select(IngestionJob.job_id).where(IngestionJob.job_type == JobType.NIGHTLY)
            .order_by(IngestionJob.queued_at.desc())
        )  # fmt: skip
    batches = batch_jobs(nightly_id)
    assert len(batches) == fanned["batches"]
    mine = {str(u) for u in people}
    assert mine <= {u for b in batches for u in b.payload["user_ids"]}
    assert all(len(b.payload["user_ids"]) <= 2 for b in batches)

    done = wait_finished([b.job_id for b in batches])
    assert all(j.status == JobStatus.SUCCEEDED for j in done)
    for j in done:
        counts = j.result["counts"]
        assert counts["users"] == len(j.payload["user_ids"]) == counts["analysed"] + counts["skipped"]
        assert j.result["failed"] == []
    for user in people:
        assert computed(user)
        assert any({i.metric_a, i.metric_b} == {"wearable.hrv_rmssd_ms", "journal.mood_score"}
                   for i in insights_of(user))  # fmt: skip

    # Nothing changed: the next night queues none of them again.
    app.tasks["vitalis.nightly"].apply_async().get(timeout=TIMEOUT)
    with worker_scope() as s:
        latest = s.scalar(
            select(IngestionJob.job_id).where(IngestionJob.job_type == JobType.NIGHTLY)
            .order_by(IngestionJob.queued_at.desc())
        )  # fmt: skip
    assert not mine & {u for b in batch_jobs(latest) for u in b.payload["user_ids"]}

    # A retried nightly job queues no second set of batches.
    from workers.nightly_insights import fan_out

    assert fan_out(app, nightly_id, today(), 2) == {"batches": len(batches), "already_queued": True}


FAULT = """
CREATE SEQUENCE IF NOT EXISTS test_insight_fault;
CREATE OR REPLACE FUNCTION test_insight_fault() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    IF NEW.user_id = CAST(TG_ARGV[0] AS uuid) THEN
        RAISE EXCEPTION 'planted fault for this user';
    END IF;
    IF NEW.user_id = CAST(TG_ARGV[1] AS uuid) AND nextval('test_insight_fault') = 1 THEN
        RAISE EXCEPTION 'planted deadlock' USING ERRCODE = 'deadlock_detected';
    END IF;
    RETURN NEW;
END $$;
"""


@pytest.fixture
def faults(people):
    """A database that refuses the first user's insights for good and the second's once (a deadlock)."""
    broken, flaky, _ = people
    with admin_scope() as s:
        s.execute(text(FAULT))
        s.execute(text("ALTER SEQUENCE test_insight_fault RESTART"))
        s.execute(text(f"CREATE TRIGGER test_insight_fault BEFORE INSERT ON insights FOR EACH ROW"
                       f" EXECUTE FUNCTION test_insight_fault('{broken}', '{flaky}')"))  # fmt: skip
    yield people
    with admin_scope() as s:
        s.execute(text("DROP TRIGGER test_insight_fault ON insights"))
        s.execute(text("DROP FUNCTION test_insight_fault()"))
        s.execute(text("DROP SEQUENCE test_insight_fault"))


def test_a_failing_user_is_reported_and_a_transient_one_retried_without_stopping_the_others(app, faults) -> None:
    broken, flaky, healthy = faults
    job = run_batch(app, [broken, flaky, healthy])

    assert job.status == JobStatus.SUCCEEDED
    assert job.attempts == 2  # the deadlock retried the batch once, for the users left
    assert job.result["failed"] == [{"user_id": str(broken), "error": "ProgrammingError"}]
    counts = job.result["counts"]
    assert (counts["users"], counts["analysed"], counts["failed"]) == (3, 2, 1)
    # The reason in words is on the job row, not in the result that reaches the broker's backend.
    assert list(job.result["reasons"]) == [str(broken)] and "planted fault" in job.result["reasons"][str(broken)]
    assert "planted" not in str(AsyncResult(job.task_id, app=app).get(timeout=TIMEOUT))
    assert insights_of(broken) == [] and not computed(broken)  # stays due for the next night
    for user in (flaky, healthy):
        assert insights_of(user) and computed(user)


def test_dismissed_insights_stay_dismissed_when_the_task_runs_again(app, people) -> None:
    user = people[0]
    assert run_batch(app, [user]).status == JobStatus.SUCCEEDED
    target = insights_of(user)[0]
    with user_scope(user) as s:  # the person dismisses it
        s.execute(update(Insight).where(Insight.insight_id == target.insight_id).values(is_dismissed=True))
    with user_scope(user) as s:  # today's journal: the user is due again
        s.execute(insert(MoodJournal).values(user_id=user, journal_date=today(), mood_score=3))
    with worker_scope() as s:
        from insights.runs import users_needing_run

        assert user in users_needing_run(s, today())

    job = run_batch(app, [user])

    assert job.status == JobStatus.SUCCEEDED and job.result["counts"]["suppressed"] >= 1
    again = [i for i in insights_of(user) if (i.metric_a, i.metric_b) == (target.metric_a, target.metric_b)]
    assert [(i.insight_id, i.is_dismissed) for i in again] == [(target.insight_id, True)]


def test_insights_run_for_one_user_at_the_terminal(engine, people, capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "160")  # the table's width when not on a terminal
    user = people[0]
    with admin_scope() as s:
        email = s.scalar(text("SELECT email FROM users WHERE user_id = :u"), {"u": user})

    assert main(["insights", "run", "--user", email]) == 0
    first = capsys.readouterr().out
    assert email in first and "written" in first and "1 users" in first
    written = len(insights_of(user))
    assert written >= 1 and computed(user)

    assert main(["insights", "run", "--user", email.upper()]) == 0  # not due, run anyway: nothing new
    second = capsys.readouterr().out
    row = next(line for line in second.splitlines() if email in line)
    cells = [c.strip() for c in row.split("│")[1:-1]]
    assert cells[1:4] == ["0", "0", str(written)]  # nothing written or updated: all kept
    assert len(insights_of(user)) == written

    assert main(["insights", "run", "--user", "nobody@example.org"]) == 1
    assert "vitalis users add nobody@example.org" in capsys.readouterr().err


def test_users_already_in_an_unfinished_batch_are_not_queued_again(app, people) -> None:
    from workers.nightly_insights import fan_out

    waiting, *others = people
    with worker_scope() as s:  # a batch still queued from an earlier night (its message on its way)
        earlier = jobs.create(s, job_type=JobType.INSIGHTS, payload={"user_ids": [str(waiting)], "today": "x"})
    try:
        nightly_id = uuid.uuid4()
        fanned = fan_out(app, nightly_id, today(), 2)
        assert fanned["in_unfinished_batches"] >= 1
        batches = batch_jobs(nightly_id)
        queued = {u for b in batches for u in b.payload["user_ids"]}
        assert str(waiting) not in queued and {str(u) for u in others} <= queued
        wait_finished([b.job_id for b in batches])
    finally:
        with worker_scope() as s:
            s.execute(update(IngestionJob).where(IngestionJob.job_id == earlier).values(status=JobStatus.CANCELED))


def test_insights_run_for_everyone_due_at_the_terminal(engine, people, capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    assert main(["insights", "run", "--batch-size", "2"]) == 0
    out = capsys.readouterr().out
    assert "0 failed" in out
    assert all(computed(u) for u in people)
    assert main(["insights", "run"]) == 0
    assert "up to date" in capsys.readouterr().out
