"""insight_runs: which users' insights are stale, and triggers that mark them when their data changes.

One row per user: `data_changed_at` is moved by statement-level triggers on every table the nightly run
reads (one upsert per statement over its transition table, never one per row), `computed_at` and
`valid_until` by the run. A user needs a run when never computed, when data changed after the last run,
or when the last run's insights expire. The run marks a user computed only if `data_changed_at` is still
what it saw when it loaded the data (insights.runs), so a change committed during a run is never lost.

The trigger holds the person's insight_runs row until the writing transaction commits: two writers for
one person take turns from their first write on (writes are short batch transactions; a deadlock between
them is a transient error, retried).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# Every table insights.load reads a person's data from.
SOURCE_TABLES = (
    "wearable_daily",
    "wearable_sleep",
    "mood_journal",
    "nutrition_logs",
    "custom_metrics",
    "custom_metric_entries",
    "measurements",
    "supplements",
    "supplement_logs",
    "blood_panels",
    "blood_markers",
    "goals",
)
EVENTS = {"INSERT": "NEW TABLE AS changed", "UPDATE": "NEW TABLE AS changed", "DELETE": "OLD TABLE AS changed"}
NO_USER = "app_current_user_id() IS NULL"
OWN_ROW = "user_id = app_current_user_id()"

# SECURITY DEFINER: the writer (api or worker role, in a person's scope) may not write insight_runs.
# Users being deleted are skipped: their rows go with them (a cascade fires these triggers too).
# clock_timestamp(), not now(): a change made after a run started must read as later than the run.
MARK_STALE = """
CREATE FUNCTION insight_runs_mark_stale() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS
$$
BEGIN
    INSERT INTO insight_runs AS r (user_id, data_changed_at)
    SELECT u.user_id, clock_timestamp() FROM users u
    WHERE u.user_id IN (SELECT c.user_id FROM changed c)
    ORDER BY u.user_id  -- one lock order for statements touching several users
    ON CONFLICT (user_id) DO UPDATE SET data_changed_at = excluded.data_changed_at;
    RETURN NULL;
END
$$;
"""


def upgrade() -> None:
    op.create_table(
        "insight_runs",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("data_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.user_id"], name=op.f("fk_insight_runs_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_insight_runs")),
    )
    # The api role reads when its person's insights were computed; only the run writes them.
    op.execute("GRANT SELECT ON insight_runs TO vitalis_api, vitalis_readonly")
    op.execute("GRANT SELECT, INSERT (user_id, computed_at, valid_until), UPDATE (computed_at, valid_until)"
               " ON insight_runs TO vitalis_worker")  # fmt: skip
    op.execute("GRANT ALL ON insight_runs TO vitalis_admin")
    op.execute("ALTER TABLE insight_runs ENABLE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY user_isolation ON insight_runs TO vitalis_api, vitalis_worker USING ({OWN_ROW})"
        f" WITH CHECK ({OWN_ROW})"
    )
    # The fan-out picks the users to run from a scope with no user; it reads dates, no health data.
    op.execute(f"CREATE POLICY worker_cross_user ON insight_runs FOR SELECT TO vitalis_worker USING ({NO_USER})")
    op.execute(
        f"CREATE POLICY readonly_select ON insight_runs FOR SELECT TO vitalis_readonly USING ({NO_USER} OR {OWN_ROW})"
    )
    op.execute(MARK_STALE)
    op.execute("REVOKE ALL ON FUNCTION insight_runs_mark_stale() FROM PUBLIC")
    for table in SOURCE_TABLES:
        for event, transition in EVENTS.items():
            op.execute(
                f"CREATE TRIGGER insights_stale_{event.lower()} AFTER {event} ON {table} REFERENCING {transition}"
                " FOR EACH STATEMENT EXECUTE FUNCTION insight_runs_mark_stale()"
            )


def downgrade() -> None:
    for table in SOURCE_TABLES:
        for event in EVENTS:
            op.execute(f"DROP TRIGGER insights_stale_{event.lower()} ON {table}")
    op.execute("DROP FUNCTION insight_runs_mark_stale()")
    op.drop_table("insight_runs")
