"""Seed 003 §2.1: accounts (billing), users (auth identity, PII), social logins, preferences."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, SmallInteger, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, created_at, updated_at, user_fk, uuid_pk
from db.models.enums import SubscriptionStatus, SubscriptionTier, pg_enum


class Account(Base):
    __tablename__ = "accounts"

    account_id: Mapped[uuid.UUID] = uuid_pk()
    stripe_customer_id: Mapped[str | None] = mapped_column(unique=True)
    subscription_tier: Mapped[SubscriptionTier] = mapped_column(
        pg_enum(SubscriptionTier, "subscription_tier"), server_default="free"
    )
    subscription_status: Mapped[SubscriptionStatus] = mapped_column(
        pg_enum(SubscriptionStatus, "subscription_status"), server_default="active"
    )
    subscription_expires_at: Mapped[datetime | None]
    max_users: Mapped[int] = mapped_column(SmallInteger, server_default="1")
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
    deleted_at: Mapped[datetime | None]

    __table_args__ = (CheckConstraint("max_users BETWEEN 1 AND 4", name="max_users_range"),)


class User(Base):
    __tablename__ = "users"

    user_id: Mapped[uuid.UUID] = uuid_pk()
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.account_id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(unique=True)
    email_verified_at: Mapped[datetime | None]
    password_hash: Mapped[str | None]
    display_name: Mapped[str]
    date_of_birth: Mapped[date | None]
    biological_sex: Mapped[str | None]
    role: Mapped[str] = mapped_column(server_default="user")
    last_login_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
    deleted_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint("email = lower(btrim(email))", name="email_normalized"),
        CheckConstraint("biological_sex IN ('male', 'female', 'other')", name="biological_sex_values"),
        CheckConstraint("role IN ('user', 'admin')", name="role_values"),
        Index(None, "account_id"),
    )


class OAuthIdentity(Base):
    __tablename__ = "oauth_identities"

    identity_id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = user_fk()
    provider: Mapped[str]
    provider_user_id: Mapped[str]
    access_token_enc: Mapped[str | None]
    refresh_token_enc: Mapped[str | None]
    expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at()

    __table_args__ = (UniqueConstraint("provider", "provider_user_id"), Index(None, "user_id"))


class UserPreferences(Base):
    __tablename__ = "user_preferences"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.user_id", ondelete="CASCADE"), primary_key=True)
    weight_unit: Mapped[str] = mapped_column(server_default="lbs")
    height_unit: Mapped[str] = mapped_column(server_default="in")
    distance_unit: Mapped[str] = mapped_column(server_default="miles")
    temperature_unit: Mapped[str] = mapped_column(server_default="F")
    energy_unit: Mapped[str] = mapped_column(server_default="kcal")
    timezone: Mapped[str] = mapped_column(server_default="UTC")
    notifications_enabled: Mapped[bool] = mapped_column(server_default=text("true"))
    notification_prefs: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    dashboard_layout: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    updated_at: Mapped[datetime] = updated_at()

    __table_args__ = (
        CheckConstraint("weight_unit IN ('lbs', 'kg')", name="weight_unit_values"),
        CheckConstraint("height_unit IN ('in', 'cm')", name="height_unit_values"),
        CheckConstraint("distance_unit IN ('miles', 'km')", name="distance_unit_values"),
        CheckConstraint("temperature_unit IN ('F', 'C')", name="temperature_unit_values"),
        CheckConstraint("energy_unit IN ('kcal', 'kJ')", name="energy_unit_values"),
    )


class PushToken(Base):
    """A person's token for pushing data (the Apple Health push endpoint): only its SHA-256 is kept.

    `prefix` is the token's public part: it names the token in lists and finds its row, so the secret is
    compared (in constant time) against one hash only. A revoked token stays revoked.
    """

    __tablename__ = "push_tokens"

    token_id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = user_fk()
    name: Mapped[str]
    prefix: Mapped[str] = mapped_column(unique=True)
    token_hash: Mapped[str] = mapped_column(unique=True)
    created_at: Mapped[datetime] = created_at()
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint("token_hash ~ '^[0-9a-f]{64}$'", name="token_hash_sha256"),
        CheckConstraint("prefix ~ '^[0-9a-f]{12}$'", name="prefix_hex"),
        CheckConstraint("char_length(name) BETWEEN 1 AND 100", name="name_length"),
        Index(None, "user_id"),
    )
