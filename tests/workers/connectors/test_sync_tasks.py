"""The generic sync task through a real worker process on Redis, against the Oura sandbox on loopback."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import func, select

from db.engine import admin_scope
from db.models import WearableDaily
from db.models.enums import JobStatus, JobType
from integrations.oauth import begin_connect
from integrations.pacing import LocalBucket
from tests.integrations.connecting import TODAY, authorize, connect, counts, device
from tests.workers.connectors.running import job, oura_app, wait_for, worker_env
from workers.sync_tasks import connect_and_backfill, enqueue_sync

START = TODAY - timedelta(days=14)


def _readiness_days(user) -> int:
    with admin_scope() as session:
        return session.scalar(
            select(func.count())
            .select_from(WearableDaily)
            .where(WearableDaily.user_id == user, WearableDaily.readiness_score.is_not(None))
        )


def test_connecting_queues_a_backfill_whose_report_is_the_jobs_result(
    committed_users,
    fresh_sandbox,
    worker,
    celery_app,
) -> None:
    user, _ = committed_users
    app = oura_app(fresh_sandbox)
    request = begin_connect(user, "oura", app=app)
    callback = authorize(request.url)

    connected, job_id = connect_and_backfill(
        callback["state"], callback["code"], celery_app=celery_app, app=app, bucket=LocalBucket(), today=TODAY
    )

    done = wait_for(job_id, [worker])
    assert done.status is JobStatus.SUCCEEDED, done.error_message
    assert done.job_type is JobType.BACKFILL and done.payload["provider"] == "oura"
    stored = counts(user)
    assert stored["wearable_daily"] == 20 and stored["wearable_sleep"] == 20 and stored["wearable_activities"] > 0
    by_name = {r["resource"]: r for r in done.result["resources"]}
    activity = by_name["daily_activity"]
    assert activity["requested"] == [done.payload["start"], TODAY.isoformat()]
    assert activity["fetched"] == activity["requested"]
    assert activity["days_with_data"] == 20
    assert done.result["inserted"] > 0
    assert f"daily_activity {done.payload['start']}..{TODAY.isoformat()} 20d" in done.result["summary"]
    assert device(user).external_user_id == connected.external_user_id


def test_syncing_twice_adds_nothing_and_keeps_the_cursor(
    committed_users,
    fresh_sandbox,
    worker,
    celery_app,
) -> None:
    user, _ = committed_users
    connect(oura_app(fresh_sandbox), user, LocalBucket())

    first = wait_for(enqueue_sync(user, "oura", celery_app=celery_app), [worker])
    assert first.status is JobStatus.SUCCEEDED and first.job_type is JobType.DAILY_SYNC
    assert first.result["inserted"] > 0
    stored, cursor = counts(user), device(user).sync_cursor

    second = wait_for(enqueue_sync(user, "oura", celery_app=celery_app), [worker])

    assert second.status is JobStatus.SUCCEEDED
    assert second.result["inserted"] == 0
    assert all(t["updated"] == 0 for r in second.result["resources"] for t in r["rows"].values())
    assert counts(user) == stored
    assert device(user).sync_cursor == cursor


def test_a_429_is_retried_after_the_providers_delay_and_nothing_is_lost(
    committed_users,
    fresh_sandbox,
    worker,
    celery_app,
) -> None:
    user, _ = committed_users
    connect(oura_app(fresh_sandbox), user, LocalBucket())
    fresh_sandbox.config.quota_window = 2  # the injected 429's Retry-After
    fresh_sandbox.inject("429", "daily_readiness", skip=1)

    began = time.monotonic()
    done = wait_for(enqueue_sync(user, "oura", start=START, celery_app=celery_app), [worker])

    assert done.status is JobStatus.SUCCEEDED, done.error_message
    assert done.attempts == 2 and fresh_sandbox.stats.rate_limited == 1
    assert time.monotonic() - began >= 2  # the retry waited for the provider's Retry-After
    assert _readiness_days(user) == 15
    assert counts(user)["wearable_sleep"] == 15


def test_a_malformed_page_fails_the_job_clearly_and_keeps_the_earlier_rows(
    committed_users,
    fresh_sandbox,
    worker,
    celery_app,
) -> None:
    user, _ = committed_users
    connect(oura_app(fresh_sandbox), user, LocalBucket())
    fresh_sandbox.inject("malformed", "daily_activity", skip=1)

    done = wait_for(
        enqueue_sync(user, "oura", start=START, resources=["daily_activity"], celery_app=celery_app), [worker]
    )

    assert done.status is JobStatus.FAILED and done.attempts == 1  # not retried: retrying cannot fix it
    assert "MalformedResponse: oura daily_activity: the response is not valid JSON" in done.error_message
    assert "row(s) stored before it are kept" in done.error_message
    with admin_scope() as session:
        steps = session.scalar(
            select(func.count()).where(WearableDaily.user_id == user, WearableDaily.steps.is_not(None))
        )
    assert 0 < steps < 15  # the first page's days stay
    assert "MalformedResponse" in device(user).last_sync_error


def test_a_job_for_an_unknown_provider_fails_with_a_plain_sentence(
    committed_users,
    worker,
    celery_app,
) -> None:
    from workers.sync_tasks import TASK
    from workers.tasks import enqueue

    user, _ = committed_users
    job_id = enqueue(celery_app.tasks[TASK], JobType.DAILY_SYNC, user_id=user, payload={"provider": "fitbark"})

    done = wait_for(job_id, [worker])

    assert done.status is JobStatus.FAILED
    assert done.error_message.startswith("ValueError: unknown provider 'fitbark'; known providers: oura")


def test_connections_whose_syncs_went_quiet_are_polled_once(
    committed_users,
    fresh_sandbox,
    worker,
    celery_app,
) -> None:
    from sqlalchemy import text

    from workers.sync_tasks import enqueue_quiet

    quiet, fresh = committed_users
    for user in committed_users:
        connect(oura_app(fresh_sandbox), user, LocalBucket())
    with admin_scope() as session:
        session.execute(
            text(
                "UPDATE connected_devices SET last_sync_at = now() - (:hours || ' hours')::interval WHERE user_id = :u"
            ),
            [{"u": quiet, "hours": "7"}, {"u": fresh, "hours": "1"}],
        )

    first = enqueue_quiet(timedelta(hours=6), celery_app=celery_app)
    again = enqueue_quiet(timedelta(hours=6), celery_app=celery_app)  # before the poll's job ran

    polled = [job_id for job_id in first if wait_for(job_id, [worker]).user_id in committed_users]
    assert len(polled) == 1
    done = wait_for(polled[0], [worker])
    assert done.user_id == quiet and done.job_type is JobType.DAILY_SYNC
    assert done.status is JobStatus.SUCCEEDED, done.error_message
    assert counts(quiet)["wearable_daily"] > 0 and counts(fresh)["wearable_daily"] == 0
    assert all(job(j).user_id not in committed_users for j in again)  # its sync was already waiting


def test_a_running_sync_writes_its_progress_into_the_job_row(
    committed_users, fresh_sandbox, token_key, monkeypatch
) -> None:
    from db.models import IngestionJob
    from workers.job_progress import JobProgress
    from workers.sync_tasks import Progress, run_sync
    from workers.tasks import create_job

    user, _ = committed_users
    connect(oura_app(fresh_sandbox), user, LocalBucket())
    for name, value in worker_env(fresh_sandbox, "redis://unused").items():
        if name.startswith("VITALIS_OURA_"):
            monkeypatch.setenv(name, value)
    job_id = create_job(JobType.BACKFILL, user_id=user)
    with admin_scope() as session:
        session.get(IngestionJob, job_id).status = JobStatus.RUNNING
    seen: list[dict] = []

    recorder = JobProgress(job(job_id), interval=0)

    def watching(report) -> None:
        Progress(recorder, resources=8)(report)
        seen.append(job(job_id).result["progress"])

    result = run_sync(user, {"provider": "oura", "start": START.isoformat()}, progress=watching)

    assert len(seen) >= 10  # one write per page here (interval 0); a second apart in a worker
    assert seen[0]["pages"] == 1 and seen[-1]["pages"] > seen[0]["pages"]
    assert seen[-1]["inserted"] == result["inserted"]
    last = result["resources"][-1]["resource"]
    assert seen[-1]["stage"] == f"resources (now {last})" and seen[-1]["total"] == 8
    assert seen[-1]["done"] == len(result["resources"]) - 1 and seen[0]["done"] == 0
