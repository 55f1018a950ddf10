"""One bucket per provider app, in Redis or in the database, keeps every worker together under the
provider's quota."""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import delete, text

from db.engine import admin_scope
from db.models import Account, User
from integrations.errors import RateLimited
from integrations.pacing import BucketSize, DatabaseBucket, RedisBucket
from integrations.provider import Quota
from integrations.sync import sync
from tests.helpers import create_user
from tests.integrations.connecting import TODAY, connect, counts


@pytest.fixture
def database_bucket(engine) -> DatabaseBucket:
    with admin_scope() as session:
        session.execute(text("DELETE FROM provider_pacing"))  # a bucket of this test's own
    return DatabaseBucket()


@pytest.fixture(params=["redis", "database"])
def shared_bucket(request, redis_url, engine):
    """The bucket every worker of an app shares: Redis on a server, the database on the embedded default."""
    if request.param == "redis":
        return RedisBucket.from_url(redis_url, prefix=f"vitalis:test:{uuid.uuid4().hex}:")
    return request.getfixturevalue("database_bucket")


@pytest.fixture
def people(engine):
    with admin_scope() as session:
        users = [create_user(session) for _ in range(4)]
    yield users
    with admin_scope() as session:
        accounts = [session.get(User, u).account_id for u in users]
        session.execute(delete(Account).where(Account.account_id.in_(accounts)))


def test_the_bucket_never_allows_more_than_the_quota_in_any_window() -> None:
    size = BucketSize.for_quota(Quota(5000, 300))
    assert size.capacity + size.rate * 300 <= 5000 * 0.9 + 1e-6
    assert size.capacity >= 1


def test_a_429_pauses_every_worker_of_the_app(shared_bucket) -> None:
    size = BucketSize(rate=100, capacity=10)
    assert shared_bucket.acquire("oura:app", size, max_wait=0) == (True, 0.0)
    shared_bucket.pause("oura:app", 5)
    granted, wait = shared_bucket.acquire("oura:app", size, max_wait=1)
    assert not granted and 4 < wait <= 5
    assert shared_bucket.acquire("oura:other-app", size, max_wait=0)[0]  # another app has its own quota


def test_the_database_bucket_grants_a_burst_then_paces_to_its_rate(database_bucket) -> None:
    size = BucketSize(rate=2, capacity=3)
    granted = [database_bucket.acquire("oura:app", size, max_wait=0) for _ in range(4)]
    assert [g for g, _ in granted] == [True, True, True, False]  # the burst, then an empty bucket
    assert 0.3 < granted[-1][1] <= 0.5  # the next token is half a second (1 / rate) away
    with admin_scope() as session:
        assert session.scalar(text("SELECT count(*) FROM provider_pacing")) == 1  # one row per app


def _sync_until_done(user, app, bucket, failures):
    for _ in range(30):
        try:
            return sync(
                user,
                "oura",
                start=TODAY - timedelta(days=9),
                resources=["daily_activity", "daily_readiness"],
                app=app,
                bucket=bucket,
                today=TODAY,
            )
        except RateLimited as exc:  # the job layer would retry the task after this delay
            time.sleep(exc.retry_after or 0.1)
        except Exception as exc:
            failures.append(exc)
            return None
    failures.append(AssertionError("never finished"))
    return None


def test_concurrent_syncs_share_the_apps_quota_without_a_single_429(sandbox, app, people, shared_bucket) -> None:
    sandbox.config.quota_requests, sandbox.config.quota_window = 20, 2.0
    paced = app.with_options(provider=dataclasses.replace(app.provider, quota=Quota(20, 2.0)))
    for user in people:
        connect(paced, user, shared_bucket)
    failures: list[Exception] = []

    threads = [
        threading.Thread(target=_sync_until_done, args=(user, paced, shared_bucket, failures)) for user in people
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert not failures, failures
    assert sandbox.stats.rate_limited == 0
    for user in people:
        assert counts(user)["wearable_daily"] == 10  # every person's data arrived


def test_without_the_shared_bucket_the_same_load_trips_the_quota(sandbox, app, people) -> None:
    """The control for the test above: the sandbox really does enforce its quota."""

    class Unpaced:
        def acquire(self, app_key, size, max_wait):
            return True, 0.0

        def pause(self, app_key, seconds):
            pass

    sandbox.config.quota_requests, sandbox.config.quota_window = 20, 2.0
    for user in people:
        connect(app, user, Unpaced())
    with pytest.raises(RateLimited):
        for user in people:
            sync(
                user,
                "oura",
                start=TODAY - timedelta(days=9),
                resources=["daily_activity", "daily_readiness"],
                app=app,
                bucket=Unpaced(),
                today=TODAY,
            )
    assert sandbox.stats.rate_limited > 0
