"""Seed 003 §2.8: manual tracking, supplements, nutrition, journal, cycles, visits, photos, documents."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    UniqueConstraint,
    text,
)
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
from db.models.enums import (
    DATA_SOURCE,
    DataSource,
    DocumentType,
    MeasurementMetric,
    MenstrualPhase,
    ParseStatus,
    pg_enum,
)


class Measurement(Base):
    __tablename__ = "measurements"

    measurement_id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = user_fk()
    metric: Mapped[MeasurementMetric] = mapped_column(pg_enum(MeasurementMetric, "measurement_metric"))
    value: Mapped[Decimal] = num(10, 3)
    unit: Mapped[str]
    measured_at: Mapped[datetime]
    source: Mapped[DataSource | None] = mapped_column(DATA_SOURCE)
    notes: Mapped[str | None]
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
    deleted_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_measurements_user_metric_time", "user_id", "metric", text("measured_at DESC")),
        # Idempotent re-import: one value per metric, instant and source.
        UniqueConstraint("user_id", "metric", "measured_at", "source", postgresql_nulls_not_distinct=True),
        CheckConstraint("value NOT IN ('NaN', 'Infinity', '-Infinity')", name="value_finite"),
    )


class CustomMetric(Base):
    __tablename__ = "custom_metrics"

    metric_id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = user_fk()
    name: Mapped[str]
    unit: Mapped[str | None]
    data_type: Mapped[str | None]
    min_value: Mapped[Decimal | None] = mapped_column(Numeric)
    max_value: Mapped[Decimal | None] = mapped_column(Numeric)
    is_active: Mapped[bool] = mapped_column(server_default=text("true"))
    created_at: Mapped[datetime] = created_at()

    __table_args__ = (
        UniqueConstraint("user_id", "name"),
        owner_key("metric_id"),
        CheckConstraint("data_type IN ('numeric', 'boolean', 'text', 'scale_1_5')", name="data_type_values"),
        CheckConstraint("min_value IS NULL OR max_value IS NULL OR min_value <= max_value", name="bounds_ordered"),
    )


class CustomMetricEntry(Base):
    __tablename__ = "custom_metric_entries"

    entry_id: Mapped[uuid.UUID] = uuid_pk()
    metric_id: Mapped[uuid.UUID]
    user_id: Mapped[uuid.UUID] = user_fk()
    value_numeric: Mapped[Decimal | None] = mapped_column(Numeric)
    value_text: Mapped[str | None]
    measured_at: Mapped[datetime]
    notes: Mapped[str | None]
    created_at: Mapped[datetime] = created_at()

    __table_args__ = (
        Index("ix_custom_metric_entries_user_metric_time", "user_id", "metric_id", text("measured_at DESC")),
        owned_by_same_user("metric_id", "custom_metrics.metric_id"),
    )


class Supplement(Base):
    __tablename__ = "supplements"

    supplement_id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = user_fk()
    name: Mapped[str]
    brand: Mapped[str | None]
    dose_amount: Mapped[Decimal | None] = num(8, 3)
    dose_unit: Mapped[str | None]
    frequency: Mapped[str | None]
    timing: Mapped[str | None]
    started_at: Mapped[date | None]
    ended_at: Mapped[date | None]
    purpose: Mapped[str | None]
    notes: Mapped[str | None]
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
    deleted_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_supplements_user_started", "user_id", text("started_at DESC")),
        Index("ix_supplements_user_current", "user_id", postgresql_where=text("ended_at IS NULL")),
        owner_key("supplement_id"),
        CheckConstraint("ended_at IS NULL OR started_at IS NULL OR ended_at >= started_at", name="dates_ordered"),
    )


class SupplementLog(Base):
    __tablename__ = "supplement_logs"

    log_id: Mapped[uuid.UUID] = uuid_pk()
    supplement_id: Mapped[uuid.UUID]
    user_id: Mapped[uuid.UUID] = user_fk()
    taken_at: Mapped[datetime]
    dose_amount: Mapped[Decimal | None] = num(8, 3)
    dose_unit: Mapped[str | None]
    notes: Mapped[str | None]
    created_at: Mapped[datetime] = created_at()

    __table_args__ = (
        Index("ix_supplement_logs_user_taken", "user_id", text("taken_at DESC")),
        Index(None, "supplement_id", "taken_at"),
        owned_by_same_user("supplement_id", "supplements.supplement_id"),
    )


class NutritionLog(Base):
    __tablename__ = "nutrition_logs"

    nutrition_id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = user_fk()
    log_date: Mapped[date]
    meal_type: Mapped[str | None]
    calories_kcal: Mapped[int | None] = small()
    protein_g: Mapped[Decimal | None] = num(6, 2)
    carbs_g: Mapped[Decimal | None] = num(6, 2)
    fat_g: Mapped[Decimal | None] = num(6, 2)
    fiber_g: Mapped[Decimal | None] = num(6, 2)
    source: Mapped[DataSource | None] = mapped_column(DATA_SOURCE)
    raw_data: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = created_at()
    deleted_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_nutrition_logs_user_date", "user_id", text("log_date DESC")),
        CheckConstraint("meal_type IN ('breakfast', 'lunch', 'dinner', 'snack', 'fast')", name="meal_type_values"),
    )


class MoodJournal(Base):
    __tablename__ = "mood_journal"

    journal_id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = user_fk()
    journal_date: Mapped[date]
    mood_score: Mapped[int | None] = small()
    energy_score: Mapped[int | None] = small()
    stress_score: Mapped[int | None] = small()
    notes: Mapped[str | None]
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
    deleted_at: Mapped[datetime | None]

    __table_args__ = (UniqueConstraint("user_id", "journal_date"), *range_checks("mood_journal"))


class MenstrualCycle(Base):
    __tablename__ = "menstrual_cycles"

    cycle_id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = user_fk()
    cycle_date: Mapped[date]
    phase: Mapped[MenstrualPhase | None] = mapped_column(pg_enum(MenstrualPhase, "menstrual_phase"))
    flow_intensity: Mapped[int | None] = small()
    symptoms: Mapped[list[str] | None] = text_array()
    notes: Mapped[str | None]
    created_at: Mapped[datetime] = created_at()

    __table_args__ = (
        UniqueConstraint("user_id", "cycle_date"),
        Index("ix_menstrual_cycles_user_date", "user_id", text("cycle_date DESC")),
        *range_checks("menstrual_cycles"),
    )


class DoctorVisit(Base):
    __tablename__ = "doctor_visits"

    visit_id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = user_fk()
    visit_date: Mapped[date]
    provider_name: Mapped[str | None]
    specialty: Mapped[str | None]
    notes: Mapped[str | None]
    follow_up_date: Mapped[date | None]
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
    deleted_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_doctor_visits_user_date", "user_id", text("visit_date DESC")), owner_key("visit_id"))


class DoctorVisitPanel(Base):
    """Visit ↔ panel link. Carries user_id (not in the seed) because user_id is the RLS and shard key."""

    __tablename__ = "doctor_visit_panels"

    visit_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    panel_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = user_fk()

    __table_args__ = (
        Index(None, "user_id"),
        owned_by_same_user("visit_id", "doctor_visits.visit_id"),
        owned_by_same_user("panel_id", "blood_panels.panel_id"),
    )


class Photo(Base):
    __tablename__ = "photos"

    photo_id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = user_fk()
    photo_date: Mapped[date]
    photo_type: Mapped[str | None]
    s3_key: Mapped[str]
    s3_thumbnail_key: Mapped[str | None]
    file_size_bytes: Mapped[int | None] = mapped_column(Integer)
    linked_scan_id: Mapped[uuid.UUID | None]
    notes: Mapped[str | None]
    created_at: Mapped[datetime] = created_at()
    deleted_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_photos_user_date", "user_id", text("photo_date DESC")),
        owned_by_same_user("linked_scan_id", "dexa_scans.scan_id", ondelete="SET NULL"),
        CheckConstraint("photo_type IN ('front', 'back', 'left', 'right', 'other')", name="photo_type_values"),
    )


class Document(Base):
    """An uploaded source file. `s3_key` names where the bytes are stored (object store or local files)."""

    __tablename__ = "documents"

    document_id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = user_fk()
    document_type: Mapped[DocumentType] = mapped_column(pg_enum(DocumentType, "document_type"))
    provider_name: Mapped[str | None]
    original_filename: Mapped[str | None]
    s3_key: Mapped[str]
    file_size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    mime_type: Mapped[str | None] = mapped_column(server_default="application/pdf")
    parse_status: Mapped[ParseStatus] = mapped_column(pg_enum(ParseStatus, "parse_status"), server_default="pending")
    parse_confidence: Mapped[Decimal | None] = num(3, 2)
    parse_result: Mapped[dict[str, Any] | None]
    parsed_at: Mapped[datetime | None]
    confirmed_at: Mapped[datetime | None]
    confirmed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.user_id", ondelete="SET NULL"))
    linked_record_id: Mapped[uuid.UUID | None]
    linked_record_type: Mapped[str | None]
    error_message: Mapped[str | None]
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
    deleted_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_documents_user_created", "user_id", text("created_at DESC")),
        Index("ix_documents_pending", "parse_status", postgresql_where=text("parse_status = 'pending'")),
        owner_key("document_id"),
        # Only the document's owner confirms it; any other user id here would point across users.
        CheckConstraint("confirmed_by IS NULL OR confirmed_by = user_id", name="confirmed_by_owner"),
        CheckConstraint(
            "linked_record_type IN ('blood_panel', 'dexa_scan', 'epigenetic_test')",
            name="linked_record_type_values",
        ),
        *range_checks("documents"),
    )
