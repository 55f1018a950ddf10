"""Seed 003 §2.9: goals, fired goal alerts, and cached insights; when each user's insights were computed."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, text
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base, created_at, num, owned_by_same_user, owner_key, updated_at, user_fk, uuid_pk
from db.models.enums import GoalDirection, InsightType, pg_enum


class Goal(Base):
    __tablename__ = "goals"

    goal_id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = user_fk()
    metric_type: Mapped[str]
    biomarker_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("biomarker_dictionary.biomarker_id", ondelete="RESTRICT")
    )
    metric_name: Mapped[str | None]
    target_value: Mapped[Decimal | None] = num(12, 4)
    target_unit: Mapped[str | None]
    direction: Mapped[GoalDirection] = mapped_column(pg_enum(GoalDirection, "goal_direction"))
    alert_threshold_low: Mapped[Decimal | None] = num(12, 4)
    alert_threshold_high: Mapped[Decimal | None] = num(12, 4)
    alert_enabled: Mapped[bool] = mapped_column(server_default=text("true"))
    notes: Mapped[str | None]
    is_active: Mapped[bool] = mapped_column(server_default=text("true"))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    __table_args__ = (
        Index("ix_goals_user_active", "user_id", postgresql_where=text("is_active")),
        owner_key("goal_id"),
        CheckConstraint(
            "metric_type IN ('blood_marker', 'measurement', 'wearable', 'custom')", name="metric_type_values"
        ),
        CheckConstraint(
            "metric_type <> 'blood_marker' OR biomarker_id IS NOT NULL",
            name="blood_marker_goal_has_biomarker",
        ),
        CheckConstraint(
            "alert_threshold_low IS NULL OR alert_threshold_high IS NULL"
            " OR alert_threshold_low <= alert_threshold_high",
            name="thresholds_ordered",
        ),
    )


class GoalAlert(Base):
    __tablename__ = "goal_alerts"

    alert_id: Mapped[uuid.UUID] = uuid_pk()
    goal_id: Mapped[uuid.UUID]
    user_id: Mapped[uuid.UUID] = user_fk()
    triggered_at: Mapped[datetime]
    trigger_value: Mapped[Decimal | None] = num(12, 4)
    message: Mapped[str | None]
    acknowledged_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_goal_alerts_user_triggered", "user_id", text("triggered_at DESC")),
        Index(None, "goal_id"),
        owned_by_same_user("goal_id", "goals.goal_id"),
    )


class Insight(Base):
    __tablename__ = "insights"

    insight_id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = user_fk()
    insight_type: Mapped[InsightType] = mapped_column(pg_enum(InsightType, "insight_type"))
    title: Mapped[str]
    body: Mapped[str]
    metric_a: Mapped[str | None]
    metric_b: Mapped[str | None]
    correlation_r: Mapped[Decimal | None] = num(4, 3)
    p_value: Mapped[Decimal | None] = num(8, 6)
    data_points: Mapped[int | None] = mapped_column(Integer)
    valid_from: Mapped[date | None]
    valid_until: Mapped[date | None]
    is_dismissed: Mapped[bool] = mapped_column(server_default=text("false"))
    dismissed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at()

    __table_args__ = (
        Index("ix_insights_user_type_created", "user_id", "insight_type", text("created_at DESC")),
        Index(
            "ix_insights_user_active",
            "user_id",
            text("created_at DESC"),
            postgresql_where=text("NOT is_dismissed"),
        ),
        CheckConstraint("correlation_r IS NULL OR correlation_r BETWEEN -1 AND 1", name="r_range"),
        CheckConstraint("p_value IS NULL OR p_value BETWEEN 0 AND 1", name="p_value_range"),
    )


class InsightRun(Base):
    """Per user: when the nightly run last computed their insights, until when they hold, and when the data
    they come from last changed (moved by triggers on every table the run reads; migration 0006)."""

    __tablename__ = "insight_runs"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.user_id", ondelete="CASCADE"), primary_key=True)
    data_changed_at: Mapped[datetime | None]
    computed_at: Mapped[datetime | None]
    valid_until: Mapped[date | None]
