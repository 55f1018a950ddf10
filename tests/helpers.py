"""Shared test helpers: the test services' addresses, database creation, row factories."""

from __future__ import annotations

import os
import uuid

import psycopg
import pytest
from sqlalchemy import make_url
from sqlalchemy.orm import Session

TEST_DATABASE_URL = os.environ.get(
    "VITALIS_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/vitalis_test"
)
TEST_REDIS_URL = os.environ.get("VITALIS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

# The code under test resolves its database from DATABASE_URL; point it at the test database before any
# of it runs. REDIS_URL is left to the tests that want it, so celeryconfig stays broker-neutral.
os.environ["DATABASE_URL"] = TEST_DATABASE_URL
os.environ.pop("REDIS_URL", None)


def recreate_database(url: str) -> None:
    target = make_url(url)
    server = target.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    try:
        conn = psycopg.connect(server, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.exit(f"PostgreSQL for the tests is not reachable at {server}: {exc}", returncode=3)
    with conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (target.database,),
        )
        conn.execute(f'DROP DATABASE IF EXISTS "{target.database}"')
        conn.execute(f'CREATE DATABASE "{target.database}"')


def create_user(session: Session, email: str | None = None) -> uuid.UUID:
    from db.models import Account, User

    account = Account()
    session.add(account)
    session.flush()
    user = User(
        account_id=account.account_id,
        email=email or f"user-{uuid.uuid4().hex[:12]}@example.test",
        display_name="Test",
    )
    session.add(user)
    session.flush()
    return user.user_id
