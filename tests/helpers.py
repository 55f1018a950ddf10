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


def scratch_database_url(suffix: str) -> str:
    """A throw-away database beside the test database, named after it, so two checkouts can test at once."""
    url = make_url(TEST_DATABASE_URL)
    return url.set(database=f"{url.database}_{suffix}").render_as_string(hide_password=False)


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


# Tables whose row for a person the database makes itself when other rows of theirs change.
MADE_BY_TRIGGERS = {"insight_runs"}

# Values for NOT NULL columns whose CHECK constraints a generic value would break.
COLUMN_VALUES = {
    ("goals", "metric_type"): "custom",
    ("measurements", "unit"): "kg",
    ("blood_markers", "value_numeric"): 5.2,
    ("wearable_activities", "source_activity_id"): "act-1",
    # Unique per row: a callable is called for each.
    ("push_tokens", "token_hash"): lambda: uuid.uuid4().hex * 2,
    ("push_tokens", "prefix"): lambda: uuid.uuid4().hex[:12],
}


def _generic_value(column):
    from datetime import UTC, date, datetime
    from decimal import Decimal

    from sqlalchemy import Boolean, Date, DateTime, Enum, Integer, Numeric, SmallInteger, Text
    from sqlalchemy.dialects.postgresql import ARRAY

    kind = column.type
    if isinstance(kind, Enum):
        return kind.enums[0]
    if isinstance(kind, DateTime):
        return datetime(2026, 3, 14, 8, 0, tzinfo=UTC)
    if isinstance(kind, Date):
        return date(2026, 3, 14)
    if isinstance(kind, SmallInteger | Integer):
        return 1
    if isinstance(kind, Numeric):
        return Decimal(1)
    if isinstance(kind, Boolean):
        return False
    if isinstance(kind, ARRAY):
        return []
    if isinstance(kind, Text):
        return f"{column.table.name}-{column.name}-{uuid.uuid4().hex[:8]}"
    raise TypeError(f"no test value for {column.table.name}.{column.name} ({kind})")


def row_values(session: Session, table_name: str, user_id: uuid.UUID, made: dict[str, dict] | None = None) -> dict:
    """Values for a minimal valid row of `table_name` owned by `user_id`; parent rows it needs are
    inserted (or taken from `made`, table name -> primary key values)."""
    from db.models import Base

    made = {} if made is None else made
    table = Base.metadata.tables[table_name]
    values: dict = {}
    for column in table.columns:
        if column.name == "user_id":
            values["user_id"] = user_id
            continue
        if (table_name, column.name) in COLUMN_VALUES:
            value = COLUMN_VALUES[(table_name, column.name)]
            values[column.name] = value() if callable(value) else value
            continue
        if column.nullable or column.server_default is not None or column.computed is not None:
            continue
        parent = _parent_of(column)
        if parent is not None:
            parent_table, parent_column = parent
            if parent_table == "users":
                values[column.name] = user_id
            elif parent_table == "accounts":
                from db.models import User

                values[column.name] = session.get(User, user_id).account_id
            else:
                values[column.name] = insert_row(session, parent_table, user_id, made)[parent_column]
            continue
        values[column.name] = _generic_value(column)
    return values


def _parent_of(column) -> tuple[str, str] | None:
    """(table, column) a column refers to, through a single-column or a composite foreign key."""
    for constraint in column.table.foreign_key_constraints:
        for element in constraint.elements:
            if element.parent is column:
                return element.column.table.name, element.column.name
    return None


def insert_row(session: Session, table_name: str, user_id: uuid.UUID, made: dict[str, dict] | None = None) -> dict:
    """Insert a minimal valid row of `table_name` owned by `user_id`, creating parent rows as needed.

    Built from the table's metadata, so a table added later gets rows here without a hand-written factory.
    Returns the row's primary-key values.
    """
    from sqlalchemy import insert

    from db.models import Base

    made = {} if made is None else made
    if table_name in made:
        return made[table_name]
    table = Base.metadata.tables[table_name]
    values = row_values(session, table_name, user_id, made)
    if table_name in MADE_BY_TRIGGERS:
        from sqlalchemy.dialects.postgresql import insert as upsert

        # Writing the person's other rows may have made it already.
        session.execute(upsert(table).values(values).on_conflict_do_nothing())
        made[table_name] = {c.name: values[c.name] for c in table.primary_key.columns}
        return made[table_name]
    pk = session.execute(insert(table).values(values).returning(*table.primary_key.columns)).one()
    made[table_name] = dict(pk._mapping)
    return made[table_name]
