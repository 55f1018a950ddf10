"""Job leases: a job is claimed by one attempt at a time, and a lost message or worker is recovered.

`task_name` says which task to send again, `claim_token` and `lease_expires_at` say which attempt
holds a running job and until when, and `dispatched_at` says when its message was last handed to the
broker (NULL: the send failed, so the sweeper sends it).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("ingestion_jobs", sa.Column("task_name", sa.Text(), nullable=True))
    op.add_column("ingestion_jobs", sa.Column("claim_token", sa.UUID(), nullable=True))
    op.add_column("ingestion_jobs", sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True))
    # Existing rows count as sent now: the sweeper gives their messages the usual time before resending.
    op.add_column(
        "ingestion_jobs",
        sa.Column("dispatched_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=True),
    )
    op.create_index(
        "ix_ingestion_jobs_lease",
        "ingestion_jobs",
        ["lease_expires_at"],
        unique=False,
        postgresql_where=sa.text("status = 'running'"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_ingestion_jobs_lease", table_name="ingestion_jobs", postgresql_where=sa.text("status = 'running'")
    )
    op.drop_column("ingestion_jobs", "dispatched_at")
    op.drop_column("ingestion_jobs", "lease_expires_at")
    op.drop_column("ingestion_jobs", "claim_token")
    op.drop_column("ingestion_jobs", "task_name")
