"""Test fixtures: a real PostgreSQL database migrated to head, and a real Redis.

The database is created fresh for each run (VITALIS_TEST_DATABASE_URL names the server and the
database to use); Redis uses a database number of its own (VITALIS_TEST_REDIS_URL) that is flushed
at the start.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator

import pytest
import redis
from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session

from tests.helpers import TEST_DATABASE_URL, TEST_REDIS_URL, create_user, recreate_database

# What the code keeps under VITALIS_HOME (the unit converter's saved factors, documents, keys) goes to a
# home of the run's own, never the person's ~/.vitalis; tests that need their own home still set one.
os.environ.setdefault("VITALIS_HOME", tempfile.mkdtemp(prefix="vitalis-tests-"))


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    from db import migrate
    from db.engine import get_engine

    recreate_database(TEST_DATABASE_URL)
    migrate.upgrade(TEST_DATABASE_URL)
    engine = get_engine()
    yield engine
    engine.dispose()


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    """An owner-level session whose work is rolled back after the test."""
    with engine.connect() as conn:
        trans = conn.begin()
        session = Session(bind=conn, join_transaction_mode="create_savepoint")
        try:
            yield session
        finally:
            session.close()
            trans.rollback()


@pytest.fixture(scope="session")
def redis_url() -> str:
    client = redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=3)
    try:
        client.flushdb()
    except redis.RedisError as exc:
        pytest.exit(f"Redis for the tests is not reachable at {TEST_REDIS_URL}: {exc}", returncode=3)
    return TEST_REDIS_URL


@pytest.fixture
def committed_users(engine: Engine) -> Iterator[tuple[uuid.UUID, uuid.UUID]]:
    """Two committed users (for work that crosses connections: workers, scopes); removed afterwards."""
    from db.engine import admin_scope
    from db.models import Account, User

    with admin_scope() as session:
        a, b = create_user(session), create_user(session)
    yield a, b
    with admin_scope() as session:
        accounts = [session.get(User, u).account_id for u in (a, b)]
        session.execute(delete(Account).where(Account.account_id.in_(accounts)))
