"""Scopes that cannot leak, no self-escalation, owners that match, partitions off the writers' path.

- Cross-user policies (the worker's job management, the read-only analytics role) apply only to a
  scope with no current user: inside one user's scope every role sees that user alone.
- The api role (what a person may do) cannot write the columns a person may not change about
  themselves: identity, role, account, verification, billing, storage keys, tokens, job bookkeeping.
- A reference from one user-data row to another carries user_id, so it cannot cross users.
- Year partitions are created only by the worker and admin roles, for the years validation accepts, and
  tolerate a concurrent creator.
- blood_markers: unknown markers are deduplicated by name; a unit the dictionary does not list is flagged.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# As in 0002: every table that holds one user's data.
USER_TABLES = (
    "users",
    "user_preferences",
    "oauth_identities",
    "connected_devices",
    "wearable_daily",
    "wearable_sleep",
    "wearable_activities",
    "blood_panels",
    "blood_markers",
    "dexa_scans",
    "dexa_regions",
    "dexa_bone_density",
    "epigenetic_tests",
    "epigenetic_organ_ages",
    "lifting_sessions",
    "lifting_sets",
    "measurements",
    "custom_metrics",
    "custom_metric_entries",
    "supplements",
    "supplement_logs",
    "nutrition_logs",
    "mood_journal",
    "menstrual_cycles",
    "doctor_visits",
    "doctor_visit_panels",
    "photos",
    "documents",
    "goals",
    "goal_alerts",
    "insights",
    "ingestion_jobs",
    "deletion_requests",
    "data_export_requests",
)
WORKER_CROSS_USER = {"ingestion_jobs": "ALL", "connected_devices": "SELECT", "users": "SELECT"}

# What the api role may write where a table is not simply the person's own data to edit: (columns it may
# INSERT, columns it may UPDATE); empty means none. Everything else the system writes (worker role).
API_WRITES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "users": ((), ("email", "password_hash", "display_name", "date_of_birth", "biological_sex", "last_login_at")),
    "oauth_identities": ((), ()),
    "connected_devices": ((), ("display_name", "is_active")),
    "ingestion_jobs": ((), ()),
    "documents": (
        (),
        ("document_type", "provider_name", "original_filename", "confirmed_at", "confirmed_by", "deleted_at"),
    ),
    "photos": ((), ("photo_date", "photo_type", "linked_scan_id", "notes", "deleted_at")),
    "data_export_requests": (("user_id", "format"), ()),
    "deletion_requests": (("user_id",), ("status",)),
    "insights": ((), ("is_dismissed", "dismissed_at")),
    "goal_alerts": ((), ("acknowledged_at",)),
}
# A person's account row is deleted through a deletion request (grace period, audit), never directly.
API_NO_DELETE = ("users", "ingestion_jobs")
# The worker acts for a person inside their scope; it still may not change who they are.
WORKER_USER_UPDATES = (*API_WRITES["users"][1], "email_verified_at")
SERVER_MANAGED = ("created_at", "updated_at")

# (child, column, parent, parent key, on delete)
OWNED_REFERENCES = (
    ("blood_panels", "document_id", "documents", "document_id", "SET NULL"),
    ("blood_markers", "panel_id", "blood_panels", "panel_id", "CASCADE"),
    ("dexa_scans", "document_id", "documents", "document_id", "SET NULL"),
    ("dexa_regions", "scan_id", "dexa_scans", "scan_id", "CASCADE"),
    ("dexa_bone_density", "scan_id", "dexa_scans", "scan_id", "CASCADE"),
    ("epigenetic_tests", "document_id", "documents", "document_id", "SET NULL"),
    ("epigenetic_organ_ages", "test_id", "epigenetic_tests", "test_id", "CASCADE"),
    ("lifting_sets", "session_id", "lifting_sessions", "session_id", "CASCADE"),
    ("custom_metric_entries", "metric_id", "custom_metrics", "metric_id", "CASCADE"),
    ("supplement_logs", "supplement_id", "supplements", "supplement_id", "CASCADE"),
    ("doctor_visit_panels", "visit_id", "doctor_visits", "visit_id", "CASCADE"),
    ("doctor_visit_panels", "panel_id", "blood_panels", "panel_id", "CASCADE"),
    ("photos", "linked_scan_id", "dexa_scans", "scan_id", "SET NULL"),
    ("goal_alerts", "goal_id", "goals", "goal_id", "CASCADE"),
)

NO_USER = "app_current_user_id() IS NULL"
OWN_ROW = "user_id = app_current_user_id()"

# Partitions: the years validation accepts (db.validation.EARLIEST_DATA_YEAR up to next year). A
# concurrent creator of the same year is not an error, and a creator waits at most a few seconds for the
# parent's lock instead of queueing every reader behind it.
PARTITION_FUNCTION = """
CREATE OR REPLACE FUNCTION vitalis_ensure_year_partitions(p_year integer) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp SET lock_timeout = '5s' AS
$$
DECLARE
    parent text;
    latest integer := extract(year FROM now())::integer + 1;
BEGIN
    IF p_year < 1970 OR p_year > latest THEN
        RAISE EXCEPTION 'year % is outside the accepted range 1970-%', p_year, latest
            USING ERRCODE = 'data_exception';
    END IF;
    FOREACH parent IN ARRAY ARRAY['wearable_daily', 'wearable_sleep', 'wearable_activities'] LOOP
        IF to_regclass(format('public.%I', parent || '_' || p_year)) IS NOT NULL THEN
            CONTINUE;
        END IF;
        BEGIN
            EXECUTE format('CREATE TABLE public.%I PARTITION OF public.%I FOR VALUES FROM (%L) TO (%L)',
                           parent || '_' || p_year, parent,
                           make_date(p_year, 1, 1), make_date(p_year + 1, 1, 1));
        EXCEPTION WHEN duplicate_table OR unique_violation THEN
            NULL;  -- another transaction created it first: the partition exists, which is all we need
        END;
    END LOOP;
END
$$;
"""

PREVIOUS_PARTITION_FUNCTION = """
CREATE OR REPLACE FUNCTION vitalis_ensure_year_partitions(p_year integer) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS
$$
DECLARE
    parent text;
BEGIN
    IF p_year < 1900 OR p_year > 2200 THEN
        RAISE EXCEPTION 'year % is outside the supported range 1900-2200', p_year
            USING ERRCODE = 'data_exception';
    END IF;
    FOREACH parent IN ARRAY ARRAY['wearable_daily', 'wearable_sleep', 'wearable_activities'] LOOP
        IF to_regclass(format('public.%I', parent || '_' || p_year)) IS NOT NULL THEN
            CONTINUE;
        END IF;
        PERFORM pg_advisory_xact_lock(723615, p_year);
        IF to_regclass(format('public.%I', parent || '_' || p_year)) IS NULL THEN
            EXECUTE format('CREATE TABLE public.%I PARTITION OF public.%I FOR VALUES FROM (%L) TO (%L)',
                           parent || '_' || p_year, parent,
                           make_date(p_year, 1, 1), make_date(p_year + 1, 1, 1));
        END IF;
    END LOOP;
END
$$;
"""

# A person may change their email, but a verification belongs to the address that was verified.
EMAIL_REVERIFY = """
CREATE OR REPLACE FUNCTION users_email_changed() RETURNS trigger
LANGUAGE plpgsql AS
$$ BEGIN NEW.email_verified_at := NULL; RETURN NEW; END $$;

CREATE TRIGGER email_changed BEFORE UPDATE OF email ON users
FOR EACH ROW WHEN (NEW.email IS DISTINCT FROM OLD.email) EXECUTE FUNCTION users_email_changed();
"""

MARKER_KEY_SQL = "COALESCE(biomarker_id::text, 'name:' || lower(btrim(regexp_replace(raw_name, '\\s+', ' ', 'g'))))"


def _columns(table: str) -> list[tuple[str, str]]:
    """(name, kind) of every column of `table` as the database being migrated has it; kind is
    'generated', 'surrogate' (an id its default makes) or 'data'."""
    rows = op.get_bind().execute(
        sa.text(
            "SELECT a.attname, CASE WHEN a.attgenerated <> '' THEN 'generated'"
            " WHEN pg_get_expr(d.adbin, d.adrelid) = 'gen_random_uuid()' THEN 'surrogate' ELSE 'data' END"
            " FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
            " WHERE a.attrelid = to_regclass(:t) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"
        ),
        {"t": f"public.{table}"},
    )
    return [(name, kind) for name, kind in rows]


def _primary_key(table: str) -> set[str]:
    rows = op.get_bind().execute(
        sa.text(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid"
            " AND a.attnum = ANY(i.indkey) WHERE i.indrelid = to_regclass(:t) AND i.indisprimary"
        ),
        {"t": f"public.{table}"},
    )
    return {name for (name,) in rows}


def _grant(privilege: str, table: str, role: str, columns: list[str] | tuple[str, ...]) -> None:
    if columns:
        op.execute(f"GRANT {privilege} ({', '.join(columns)}) ON {table} TO {role}")


def _privileges() -> None:
    for table in USER_TABLES:
        op.execute(f"REVOKE INSERT, UPDATE, DELETE ON {table} FROM vitalis_api")
        columns = [(n, kind) for n, kind in _columns(table) if kind != "generated" and n not in SERVER_MANAGED]
        identity = _primary_key(table) | {"user_id"}
        if table in API_WRITES:
            inserts, updates = API_WRITES[table]
        else:
            # Ids come from their defaults; a key the caller supplies (a date, a link) is set once.
            inserts = tuple(n for n, kind in columns if kind == "data")
            updates = tuple(n for n, _ in columns if n not in identity)
        _grant("INSERT", table, "vitalis_api", inserts)
        _grant("UPDATE", table, "vitalis_api", updates)
        if table not in API_NO_DELETE:
            op.execute(f"GRANT DELETE ON {table} TO vitalis_api")
        if table == "users":
            op.execute("REVOKE INSERT, UPDATE ON users FROM vitalis_worker")
            _grant("UPDATE", "users", "vitalis_worker", WORKER_USER_UPDATES)


def _policies() -> None:
    for table in USER_TABLES:
        op.execute(f"DROP POLICY readonly_select ON {table}")
        op.execute(
            f"CREATE POLICY readonly_select ON {table} FOR SELECT TO vitalis_readonly USING ({NO_USER} OR {OWN_ROW})"
        )
    for table, command in WORKER_CROSS_USER.items():
        op.execute(f"DROP POLICY worker_cross_user ON {table}")
        check = f" WITH CHECK ({NO_USER})" if command == "ALL" else ""
        op.execute(
            f"CREATE POLICY worker_cross_user ON {table} FOR {command} TO vitalis_worker USING ({NO_USER}){check}"
        )
    members = "account_id IN (SELECT u.account_id FROM users u WHERE u.user_id = app_current_user_id())"
    for policy in ("account_members", "worker_accounts", "readonly_select"):
        op.execute(f"DROP POLICY {policy} ON accounts")
    op.execute(f"CREATE POLICY account_members ON accounts FOR SELECT TO vitalis_api, vitalis_worker USING ({members})")
    op.execute(f"CREATE POLICY worker_accounts ON accounts TO vitalis_worker USING ({NO_USER}) WITH CHECK ({NO_USER})")
    op.execute(
        f"CREATE POLICY readonly_select ON accounts FOR SELECT TO vitalis_readonly USING ({NO_USER} OR {members})"
    )
    op.execute("DROP POLICY readonly_select ON audit_log")
    op.execute(
        f"CREATE POLICY readonly_select ON audit_log FOR SELECT TO vitalis_readonly USING ({NO_USER} OR {OWN_ROW})"
    )


def _owned_references() -> None:
    for parent in sorted({(p, k) for _, _, p, k, _ in OWNED_REFERENCES}):
        table, key = parent
        op.create_unique_constraint(f"uq_{table}_{key}_user_id", table, [key, "user_id"])
    for child, column, parent, key, ondelete in OWNED_REFERENCES:
        name = f"fk_{child}_{column}_{parent}"
        op.drop_constraint(name, child, type_="foreignkey")
        action = f"SET NULL ({column})" if ondelete == "SET NULL" else ondelete
        op.create_foreign_key(name, child, parent, [column, "user_id"], [key, "user_id"], ondelete=action)
    op.create_check_constraint(
        op.f("ck_documents_confirmed_by_owner"), "documents", "confirmed_by IS NULL OR confirmed_by = user_id"
    )


def _blood_markers() -> None:
    op.add_column(
        "blood_markers", sa.Column("needs_review", sa.Boolean(), server_default=sa.text("false"), nullable=False)
    )
    op.add_column("blood_markers", sa.Column("review_note", sa.Text(), nullable=True))
    op.add_column(
        "blood_markers", sa.Column("marker_key", sa.Text(), sa.Computed(MARKER_KEY_SQL, persisted=True), nullable=False)
    )
    op.drop_constraint("uq_blood_markers_panel_id_biomarker_id", "blood_markers", type_="unique")
    op.create_unique_constraint("uq_blood_markers_panel_id_marker_key", "blood_markers", ["panel_id", "marker_key"])


def upgrade() -> None:
    op.execute(PARTITION_FUNCTION)
    op.execute("REVOKE EXECUTE ON FUNCTION vitalis_ensure_year_partitions(integer) FROM vitalis_api")
    op.execute("REVOKE EXECUTE ON FUNCTION vitalis_ensure_audit_partition(timestamptz) FROM vitalis_api")
    _owned_references()
    _blood_markers()
    _policies()
    _privileges()
    op.execute(EMAIL_REVERIFY)


def downgrade() -> None:
    op.execute("DROP TRIGGER email_changed ON users")
    op.execute("DROP FUNCTION users_email_changed()")
    for table in USER_TABLES:
        op.execute(f"REVOKE INSERT, UPDATE ON {table} FROM vitalis_api, vitalis_worker")
        op.execute(f"GRANT INSERT, UPDATE, DELETE ON {table} TO vitalis_api, vitalis_worker")
        op.execute(f"DROP POLICY readonly_select ON {table}")
        op.execute(f"CREATE POLICY readonly_select ON {table} FOR SELECT TO vitalis_readonly USING (true)")
    for table, command in WORKER_CROSS_USER.items():
        op.execute(f"DROP POLICY worker_cross_user ON {table}")
        check = " WITH CHECK (true)" if command == "ALL" else ""
        op.execute(f"CREATE POLICY worker_cross_user ON {table} FOR {command} TO vitalis_worker USING (true){check}")
    for policy in ("account_members", "worker_accounts", "readonly_select"):
        op.execute(f"DROP POLICY {policy} ON accounts")
    op.execute(
        "CREATE POLICY account_members ON accounts TO vitalis_api USING"
        " (account_id IN (SELECT u.account_id FROM users u WHERE u.user_id = app_current_user_id()))"
    )
    op.execute("CREATE POLICY worker_accounts ON accounts TO vitalis_worker USING (true) WITH CHECK (true)")
    op.execute("CREATE POLICY readonly_select ON accounts FOR SELECT TO vitalis_readonly USING (true)")
    op.execute("DROP POLICY readonly_select ON audit_log")
    op.execute("CREATE POLICY readonly_select ON audit_log FOR SELECT TO vitalis_readonly USING (true)")

    op.drop_constraint("uq_blood_markers_panel_id_marker_key", "blood_markers", type_="unique")
    op.create_unique_constraint("uq_blood_markers_panel_id_biomarker_id", "blood_markers", ["panel_id", "biomarker_id"])
    for column in ("marker_key", "review_note", "needs_review"):
        op.drop_column("blood_markers", column)

    op.drop_constraint(op.f("ck_documents_confirmed_by_owner"), "documents", type_="check")
    for child, column, parent, key, ondelete in OWNED_REFERENCES:
        name = f"fk_{child}_{column}_{parent}"
        op.drop_constraint(name, child, type_="foreignkey")
        op.create_foreign_key(name, child, parent, [column], [key], ondelete=ondelete)
    for table, key in sorted({(p, k) for _, _, p, k, _ in OWNED_REFERENCES}):
        op.drop_constraint(f"uq_{table}_{key}_user_id", table, type_="unique")

    op.execute(PREVIOUS_PARTITION_FUNCTION)
    op.execute(
        "GRANT EXECUTE ON FUNCTION vitalis_ensure_year_partitions(integer),"
        " vitalis_ensure_audit_partition(timestamptz) TO vitalis_api"
    )
