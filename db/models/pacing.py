"""The provider apps' pacing buckets, for deployments without Redis (see integrations.pacing)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Double, func
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base


class ProviderPacing(Base):
    """One token bucket per provider application: no user's data, so no user_id, no RLS, no audit."""

    __tablename__ = "provider_pacing"

    app_key: Mapped[str] = mapped_column(primary_key=True)
    tokens: Mapped[float] = mapped_column(Double)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())
    paused_until: Mapped[datetime | None]
