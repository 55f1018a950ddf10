"""Seed 003 §2.4: lab panels, their markers, and the shared biomarker dictionary."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, Computed, ForeignKey, Index, Integer, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import (
    Base,
    created_at,
    num,
    owned_by_same_user,
    owner_key,
    range_checks,
    text_array,
    updated_at,
    user_fk,
    uuid_pk,
)
from db.models.enums import BiomarkerCategory, pg_enum


class BiomarkerDictionary(Base):
    """Canonical reference for all known biomarkers; shared by every user, so no RLS."""

    __tablename__ = "biomarker_dictionary"

    biomarker_id: Mapped[uuid.UUID] = uuid_pk()
    canonical_name: Mapped[str] = mapped_column(unique=True)
    display_name: Mapped[str]
    category: Mapped[BiomarkerCategory] = mapped_column(pg_enum(BiomarkerCategory, "biomarker_category"))
    subcategory: Mapped[str | None]
    canonical_unit: Mapped[str | None]  # NULL only for qualitative markers
    common_units: Mapped[list[str] | None] = text_array()
    loinc_code: Mapped[str | None]
    description: Mapped[str | None]
    aliases: Mapped[list[str] | None] = text_array()
    sex_specific_ranges: Mapped[bool] = mapped_column(server_default=text("false"))
    optimal_low_male: Mapped[Decimal | None] = num(12, 4)
    optimal_high_male: Mapped[Decimal | None] = num(12, 4)
    optimal_low_female: Mapped[Decimal | None] = num(12, 4)
    optimal_high_female: Mapped[Decimal | None] = num(12, 4)
    normal_low: Mapped[Decimal | None] = num(12, 4)
    normal_high: Mapped[Decimal | None] = num(12, 4)
    is_qualitative: Mapped[bool] = mapped_column(server_default=text("false"))
    qualitative_values: Mapped[list[str] | None] = text_array()
    molar_mass_g_mol: Mapped[Decimal | None] = num(12, 4)
    sort_order: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    __table_args__ = (
        CheckConstraint("is_qualitative OR canonical_unit IS NOT NULL", name="quantitative_has_unit"),
        CheckConstraint(
            "normal_low IS NULL OR normal_high IS NULL OR normal_low <= normal_high",
            name="normal_range_ordered",
        ),
        Index("ix_biomarker_dictionary_aliases", "aliases", postgresql_using="gin"),
        Index(None, "category"),
    )


class BloodPanel(Base):
    __tablename__ = "blood_panels"

    panel_id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = user_fk()
    lab_name: Mapped[str | None]
    lab_provider: Mapped[str | None]
    panel_name: Mapped[str | None]
    collected_at: Mapped[datetime | None]
    reported_at: Mapped[datetime | None]
    fasting: Mapped[bool | None]
    specimen_id: Mapped[str | None]
    document_id: Mapped[uuid.UUID | None]
    notes: Mapped[str | None]
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
    deleted_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_blood_panels_user_collected", "user_id", text("collected_at DESC")),
        owner_key("panel_id"),
        owned_by_same_user("document_id", "documents.document_id", ondelete="SET NULL"),
    )


MARKER_KEY_SQL = "COALESCE(biomarker_id::text, 'name:' || lower(btrim(regexp_replace(raw_name, '\\s+', ' ', 'g'))))"


def marker_key(biomarker_id: uuid.UUID | str | None, raw_name: str) -> str:
    """MARKER_KEY_SQL in Python, to fold duplicates inside a batch before PostgreSQL sees them."""
    if biomarker_id is not None:
        return str(biomarker_id)
    return "name:" + " ".join(raw_name.split()).lower()


class BloodMarker(Base):
    __tablename__ = "blood_markers"

    marker_id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = user_fk()  # denormalized from the panel: it is the RLS key
    panel_id: Mapped[uuid.UUID]
    # NULL when the lab's name matched no dictionary entry; raw_name keeps what the report said.
    biomarker_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("biomarker_dictionary.biomarker_id", ondelete="RESTRICT")
    )
    raw_name: Mapped[str]
    sub_panel: Mapped[str | None]
    value_numeric: Mapped[Decimal | None] = num(12, 4)
    value_text: Mapped[str | None]
    unit: Mapped[str | None]
    value_canonical: Mapped[Decimal | None] = num(12, 4)
    ref_range_low: Mapped[Decimal | None] = num(12, 4)
    ref_range_high: Mapped[Decimal | None] = num(12, 4)
    ref_range_text: Mapped[str | None]
    flag: Mapped[str | None]
    in_range: Mapped[bool | None] = mapped_column(Boolean)
    optimal_low: Mapped[Decimal | None] = num(12, 4)
    optimal_high: Mapped[Decimal | None] = num(12, 4)
    lab_code: Mapped[str | None]
    parse_confidence: Mapped[Decimal | None] = num(3, 2)
    # Seed §6: a unit the dictionary does not list for the marker is kept as reported and flagged, never
    # converted on a guess; review_note says why.
    needs_review: Mapped[bool] = mapped_column(server_default=text("false"))
    review_note: Mapped[str | None]
    # The dedup key: the marker when the dictionary knows it, else the report's name (case and spacing
    # folded), so an unknown marker is still one row per panel on re-import.
    marker_key: Mapped[str] = mapped_column(Computed(MARKER_KEY_SQL, persisted=True))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    __table_args__ = (
        # Seed §6 dedup: one value per (panel, biomarker), and per (panel, name) for unknown markers.
        UniqueConstraint("panel_id", "marker_key"),
        owned_by_same_user("panel_id", "blood_panels.panel_id"),
        Index(None, "user_id", "biomarker_id", "panel_id"),
        Index(None, "panel_id"),
        CheckConstraint(
            "value_numeric IS NULL OR value_numeric NOT IN ('NaN', 'Infinity', '-Infinity')",
            name="value_numeric_finite",
        ),
        CheckConstraint(
            "value_canonical IS NULL OR value_canonical NOT IN ('NaN', 'Infinity', '-Infinity')",
            name="value_canonical_finite",
        ),
        CheckConstraint("flag IN ('H', 'L', 'HH', 'LL', 'ABNORMAL')", name="flag_values"),
        CheckConstraint("value_numeric IS NOT NULL OR value_text IS NOT NULL", name="has_value"),
        *range_checks("blood_markers"),
    )
