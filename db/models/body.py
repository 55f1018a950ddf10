"""Seed 003 §2.5–2.6: DEXA body composition and epigenetic tests."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, Index, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import (
    Base,
    created_at,
    num,
    owned_by_same_user,
    owner_key,
    range_checks,
    updated_at,
    user_fk,
    uuid_pk,
)
from db.models.enums import BoneDensityRegion, DexaRegion, OrganSystem, pg_enum


class DexaScan(Base):
    __tablename__ = "dexa_scans"

    scan_id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = user_fk()
    provider: Mapped[str | None]
    scan_date: Mapped[date]
    age_at_scan: Mapped[Decimal | None] = num(4, 1)
    height_in: Mapped[Decimal | None] = num(5, 2)
    weight_lbs: Mapped[Decimal | None] = num(6, 2)
    total_mass_lbs: Mapped[Decimal | None] = num(6, 2)
    total_fat_lbs: Mapped[Decimal | None] = num(6, 2)
    total_lean_lbs: Mapped[Decimal | None] = num(6, 2)
    total_bmc_lbs: Mapped[Decimal | None] = num(6, 2)
    total_body_fat_pct: Mapped[Decimal | None] = num(4, 1)
    visceral_fat_lbs: Mapped[Decimal | None] = num(6, 3)
    visceral_fat_in3: Mapped[Decimal | None] = num(7, 2)
    android_gynoid_ratio: Mapped[Decimal | None] = num(4, 2)
    document_id: Mapped[uuid.UUID | None]
    notes: Mapped[str | None]
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
    deleted_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_dexa_scans_user_date", "user_id", text("scan_date DESC")),
        owner_key("scan_id"),
        owned_by_same_user("document_id", "documents.document_id", ondelete="SET NULL"),
        *range_checks("dexa_scans"),
    )


class DexaRegionRow(Base):
    __tablename__ = "dexa_regions"

    region_id: Mapped[uuid.UUID] = uuid_pk()
    scan_id: Mapped[uuid.UUID]
    user_id: Mapped[uuid.UUID] = user_fk()
    region: Mapped[DexaRegion] = mapped_column(pg_enum(DexaRegion, "dexa_region"))
    body_fat_pct: Mapped[Decimal | None] = num(4, 1)
    fat_lbs: Mapped[Decimal | None] = num(6, 2)
    lean_lbs: Mapped[Decimal | None] = num(6, 2)
    bmc_lbs: Mapped[Decimal | None] = num(5, 3)
    total_mass_lbs: Mapped[Decimal | None] = num(6, 2)

    __table_args__ = (
        UniqueConstraint("scan_id", "region"),
        Index(None, "user_id", "scan_id"),
        owned_by_same_user("scan_id", "dexa_scans.scan_id"),
        *range_checks("dexa_regions"),
    )


class DexaBoneDensity(Base):
    __tablename__ = "dexa_bone_density"

    density_id: Mapped[uuid.UUID] = uuid_pk()
    scan_id: Mapped[uuid.UUID]
    user_id: Mapped[uuid.UUID] = user_fk()
    region: Mapped[BoneDensityRegion] = mapped_column(pg_enum(BoneDensityRegion, "bone_density_region"))
    bmd_g_cm2: Mapped[Decimal | None] = num(6, 3)
    t_score: Mapped[Decimal | None] = num(4, 1)
    z_score: Mapped[Decimal | None] = num(4, 1)

    __table_args__ = (
        UniqueConstraint("scan_id", "region"),
        Index(None, "user_id", "scan_id"),
        owned_by_same_user("scan_id", "dexa_scans.scan_id"),
    )


class EpigeneticTest(Base):
    __tablename__ = "epigenetic_tests"

    test_id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = user_fk()
    provider: Mapped[str | None]
    kit_id: Mapped[str | None]
    collected_at: Mapped[date | None]
    reported_at: Mapped[date | None]
    chronological_age: Mapped[Decimal | None] = num(4, 1)
    biological_age: Mapped[Decimal | None] = num(4, 1)
    pace_score: Mapped[Decimal | None] = num(4, 2)
    pace_percentile: Mapped[Decimal | None] = num(5, 2)
    telomere_length: Mapped[Decimal | None] = num(6, 3)
    methylation_clock: Mapped[str | None]
    document_id: Mapped[uuid.UUID | None]
    raw_data: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
    deleted_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_epigenetic_tests_user_collected", "user_id", text("collected_at DESC")),
        owner_key("test_id"),
        owned_by_same_user("document_id", "documents.document_id", ondelete="SET NULL"),
        CheckConstraint("pace_percentile IS NULL OR pace_percentile BETWEEN 0 AND 100", name="pace_percentile_range"),
        *range_checks("epigenetic_tests"),
    )


class EpigeneticOrganAge(Base):
    __tablename__ = "epigenetic_organ_ages"

    organ_age_id: Mapped[uuid.UUID] = uuid_pk()
    test_id: Mapped[uuid.UUID]
    user_id: Mapped[uuid.UUID] = user_fk()
    organ_system: Mapped[OrganSystem] = mapped_column(pg_enum(OrganSystem, "organ_system"))
    biological_age: Mapped[Decimal | None] = num(4, 1)
    chronological_age: Mapped[Decimal | None] = num(4, 1)
    delta_years: Mapped[Decimal | None] = num(4, 1)
    direction: Mapped[str | None]

    __table_args__ = (
        UniqueConstraint("test_id", "organ_system"),
        Index(None, "user_id", "test_id"),
        owned_by_same_user("test_id", "epigenetic_tests.test_id"),
        CheckConstraint("direction IN ('younger', 'older', 'same')", name="direction_values"),
    )
