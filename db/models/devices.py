"""Seed 003 §2.2: OAuth connections and their sync state."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, created_at, text_array, updated_at, user_fk, uuid_pk
from db.models.enums import DATA_SOURCE, DataSource


class ConnectedDevice(Base):
    __tablename__ = "connected_devices"

    device_id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = user_fk()
    source: Mapped[DataSource] = mapped_column(DATA_SOURCE)
    display_name: Mapped[str | None]
    # Ciphertext only (Fernet, key from VITALIS_TOKEN_KEYS); the clear token never reaches the database.
    access_token_enc: Mapped[str | None]
    refresh_token_enc: Mapped[str | None]
    token_expires_at: Mapped[datetime | None]
    scope: Mapped[list[str] | None] = text_array()
    external_user_id: Mapped[str | None]
    last_sync_at: Mapped[datetime | None]
    last_sync_status: Mapped[str | None]
    last_sync_error: Mapped[str | None]
    sync_cursor: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    is_active: Mapped[bool] = mapped_column(server_default=text("true"))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    __table_args__ = (
        UniqueConstraint("user_id", "source"),
        Index(None, "source", "last_sync_at"),
        CheckConstraint("last_sync_status IN ('success', 'error', 'partial')", name="last_sync_status_values"),
    )
