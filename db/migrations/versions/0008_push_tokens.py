"""push_tokens: per-person tokens for the Apple Health push endpoint, and the push as a document type.

A token is shown once when it is made and stored only as its SHA-256; `prefix`, its public part, finds
the row and names the token in lists. Like every table of a person's data it is under row-level
security and audited (the hash is left out of the trail, as provider tokens are). The system makes
tokens (worker role: the secret never passes through a person's own writes); a person may rename or
revoke theirs, never write a hash, an owner or a use, and a revoked token cannot be brought back. The
endpoint finds a token by its prefix before it knows whose it is: the worker role reads the table from
a scope with no user, as it reads jobs.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

NO_USER = "app_current_user_id() IS NULL"
OWN_ROW = "user_id = app_current_user_id()"
AUDIT_EVENTS = {
    "INSERT": "NEW TABLE AS new_rows",
    "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "DELETE": "OLD TABLE AS old_rows",
}

AUDIT_STRIP = """
CREATE OR REPLACE FUNCTION audit_strip(row_values jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS
$$ SELECT row_values - 'access_token_enc' - 'refresh_token_enc' - 'password_hash' - 'raw_data' {extra}$$;
"""

STAY_REVOKED = """
CREATE FUNCTION push_tokens_stay_revoked() RETURNS trigger
LANGUAGE plpgsql AS
$$
BEGIN
    RAISE EXCEPTION 'a revoked push token stays revoked: make a new one' USING ERRCODE = 'check_violation';
END
$$;

CREATE TRIGGER stay_revoked BEFORE UPDATE OF revoked_at ON push_tokens
FOR EACH ROW WHEN (OLD.revoked_at IS NOT NULL AND NEW.revoked_at IS DISTINCT FROM OLD.revoked_at)
EXECUTE FUNCTION push_tokens_stay_revoked();
"""


def upgrade() -> None:
    # Not used in this transaction, so ADD VALUE may run inside it; IF NOT EXISTS because a downgrade
    # cannot take an enum value back.
    op.execute("ALTER TYPE document_type ADD VALUE IF NOT EXISTS 'apple_health_push'")
    op.create_table(
        "push_tokens",
        sa.Column("token_id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("prefix", sa.Text(), nullable=False),
        sa.Column("token_hash", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("token_hash ~ '^[0-9a-f]{64}$'", name=op.f("ck_push_tokens_token_hash_sha256")),
        sa.CheckConstraint("prefix ~ '^[0-9a-f]{12}$'", name=op.f("ck_push_tokens_prefix_hex")),
        sa.CheckConstraint("char_length(name) BETWEEN 1 AND 100", name=op.f("ck_push_tokens_name_length")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.user_id"], name=op.f("fk_push_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("token_id", name=op.f("pk_push_tokens")),
        sa.UniqueConstraint("prefix", name=op.f("uq_push_tokens_prefix")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_push_tokens_token_hash")),
    )
    op.create_index(op.f("ix_push_tokens_user_id"), "push_tokens", ["user_id"])

    op.execute("GRANT SELECT ON push_tokens TO vitalis_api, vitalis_worker, vitalis_readonly")
    op.execute("GRANT ALL ON push_tokens TO vitalis_admin")
    op.execute("GRANT UPDATE (name, revoked_at), DELETE ON push_tokens TO vitalis_api")
    op.execute(
        "GRANT INSERT (user_id, name, prefix, token_hash), UPDATE (name, last_used_at, revoked_at)"
        " ON push_tokens TO vitalis_worker"
    )
    op.execute("ALTER TABLE push_tokens ENABLE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY user_isolation ON push_tokens TO vitalis_api, vitalis_worker USING ({OWN_ROW})"
        f" WITH CHECK ({OWN_ROW})"
    )
    op.execute(f"CREATE POLICY worker_cross_user ON push_tokens FOR SELECT TO vitalis_worker USING ({NO_USER})")
    op.execute(
        f"CREATE POLICY readonly_select ON push_tokens FOR SELECT TO vitalis_readonly USING ({NO_USER} OR {OWN_ROW})"
    )
    op.execute(STAY_REVOKED)
    op.execute(AUDIT_STRIP.format(extra="- 'token_hash' "))
    for event, tables in AUDIT_EVENTS.items():
        op.execute(
            f"CREATE TRIGGER audit_{event.lower()} AFTER {event} ON push_tokens REFERENCING {tables}"
            f" FOR EACH STATEMENT EXECUTE FUNCTION audit_{event.lower()}_fn('token_id', 'push_tokens')"
        )


def downgrade() -> None:
    op.drop_table("push_tokens")  # its triggers and policies go with it
    op.execute("DROP FUNCTION push_tokens_stay_revoked()")
    op.execute(AUDIT_STRIP.format(extra=""))
    op.execute("DELETE FROM documents WHERE document_type = 'apple_health_push'")
