"""Row-level security, roles, audit triggers, updated_at triggers and on-demand partitions.

Seed 003 §3 (RLS and roles), §9 (partitioning) and §11 (audit). Everything here is SQL that the
schema needs to be safe to use, so it ships as one migration with the tables it protects.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ROLES = ("vitalis_api", "vitalis_worker", "vitalis_admin", "vitalis_readonly")

# Every table that holds one user's data, with the column that identifies a row in the audit log.
USER_TABLES = {
    "users": "user_id",
    "user_preferences": "user_id",
    "oauth_identities": "identity_id",
    "connected_devices": "device_id",
    "wearable_daily": "daily_id",
    "wearable_sleep": "sleep_id",
    "wearable_activities": "activity_id",
    "blood_panels": "panel_id",
    "blood_markers": "marker_id",
    "dexa_scans": "scan_id",
    "dexa_regions": "region_id",
    "dexa_bone_density": "density_id",
    "epigenetic_tests": "test_id",
    "epigenetic_organ_ages": "organ_age_id",
    "lifting_sessions": "session_id",
    "lifting_sets": "set_id",
    "measurements": "measurement_id",
    "custom_metrics": "metric_id",
    "custom_metric_entries": "entry_id",
    "supplements": "supplement_id",
    "supplement_logs": "log_id",
    "nutrition_logs": "nutrition_id",
    "mood_journal": "journal_id",
    "menstrual_cycles": "cycle_id",
    "doctor_visits": "visit_id",
    "doctor_visit_panels": "visit_id",
    "photos": "photo_id",
    "documents": "document_id",
    "goals": "goal_id",
    "goal_alerts": "alert_id",
    "insights": "insight_id",
    "ingestion_jobs": "job_id",
    "deletion_requests": "request_id",
    "data_export_requests": "export_id",
}
# Link tables whose first key column does not identify a row alone.
AUDIT_EXTRA_KEY = {"doctor_visit_panels": ("panel_id",)}
AUDIT_EVENTS = {
    "INSERT": "NEW TABLE AS new_rows",
    "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "DELETE": "OLD TABLE AS old_rows",
}
# Job bookkeeping changes on every attempt; auditing it would bury the health-data trail in noise.
NOT_AUDITED = {"ingestion_jobs"}
SHARED_TABLES = ("biomarker_dictionary", "exercise_dictionary")
UPDATED_AT_TABLES = (
    "accounts",
    "biomarker_dictionary",
    "users",
    "user_preferences",
    "connected_devices",
    "wearable_daily",
    "wearable_sleep",
    "wearable_activities",
    "blood_panels",
    "blood_markers",
    "dexa_scans",
    "epigenetic_tests",
    "lifting_sessions",
    "measurements",
    "supplements",
    "mood_journal",
    "doctor_visits",
    "documents",
    "goals",
)
# Cross-user access the worker role needs for fan-out and job management (seed §3: "api + cross-user
# job management"); it never reads another user's health data.
WORKER_CROSS_USER = {
    "ingestion_jobs": "ALL",
    "connected_devices": "SELECT",
    "users": "SELECT",
}

FUNCTIONS = """
CREATE OR REPLACE FUNCTION app_current_user_id() RETURNS uuid
LANGUAGE sql STABLE AS
$$ SELECT NULLIF(current_setting('app.current_user_id', true), '')::uuid $$;

-- clock_timestamp, not now(): a row inserted and updated in one transaction then shows both times,
-- which is how batch writes tell an insert from an update (db.upsert).
CREATE OR REPLACE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS
$$ BEGIN NEW.updated_at := clock_timestamp(); RETURN NEW; END $$;

-- Yearly partitions of the wearable tables, created on demand so an insert for any year succeeds.
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
            CONTINUE;  -- the common case: no lock, so writers of an existing year never queue here
        END IF;
        -- Two workers creating the same year at once must not both try.
        PERFORM pg_advisory_xact_lock(723615, p_year);
        IF to_regclass(format('public.%I', parent || '_' || p_year)) IS NULL THEN
            EXECUTE format('CREATE TABLE public.%I PARTITION OF public.%I FOR VALUES FROM (%L) TO (%L)',
                           parent || '_' || p_year, parent,
                           make_date(p_year, 1, 1), make_date(p_year + 1, 1, 1));
        END IF;
    END LOOP;
END
$$;

-- Quarterly partitions of audit_log (named audit_log_2026q4).
CREATE OR REPLACE FUNCTION vitalis_ensure_audit_partition(p_at timestamptz) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS
$$
DECLARE
    q_start timestamptz := date_trunc('quarter', p_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    q_name text := 'audit_log_' || to_char(p_at AT TIME ZONE 'UTC', 'YYYY"q"Q');
BEGIN
    PERFORM pg_advisory_xact_lock(723616, (extract(year FROM q_start AT TIME ZONE 'UTC') * 10
                                          + extract(quarter FROM q_start AT TIME ZONE 'UTC'))::integer);
    IF to_regclass('public.' || q_name) IS NULL THEN
        EXECUTE format('CREATE TABLE public.%I PARTITION OF public.audit_log FOR VALUES FROM (%L) TO (%L)',
                       q_name, q_start, q_start + interval '3 months');
    END IF;
END
$$;

-- Seed §11: every INSERT/UPDATE/DELETE of user data leaves one row in audit_log.
-- Statement-level triggers with transition tables: one INSERT ... SELECT into audit_log per statement,
-- not one trigger call per row, which matters for batch syncs of thousands of rows.
-- TG_ARGV[0] is the column that identifies a row, TG_ARGV[1] the table's name as users know it, and
-- TG_ARGV[2] (optional) a second identifying column for link tables with a composite key.

-- Secrets never enter the audit trail, and bulky provider payloads are kept once, in their table.
CREATE OR REPLACE FUNCTION audit_strip(row_values jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS
$$ SELECT row_values - 'access_token_enc' - 'refresh_token_enc' - 'password_hash' - 'raw_data' $$;

CREATE OR REPLACE FUNCTION audit_ensure_partition() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS
$$
BEGIN
    IF to_regclass('public.audit_log_' || to_char(now() AT TIME ZONE 'UTC', 'YYYY"q"Q')) IS NULL THEN
        PERFORM vitalis_ensure_audit_partition(now());
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION audit_insert_fn() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS
$$
BEGIN
    PERFORM audit_ensure_partition();
    INSERT INTO audit_log (created_at, user_id, action_by, table_name, record_id, action, new_values, request_id)
    SELECT now(), (n.j ->> 'user_id')::uuid, app_current_user_id(), TG_ARGV[1], (n.j ->> TG_ARGV[0])::uuid,
           'INSERT', n.j, NULLIF(current_setting('app.request_id', true), '')::uuid
    FROM (SELECT audit_strip(to_jsonb(r)) AS j FROM new_rows r) n;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION audit_delete_fn() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS
$$
BEGIN
    PERFORM audit_ensure_partition();
    INSERT INTO audit_log (created_at, user_id, action_by, table_name, record_id, action, old_values, request_id)
    SELECT now(), (o.j ->> 'user_id')::uuid, app_current_user_id(), TG_ARGV[1], (o.j ->> TG_ARGV[0])::uuid,
           'DELETE', o.j, NULLIF(current_setting('app.request_id', true), '')::uuid
    FROM (SELECT audit_strip(to_jsonb(r)) AS j FROM old_rows r) o;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION audit_update_fn() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS
$$
BEGIN
    PERFORM audit_ensure_partition();
    INSERT INTO audit_log (created_at, user_id, action_by, table_name, record_id, action,
                           old_values, new_values, request_id)
    SELECT now(), (n.j ->> 'user_id')::uuid, app_current_user_id(), TG_ARGV[1], (n.j ->> TG_ARGV[0])::uuid,
           'UPDATE', o.j, n.j, NULLIF(current_setting('app.request_id', true), '')::uuid
    FROM (SELECT audit_strip(to_jsonb(r)) AS j FROM old_rows r) o
    JOIN (SELECT audit_strip(to_jsonb(r)) AS j FROM new_rows r) n
      ON n.j ->> TG_ARGV[0] = o.j ->> TG_ARGV[0]
     AND (TG_ARGV[2] IS NULL OR n.j ->> TG_ARGV[2] = o.j ->> TG_ARGV[2])
    -- An idempotent re-import rewrites identical values; that is not a change worth a record.
    WHERE (o.j - 'updated_at') IS DISTINCT FROM (n.j - 'updated_at');
    RETURN NULL;
END
$$;
"""


def upgrade() -> None:
    op.execute(FUNCTIONS)
    op.execute(
        """
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vitalis_api') THEN
                CREATE ROLE vitalis_api NOLOGIN;
            END IF;
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vitalis_worker') THEN
                CREATE ROLE vitalis_worker NOLOGIN;
            END IF;
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vitalis_readonly') THEN
                CREATE ROLE vitalis_readonly NOLOGIN;
            END IF;
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vitalis_admin') THEN
                CREATE ROLE vitalis_admin NOLOGIN BYPASSRLS;
            END IF;
        END
        $$;
        """
    )
    # The application logs in as the migrating role and switches with SET LOCAL ROLE per unit of work.
    op.execute(f"GRANT {', '.join(ROLES)} TO CURRENT_USER")
    op.execute(f"GRANT USAGE ON SCHEMA public TO {', '.join(ROLES)}")
    op.execute("REVOKE ALL ON FUNCTION vitalis_ensure_year_partitions(integer) FROM PUBLIC")
    op.execute("REVOKE ALL ON FUNCTION vitalis_ensure_audit_partition(timestamptz) FROM PUBLIC")
    op.execute(
        "GRANT EXECUTE ON FUNCTION vitalis_ensure_year_partitions(integer),"
        " vitalis_ensure_audit_partition(timestamptz) TO vitalis_api, vitalis_worker, vitalis_admin"
    )

    for table in SHARED_TABLES:
        op.execute(f"GRANT SELECT ON {table} TO vitalis_api, vitalis_worker, vitalis_readonly")
        op.execute(f"GRANT ALL ON {table} TO vitalis_admin")

    op.execute("GRANT SELECT ON accounts TO vitalis_api, vitalis_readonly")
    op.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON accounts TO vitalis_worker, vitalis_admin")
    op.execute("ALTER TABLE accounts ENABLE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY account_members ON accounts TO vitalis_api USING"
        " (account_id IN (SELECT u.account_id FROM users u WHERE u.user_id = app_current_user_id()))"
    )
    op.execute("CREATE POLICY worker_accounts ON accounts TO vitalis_worker USING (true) WITH CHECK (true)")
    op.execute("CREATE POLICY readonly_select ON accounts FOR SELECT TO vitalis_readonly USING (true)")

    for table, key in USER_TABLES.items():
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO vitalis_api, vitalis_worker")
        op.execute(f"GRANT SELECT ON {table} TO vitalis_readonly")
        op.execute(f"GRANT ALL ON {table} TO vitalis_admin")
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY user_isolation ON {table} TO vitalis_api, vitalis_worker"
            " USING (user_id = app_current_user_id()) WITH CHECK (user_id = app_current_user_id())"
        )
        op.execute(f"CREATE POLICY readonly_select ON {table} FOR SELECT TO vitalis_readonly USING (true)")
        if table not in NOT_AUDITED:
            args = ", ".join(f"'{a}'" for a in (key, table, *AUDIT_EXTRA_KEY.get(table, ())))
            for event, tables in AUDIT_EVENTS.items():
                op.execute(
                    f"CREATE TRIGGER audit_{event.lower()} AFTER {event} ON {table} REFERENCING {tables}"
                    f" FOR EACH STATEMENT EXECUTE FUNCTION audit_{event.lower()}_fn({args})"
                )
    for table, command in WORKER_CROSS_USER.items():
        check = " WITH CHECK (true)" if command == "ALL" else ""
        op.execute(f"CREATE POLICY worker_cross_user ON {table} FOR {command} TO vitalis_worker USING (true){check}")

    # audit_log: readable by the user it concerns; written only by the trigger (SECURITY DEFINER).
    op.execute("GRANT SELECT ON audit_log TO vitalis_api, vitalis_worker, vitalis_readonly, vitalis_admin")
    op.execute("ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY user_isolation ON audit_log FOR SELECT TO vitalis_api, vitalis_worker"
        " USING (user_id = app_current_user_id())"
    )
    op.execute("CREATE POLICY readonly_select ON audit_log FOR SELECT TO vitalis_readonly USING (true)")

    for table in UPDATED_AT_TABLES:
        op.execute(
            f"CREATE TRIGGER set_updated_at BEFORE UPDATE ON {table} FOR EACH ROW EXECUTE FUNCTION set_updated_at()"
        )

    # Partitions for the years and quarters around now; later ones are created on demand.
    op.execute(
        """
        SELECT vitalis_ensure_year_partitions(y)
        FROM generate_series(extract(year FROM now())::int - 1, extract(year FROM now())::int + 1) AS y;
        SELECT vitalis_ensure_audit_partition(now() + make_interval(months => 3 * q))
        FROM generate_series(0, 3) AS q;
        """
    )


def downgrade() -> None:
    for table in UPDATED_AT_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS set_updated_at ON {table}")
    op.execute("DROP POLICY IF EXISTS user_isolation ON audit_log")
    op.execute("DROP POLICY IF EXISTS readonly_select ON audit_log")
    op.execute("ALTER TABLE audit_log DISABLE ROW LEVEL SECURITY")
    for table in WORKER_CROSS_USER:
        op.execute(f"DROP POLICY IF EXISTS worker_cross_user ON {table}")
    for table in USER_TABLES:
        for event in AUDIT_EVENTS:
            op.execute(f"DROP TRIGGER IF EXISTS audit_{event.lower()} ON {table}")
        op.execute(f"DROP POLICY IF EXISTS user_isolation ON {table}")
        op.execute(f"DROP POLICY IF EXISTS readonly_select ON {table}")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    for policy in ("account_members", "worker_accounts", "readonly_select"):
        op.execute(f"DROP POLICY IF EXISTS {policy} ON accounts")
    op.execute("ALTER TABLE accounts DISABLE ROW LEVEL SECURITY")
    op.execute(
        "DROP FUNCTION IF EXISTS audit_insert_fn(), audit_update_fn(), audit_delete_fn(), audit_ensure_partition(),"
        " audit_strip(jsonb), vitalis_ensure_audit_partition(timestamptz),"
        " vitalis_ensure_year_partitions(integer), set_updated_at(), app_current_user_id()"
    )
    roles = ", ".join(ROLES)
    op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {roles}")
    op.execute(f"REVOKE USAGE ON SCHEMA public FROM {roles}")
    # Roles belong to the whole cluster; another database may still use them, and then they stay.
    op.execute(
        """
        DO $$
        DECLARE r text;
        BEGIN
            FOREACH r IN ARRAY ARRAY['vitalis_api', 'vitalis_worker', 'vitalis_admin', 'vitalis_readonly'] LOOP
                BEGIN
                    EXECUTE format('DROP ROLE IF EXISTS %I', r);
                EXCEPTION WHEN dependent_objects_still_exist THEN
                    RAISE NOTICE 'role % is still used elsewhere in this cluster; kept', r;
                END;
            END LOOP;
        END
        $$;
        """
    )
