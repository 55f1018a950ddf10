"""Seed 003 §2.7: lifting sessions, sets and the shared exercise catalog."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Integer, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import (
    Base,
    created_at,
    num,
    owned_by_same_user,
    owner_key,
    range_checks,
    small,
    text_array,
    updated_at,
    user_fk,
    uuid_pk,
)
from db.models.enums import DATA_SOURCE, DataSource


class ExerciseDictionary(Base):
    """Shared exercise catalog; no RLS."""

    __tablename__ = "exercise_dictionary"

    exercise_id: Mapped[uuid.UUID] = uuid_pk()
    canonical_name: Mapped[str] = mapped_column(unique=True)
    display_name: Mapped[str]
    aliases: Mapped[list[str] | None] = text_array()
    primary_muscle: Mapped[str | None]
    secondary_muscles: Mapped[list[str] | None] = text_array()
    equipment: Mapped[str | None]
    category: Mapped[str | None]
    created_at: Mapped[datetime] = created_at()


class LiftingSession(Base):
    __tablename__ = "lifting_sessions"

    session_id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = user_fk()
    session_date: Mapped[date]
    source: Mapped[DataSource] = mapped_column(DATA_SOURCE)
    source_session_id: Mapped[str | None]
    name: Mapped[str | None]
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    notes: Mapped[str | None]
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
    deleted_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("user_id", "source", "source_session_id"),
        Index("ix_lifting_sessions_user_date", "user_id", text("session_date DESC")),
        owner_key("session_id"),
    )


class LiftingSet(Base):
    __tablename__ = "lifting_sets"

    set_id: Mapped[uuid.UUID] = uuid_pk()
    session_id: Mapped[uuid.UUID]
    user_id: Mapped[uuid.UUID] = user_fk()
    exercise_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("exercise_dictionary.exercise_id", ondelete="RESTRICT")
    )
    set_number: Mapped[int | None] = small()
    exercise_order: Mapped[int | None] = small()
    weight_lbs: Mapped[Decimal | None] = num(6, 2)
    reps: Mapped[int | None] = small()
    rpe: Mapped[Decimal | None] = num(3, 1)
    is_warmup: Mapped[bool] = mapped_column(server_default=text("false"))
    notes: Mapped[str | None]
    created_at: Mapped[datetime] = created_at()

    __table_args__ = (
        Index(None, "user_id", "session_id"),
        Index(None, "exercise_id", "user_id"),
        owned_by_same_user("session_id", "lifting_sessions.session_id"),
        *range_checks("lifting_sets"),
    )
