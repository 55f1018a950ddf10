"""wearable_daily.hrv_sdnn_ms: a day's SDNN (Apple Health's HRV), apart from RMSSD.

SDNN and RMSSD are different statistics of the same beat-to-beat intervals with no conversion between
them, so Apple's HRV gets its own column instead of landing in hrv_rmssd_ms.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("wearable_daily", sa.Column("hrv_sdnn_ms", sa.Numeric(6, 2), nullable=True))
    op.create_check_constraint(
        op.f("ck_wearable_daily_hrv_sdnn_ms_range"),
        "wearable_daily",
        "hrv_sdnn_ms IS NULL OR (hrv_sdnn_ms >= 1 AND hrv_sdnn_ms <= 500)",
    )
    # The api role's writes are granted column by column (0003): a person's own data column is theirs.
    op.execute("GRANT INSERT (hrv_sdnn_ms), UPDATE (hrv_sdnn_ms) ON wearable_daily TO vitalis_api")


def downgrade() -> None:
    op.drop_column("wearable_daily", "hrv_sdnn_ms")
