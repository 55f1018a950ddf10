"""provider_pacing: the provider apps' token buckets on the database, for the embedded default.

A provider's quota counts its application's requests across every user; without Redis the bucket that
paces every worker to it lives in one row per app, updated under its row lock. Only the worker role
touches it; it holds no one's data, so it has no RLS and is not audited.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "provider_pacing",
        sa.Column("app_key", sa.Text(), nullable=False),
        sa.Column("tokens", sa.Double(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("paused_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("app_key", name=op.f("pk_provider_pacing")),
    )
    op.execute("GRANT SELECT, INSERT, UPDATE ON provider_pacing TO vitalis_worker")


def downgrade() -> None:
    op.drop_table("provider_pacing")
