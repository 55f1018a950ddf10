"""Many people's syncs on several worker processes share one provider app's quota through the Redis
bucket: the sandbox enforces the quota, and not one request of the run is answered 429."""

from __future__ import annotations

from datetime import timedelta

from db.models.enums import JobStatus
from integrations.pacing import LocalBucket
from tests.helpers import create_user
from tests.integrations.connecting import TODAY, connect, counts
from tests.workers.connectors.running import Worker, oura_app, remove_users, wait_for, worker_env
from workers.app import make_app
from workers.sync_tasks import enqueue_sync

PEOPLE = 8


def test_many_people_synced_by_several_workers_never_trip_the_quota_and_all_data_arrives(
    engine,
    redis_url,
    sandbox,
    token_key,
    tmp_path,
) -> None:
    from db.engine import admin_scope

    with admin_scope() as session:
        people = [create_user(session) for _ in range(PEOPLE)]
    for user in people:
        connect(oura_app(sandbox), user, LocalBucket())
    sandbox.stats.__init__()  # type: ignore[misc]
    sandbox.config.quota_requests, sandbox.config.quota_window = 20, 2.0
    env = worker_env(sandbox, redis_url, VITALIS_OURA_QUOTA="20/2")
    workers = [Worker(env, tmp_path / f"worker-{n}.log", pool="threads", concurrency=2) for n in range(3)]
    celery_app = make_app(broker_url=redis_url, result_backend=redis_url)
    try:
        job_ids = [
            enqueue_sync(
                user,
                "oura",
                start=TODAY - timedelta(days=9),
                resources=["daily_activity", "daily_readiness"],
                celery_app=celery_app,
            )
            for user in people
        ]
        done = [wait_for(job_id, workers, timeout=90) for job_id in job_ids]
        arrived = [counts(user)["wearable_daily"] for user in people]
    finally:
        for worker in workers:
            worker.stop()
        remove_users(people)

    assert all(job.status is JobStatus.SUCCEEDED for job in done), [job.error_message for job in done]
    assert sandbox.stats.rate_limited == 0
    # More requests than one window allows: without the shared bucket this load trips the quota (the
    # control is tests/integrations/test_pacing.py).
    assert sum(sandbox.stats.requests.values()) >= PEOPLE * 4 > sandbox.config.quota_requests
    assert arrived == [10] * PEOPLE  # every person's data arrived
