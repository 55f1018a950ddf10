"""A row of user A can never hang off a row of user B, whatever key connects them.

Foreign keys are checked without row-level security, so a plain `child.parent_id -> parent` key lets A
attach a supplement log to B's supplement. The keys are read from the database's own catalog, so a key
added later is walked here too.
"""

from __future__ import annotations

import pytest
from psycopg.errors import CheckViolation, ForeignKeyViolation
from sqlalchemy import insert, text, update
from sqlalchemy.exc import IntegrityError

from db.engine import WORKER_ROLE, admin_scope, user_scope
from db.models import Base
from tests.helpers import create_user, insert_row, row_values

CATALOG_KEYS = """
SELECT c.conname, child.relname, parent.relname,
       ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i),
       ARRAY(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i)
FROM pg_constraint c
JOIN pg_class child ON child.oid = c.conrelid
JOIN pg_class parent ON parent.oid = c.confrelid
WHERE c.contype = 'f' AND c.conparentid = 0 AND child.relnamespace = 'public'::regnamespace
  AND EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = c.conrelid AND attname = 'user_id')
  AND EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = c.confrelid AND attname = 'user_id')
ORDER BY 1
"""


def _keys_between_user_tables(engine) -> list[tuple[str, str, str, list[str], list[str]]]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text(CATALOG_KEYS))]


def _references(engine) -> list[tuple[str, str, str, str, str]]:
    """(constraint, child, column, parent, parent column) for every reference to another user's-data row,
    other than the owner column itself."""
    found = []
    for name, child, parent, columns, parent_columns in _keys_between_user_tables(engine):
        for column, parent_column in zip(columns, parent_columns, strict=True):
            if column != "user_id":
                found.append((name, child, column, parent, parent_column))
    return found


def test_every_key_between_two_users_tables_carries_the_owner(engine) -> None:
    keys = _keys_between_user_tables(engine)
    assert len(keys) > 30  # the control: the catalog query finds the keys (every user_id -> users, and more)
    loose = []
    for name, child, parent, columns, parent_columns in keys:
        if parent == "users" and columns == ["user_id"]:
            continue  # the owner column itself
        if parent == "users":
            continue  # another reference to a person: checked by a CHECK below, and by the attack test
        if ("user_id", "user_id") not in zip(columns, parent_columns, strict=True):
            loose.append(f"{name}: {child}({', '.join(columns)}) -> {parent}({', '.join(parent_columns)})")
    assert loose == []


@pytest.fixture(scope="module")
def owner_and_stranger(engine):
    """User A with one committed row of every user-data table; user C with only the parent rows that
    references point at (no children, so no unique key of A's rows can collide with C's)."""
    tables = [t.name for t in Base.metadata.sorted_tables if "user_id" in t.c and t.name not in {"users", "audit_log"}]
    parents = {parent for _, _, _, parent, _ in _references(engine)} - {"users"}
    with admin_scope() as session:
        a, c = create_user(session), create_user(session)
        rows_a, rows_c = {}, {}
        for name in tables:
            insert_row(session, name, a, rows_a)
        for name in parents:
            insert_row(session, name, c, rows_c)
    yield a, c, rows_a, rows_c
    with admin_scope() as session:
        session.execute(
            text("DELETE FROM accounts WHERE account_id IN (SELECT account_id FROM users WHERE user_id IN (:a, :c))"),
            {"a": a, "c": c},
        )


@pytest.mark.parametrize("attempt", ["insert", "update"])
def test_a_user_cannot_point_a_row_at_another_users_row_through_any_key(engine, owner_and_stranger, attempt) -> None:
    a, c, rows_a, rows_c = owner_and_stranger
    references = _references(engine)
    assert len(references) >= 15  # the control: every parent-child pair of the schema is walked
    crossed = []
    for name, child, column, parent, parent_column in references:
        foreign_id = c if parent == "users" else rows_c[parent][parent_column]
        table = Base.metadata.tables[child]
        try:
            # The worker role may write every column of these tables for A, so only the key can refuse.
            with user_scope(a, role=WORKER_ROLE) as session:
                if attempt == "insert":
                    values = row_values(session, child, a, dict(rows_a))
                    values[column] = foreign_id
                    session.execute(insert(table).values(values))
                else:
                    where = [table.c[k] == v for k, v in rows_a[child].items()]
                    session.execute(update(table).where(*where).values({column: foreign_id}))
        except IntegrityError as exc:
            if isinstance(exc.orig, ForeignKeyViolation | CheckViolation):
                continue
            raise
        crossed.append(f"{name}: {child}.{column} -> {parent}")
    assert crossed == []


def test_deleting_a_document_unlinks_what_was_read_from_it_and_keeps_it(committed_users) -> None:
    user, _ = committed_users
    with admin_scope() as session:
        made: dict = {}
        document = insert_row(session, "documents", user, made)["document_id"]
        panel = session.execute(
            text("INSERT INTO blood_panels (user_id, document_id) VALUES (:u, :d) RETURNING panel_id"),
            {"u": user, "d": document},
        ).scalar_one()
    with user_scope(user) as session:
        session.execute(text("DELETE FROM documents WHERE document_id = :d"), {"d": document})
    with user_scope(user) as session:
        kept = session.execute(
            text("SELECT user_id, document_id FROM blood_panels WHERE panel_id = :p"), {"p": panel}
        ).one()
    assert tuple(kept) == (user, None)
