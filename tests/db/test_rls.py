"""Row-level security: a unit of work scoped to user A never sees or changes user B's rows."""

from __future__ import annotations

import pytest
from sqlalchemy import and_, delete, func, select, text, update
from sqlalchemy.exc import DBAPIError, ProgrammingError

from db.engine import API_ROLE, WORKER_ROLE, admin_scope, user_scope
from db.models import SHARED_TABLES, Base
from tests.helpers import insert_row

# Tables the worker role may read across users by design (fan-out and job management, seed §3).
WORKER_CROSS_USER = {"ingestion_jobs", "connected_devices", "users"}

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


@pytest.mark.parametrize("role", [API_ROLE, WORKER_ROLE])
@pytest.mark.parametrize("table_name", USER_TABLES)
def test_a_user_scope_cannot_read_change_or_delete_another_users_rows(owned_rows, table_name, role) -> None:
    a, b, rows_a, rows_b = owned_rows
    table = Base.metadata.tables[table_name]
    own, other = rows_a[table_name], rows_b[table_name]

    with user_scope(a, role=role) as session:
        # The control: without it, a table nobody can read would pass for a protected one.
        assert session.scalar(select(func.count()).select_from(table).where(_key_filter(table, own))) == 1
        visible = session.scalar(select(func.count()).select_from(table).where(_key_filter(table, other)))
        cross_user_read = role == WORKER_ROLE and table_name in WORKER_CROSS_USER
        assert visible == (1 if cross_user_read else 0)
        if role == WORKER_ROLE and table_name == "ingestion_jobs":
            return  # job management across users is the worker's job
        assert session.execute(update(table).where(_key_filter(table, other)).values(user_id=a)).rowcount == 0
        assert session.execute(delete(table).where(_key_filter(table, other))).rowcount == 0

    with admin_scope() as session:
        still_there = select(func.count()).select_from(table).where(_key_filter(table, other) & (table.c.user_id == b))
        assert session.scalar(still_there) == 1


@pytest.mark.parametrize("table_name", [t for t in USER_TABLES if t != "users"])
def test_a_user_scope_cannot_write_rows_for_another_user(owned_rows, table_name) -> None:
    a, b, _, _ = owned_rows
    with (
        pytest.raises((ProgrammingError, DBAPIError), match="row-level security"),
        user_scope(a, role=API_ROLE) as session,
    ):
        insert_row(session, table_name, b)


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
