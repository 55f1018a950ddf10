"""Row-level security: a unit of work scoped to user A never sees or changes user B's rows."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import and_, delete, func, select, text, update
from sqlalchemy.exc import DBAPIError, ProgrammingError

from db.engine import (
    ADMIN_ROLE,
    API_ROLE,
    READONLY_ROLE,
    USER_SCOPE_ROLES,
    WORKER_ROLE,
    admin_scope,
    user_scope,
    worker_scope,
)
from db.models import SHARED_TABLES, Base, WearableDaily
from tests.helpers import insert_row

USER_TABLES = sorted(t.name for t in Base.metadata.sorted_tables if "user_id" in t.c and t.name != "audit_log")


def test_every_table_holding_user_data_is_covered_and_protected(engine) -> None:
    """The database itself is the list: any table with a user_id column must be modelled and under RLS."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT c.relname, c.relrowsecurity FROM pg_class c"
                " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'user_id'"
                " WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
            )
        ).all()
    in_database = {name for name, _ in rows}
    assert in_database == set(USER_TABLES) | {"audit_log"}
    assert [name for name, protected in rows if not protected] == []
    assert SHARED_TABLES.isdisjoint(in_database)


def _key_filter(table, key: dict):
    return and_(*(table.c[k] == v for k, v in key.items()))


@pytest.fixture(scope="module")
def owned_rows(engine):
    """One row of every user-data table for each of two users, committed (scopes use their own connections)."""
    from tests.helpers import create_user

    with admin_scope() as session:
        a, b = create_user(session), create_user(session)
        rows_a, rows_b = {}, {}
        for name in USER_TABLES:
            if name == "users":
                rows_a["users"], rows_b["users"] = {"user_id": a}, {"user_id": b}
                continue
            insert_row(session, name, a, rows_a)
            insert_row(session, name, b, rows_b)
    yield a, b, rows_a, rows_b
    with admin_scope() as session:
        from db.models import Account, User

        accounts = [session.get(User, u).account_id for u in (a, b)]
        session.execute(delete(Account).where(Account.account_id.in_(accounts)))


def _refused(session, statement) -> bool:
    """True if the statement changed nothing or was refused outright (RLS hides the row, or the role
    lacks the privilege); the scope's transaction stays usable either way."""
    try:
        with session.begin_nested():
            return session.execute(statement).rowcount == 0
    except ProgrammingError as exc:
        return "permission denied" in str(exc)


@pytest.mark.parametrize("role", USER_SCOPE_ROLES)
@pytest.mark.parametrize("table_name", USER_TABLES)
def test_a_user_scope_cannot_read_change_or_delete_another_users_rows(owned_rows, table_name, role) -> None:
    """Whatever the role, a scope for user A sees A alone: the worker's and the read-only role's
    cross-user policies hold only where no user is set."""
    a, b, rows_a, rows_b = owned_rows
    table = Base.metadata.tables[table_name]
    own, other = rows_a[table_name], rows_b[table_name]

    with user_scope(a, role=role) as session:
        # The control: without it, a table nobody can read would pass for a protected one.
        assert session.scalar(select(func.count()).select_from(table).where(_key_filter(table, own))) == 1
        assert session.scalar(select(func.count()).select_from(table).where(_key_filter(table, other))) == 0
        assert _refused(session, update(table).where(_key_filter(table, other)).values(user_id=a))
        assert _refused(session, delete(table).where(_key_filter(table, other)))

    with admin_scope() as session:
        still_there = select(func.count()).select_from(table).where(_key_filter(table, other) & (table.c.user_id == b))
        assert session.scalar(still_there) == 1


@pytest.mark.parametrize("table_name", [t for t in USER_TABLES if t != "users"])
def test_a_user_scope_cannot_write_rows_for_another_user(owned_rows, table_name) -> None:
    a, b, _, _ = owned_rows
    # The worker role may insert into every one of these tables, so what refuses the row is RLS itself.
    with (
        pytest.raises((ProgrammingError, DBAPIError), match="row-level security"),
        user_scope(a, role=WORKER_ROLE) as session,
    ):
        insert_row(session, table_name, b)


def test_cross_user_reads_need_a_scope_with_no_user(owned_rows) -> None:
    """Fan-out and job management (worker) and analytics (read-only) see every user only there."""
    _, _, rows_a, rows_b = owned_rows
    jobs = Base.metadata.tables["ingestion_jobs"]
    both = [rows_a["ingestion_jobs"]["job_id"], rows_b["ingestion_jobs"]["job_id"]]
    with worker_scope() as session:
        assert session.scalar(select(func.count()).select_from(jobs).where(jobs.c.job_id.in_(both))) == 2
        assert session.scalar(select(func.count()).select_from(WearableDaily)) == 0
    with _unscoped(READONLY_ROLE) as session:
        assert session.scalar(select(func.count()).select_from(jobs).where(jobs.c.job_id.in_(both))) == 2


def test_a_user_scope_refuses_a_role_that_bypasses_row_level_security(owned_rows) -> None:
    a, _, _, _ = owned_rows
    with pytest.raises(ValueError, match="bypasses RLS"), user_scope(a, role=ADMIN_ROLE):
        pass


@contextmanager
def _unscoped(role):
    with admin_scope() as session:
        session.execute(text(f"SET LOCAL ROLE {role}"))
        yield session


def test_the_audit_log_shows_a_user_only_their_own_trail_and_nobody_can_rewrite_it(owned_rows) -> None:
    from db.models import AuditLog

    a, _, _, _ = owned_rows
    with user_scope(a, role=API_ROLE) as session:
        owners = set(session.scalars(select(AuditLog.user_id).distinct()))
    assert owners == {a}
    with pytest.raises(ProgrammingError, match="permission denied"), user_scope(a, role=API_ROLE) as session:
        session.execute(delete(AuditLog).where(AuditLog.user_id == a))


def test_partitions_cannot_be_read_around_the_parents_policy(owned_rows) -> None:
    a, _, _, _ = owned_rows
    with pytest.raises(ProgrammingError, match="permission denied"), user_scope(a, role=API_ROLE) as session:
        session.execute(text("SELECT count(*) FROM wearable_daily_2026"))


def test_a_scope_without_a_user_sees_no_health_data(owned_rows) -> None:
    from db.engine import worker_scope
    from db.models import WearableDaily

    with worker_scope() as session:
        assert session.scalar(select(func.count()).select_from(WearableDaily)) == 0
