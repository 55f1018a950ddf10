"""Declarative base: PostgreSQL types for Python annotations, constraint names, shared column shapes."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    MetaData,
    Numeric,
    SmallInteger,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from db.validation import RANGES, check_constraint_sql

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {
        uuid.UUID: UUID(as_uuid=True),
        datetime: DateTime(timezone=True),
        date: Date,
        str: Text,
        dict[str, Any]: JSONB,
        list[Any]: JSONB,
        list[str]: ARRAY(Text),
        Decimal: Numeric,
    }


def uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(primary_key=True, server_default=text("gen_random_uuid()"))


def user_fk(*, nullable: bool = False) -> Mapped[uuid.UUID]:
    # Hard deletion of a user (GDPR, seed §10) removes their rows with them.
    return mapped_column(ForeignKey("users.user_id", ondelete="CASCADE"), nullable=nullable, index=False)


def owned_by_same_user(column: str, parent: str, *, ondelete: str = "CASCADE") -> ForeignKeyConstraint:
    """A reference to another user-data row that must belong to the same user.

    Foreign keys are checked without row-level security, so a plain `column -> parent` key would let one
    user attach a row to another user's parent. Carrying user_id in the key makes the database refuse it.
    SET NULL clears only `column` (PostgreSQL 15's column list): user_id is the row's owner, never NULL.
    """
    table = parent.split(".")[0]
    action = f"SET NULL ({column})" if ondelete == "SET NULL" else ondelete
    return ForeignKeyConstraint([column, "user_id"], [parent, f"{table}.user_id"], ondelete=action)


def owner_key(key: str) -> UniqueConstraint:
    """The (id, user_id) key that owned_by_same_user references."""
    return UniqueConstraint(key, "user_id")


def created_at() -> Mapped[datetime]:
    return mapped_column(server_default=func.now())


def updated_at() -> Mapped[datetime]:
    # Kept current by the set_updated_at trigger, so raw SQL updates cannot forget it.
    return mapped_column(server_default=func.now())


def num(precision: int, scale: int) -> Any:
    return mapped_column(Numeric(precision, scale))


def small() -> Any:
    return mapped_column(SmallInteger)


def text_array() -> Any:
    return mapped_column(ARRAY(Text))


def range_checks(table: str) -> tuple[CheckConstraint, ...]:
    """CHECK constraints for every §6 range declared for `table` in db.validation.RANGES."""
    return tuple(
        CheckConstraint(check_constraint_sql(column, low, high), name=f"{column}_range")
        for (tbl, column), (low, high) in RANGES.items()
        if tbl == table
    )
