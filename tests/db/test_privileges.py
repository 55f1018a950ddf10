"""No self-escalation: what a person may not change about themselves, the api role cannot write.

The api role acts for one person inside their own scope. Row-level security keeps them to their own rows;
column privileges keep them from rewriting who they are (role, account, verification), where their files
live (storage keys), their provider tokens and the system's bookkeeping.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, ProgrammingError

from db.engine import API_ROLE, WORKER_ROLE, user_scope
from db.models import Base
from tests.helpers import insert_row

# (table, column, a value to try) — each a way to escalate or to reach another user's data.
FORBIDDEN_TO_A_PERSON = [
    ("users", "role", "admin"),
    ("users", "account_id", None),  # another account: filled in by the test
    ("users", "email_verified_at", "2026-01-01T00:00:00Z"),
    ("users", "user_id", None),
    ("users", "created_at", "2020-01-01T00:00:00Z"),
    ("users", "deleted_at", "2026-01-01T00:00:00Z"),
    ("connected_devices", "access_token_enc", "forged"),
    ("connected_devices", "refresh_token_enc", "forged"),
    ("connected_devices", "external_user_id", "someone-elses-provider-id"),
    ("connected_devices", "sync_cursor", "{}"),
    ("oauth_identities", "provider_user_id", "someone-else"),
    ("documents", "s3_key", "users/another-user/report.pdf"),
    ("documents", "parse_status", "confirmed"),
    ("photos", "s3_key", "users/another-user/photo.jpg"),
    ("data_export_requests", "s3_key", "exports/another-user.json"),
    ("data_export_requests", "status", "ready"),
    ("deletion_requests", "grace_period_ends_at", "2000-01-01T00:00:00Z"),
    ("ingestion_jobs", "status", "succeeded"),
    ("ingestion_jobs", "result", "{}"),
    ("insights", "body", "rewritten"),
    ("goal_alerts", "trigger_value", "1"),
    ("push_tokens", "token_hash", "f" * 64),  # a hash of a token the person chose, or one copied from elsewhere
    ("push_tokens", "prefix", "abcdefabcdef"),
    ("push_tokens", "last_used_at", "2026-01-01T00:00:00Z"),
]


@pytest.fixture(scope="module")
def person(engine):
    """A user with one row of every user-data table, and a second account to try to move into."""
    from db.engine import admin_scope
    from tests.helpers import create_user

    tables = [t.name for t in Base.metadata.sorted_tables if "user_id" in t.c and t.name not in {"users", "audit_log"}]
    with admin_scope() as session:
        user, other = create_user(session), create_user(session)
        rows: dict = {"users": {"user_id": user}}
        for name in tables:
            insert_row(session, name, user, rows)
        other_account = session.execute(text("SELECT account_id FROM users WHERE user_id = :u"), {"u": other}).scalar()
    yield user, rows, other_account
    with admin_scope() as session:
        session.execute(
            text("DELETE FROM accounts WHERE account_id IN (SELECT account_id FROM users WHERE user_id = :u)"),
            {"u": user},
        )
        session.execute(text("DELETE FROM accounts WHERE account_id = :a"), {"a": other_account})


def _update(session, table: str, key: dict, column: str, value) -> None:
    where = " AND ".join(f"{k} = :k_{k}" for k in key)
    session.execute(
        text(f"UPDATE {table} SET {column} = :v WHERE {where}"),
        {"v": value, **{f"k_{k}": v for k, v in key.items()}},
    )


@pytest.mark.parametrize(("table", "column", "value"), FORBIDDEN_TO_A_PERSON)
def test_a_person_cannot_write_what_they_may_not_change_about_themselves(person, table, column, value) -> None:
    user, rows, other_account = person
    if column == "account_id":
        value = other_account
    elif column == "user_id":
        value = rows["users"]["user_id"]
    with pytest.raises(ProgrammingError, match="permission denied"), user_scope(user, role=API_ROLE) as session:
        _update(session, table, rows[table], column, value)


@pytest.mark.parametrize("column", ["role", "account_id"])
def test_not_even_the_worker_acting_for_a_person_changes_their_role_or_account(person, column) -> None:
    user, rows, other_account = person
    value = "admin" if column == "role" else other_account
    with pytest.raises(ProgrammingError, match="permission denied"), user_scope(user, role=WORKER_ROLE) as session:
        _update(session, "users", rows["users"], column, value)


def test_a_person_can_still_edit_what_is_theirs_to_edit(person) -> None:
    """The control: the refusals above are column privileges, not a table nobody can write."""
    user, rows, _ = person
    with user_scope(user, role=API_ROLE) as session:
        _update(session, "users", rows["users"], "display_name", "Renamed")
        _update(session, "connected_devices", rows["connected_devices"], "display_name", "My ring")
        _update(session, "insights", rows["insights"], "is_dismissed", True)
        _update(session, "documents", rows["documents"], "confirmed_by", user)
        _update(session, "wearable_daily", rows["wearable_daily"], "steps", 1234)
    with user_scope(user, role=API_ROLE) as session:
        assert session.execute(text("SELECT display_name FROM users")).scalar_one() == "Renamed"


def test_a_person_cannot_create_users_or_delete_their_account_outside_a_deletion_request(person) -> None:
    user, _, _ = person
    with pytest.raises(ProgrammingError, match="permission denied"), user_scope(user, role=API_ROLE) as session:
        session.execute(
            text(
                "INSERT INTO users (account_id, email, display_name, role)"
                " SELECT account_id, 'x@example.test', 'x', 'admin' FROM users"
            )
        )
    with pytest.raises(ProgrammingError, match="permission denied"), user_scope(user, role=API_ROLE) as session:
        session.execute(text("DELETE FROM users"))


def test_no_person_can_rewrite_ids_owners_or_timestamps_anywhere(engine) -> None:
    """Read from the catalog, so a table or column added later is held to the same rule."""
    with engine.connect() as conn:
        writable = (
            conn.execute(
                text(
                    "SELECT c.relname || '.' || a.attname FROM pg_class c"
                    " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
                    " WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')"
                    "   AND NOT c.relispartition"
                    "   AND EXISTS (SELECT 1 FROM pg_attribute u WHERE u.attrelid = c.oid AND u.attname = 'user_id')"
                    "   AND (a.attname IN ('user_id', 'created_at', 'updated_at')"
                    "        OR a.attnum = ANY((SELECT i.indkey FROM pg_index i"
                    "                           WHERE i.indrelid = c.oid AND i.indisprimary)::int2[]))"
                    "   AND has_column_privilege('vitalis_api', c.oid, a.attnum, 'UPDATE')"
                )
            )
            .scalars()
            .all()
        )
    assert writable == []


def test_changing_ones_email_drops_its_verification(person) -> None:
    """Otherwise a person could verify one address, switch to someone else's and keep the badge."""
    user, rows, _ = person
    with user_scope(user, role=WORKER_ROLE) as session:
        _update(session, "users", rows["users"], "email_verified_at", "2026-01-01T00:00:00Z")
    with user_scope(user, role=API_ROLE) as session:
        _update(session, "users", rows["users"], "display_name", "Still verified")
        assert session.execute(text("SELECT email_verified_at IS NOT NULL FROM users")).scalar_one()
        _update(session, "users", rows["users"], "email", f"new-{user.hex[:8]}@example.test")
        assert session.execute(text("SELECT email_verified_at FROM users")).scalar_one() is None


def test_a_person_cannot_make_a_push_token_of_their_own_choosing_nor_bring_a_revoked_one_back(person) -> None:
    """Tokens are made by the system (which alone knows the secret); a revoked (perhaps leaked) token stays
    revoked, whoever asks."""
    user, rows, _ = person
    with pytest.raises(ProgrammingError, match="permission denied"), user_scope(user, role=API_ROLE) as session:
        session.execute(
            text("INSERT INTO push_tokens (user_id, name, prefix, token_hash) VALUES (:u, 'mine', :p, :h)"),
            {"u": user, "p": "a1b2c3d4e5f6", "h": "a" * 64},
        )
    with user_scope(user, role=API_ROLE) as session:
        _update(session, "push_tokens", rows["push_tokens"], "revoked_at", "2026-01-01T00:00:00Z")
    for role in (API_ROLE, WORKER_ROLE):
        with pytest.raises(IntegrityError, match="stays revoked"), user_scope(user, role=role) as session:
            _update(session, "push_tokens", rows["push_tokens"], "revoked_at", None)
