"""Writing lab results: each marker named through the dictionary, converted through the unit converter,
and a unit the dictionary does not list for the marker flagged, never converted on a guess (seed 003 §6).

Every writer of blood markers (the lab-report parser, a person typing in a result) goes through
`record_markers`, so the rule holds wherever a marker is written.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import BiomarkerDictionary, BloodMarker, User
from db.upsert import UpsertStats, upsert
from parsers.vocabulary import units
from parsers.vocabulary.dictionary import Biomarker, load_dictionary
from parsers.vocabulary.dictionary import BiomarkerDictionary as Vocabulary


@dataclass(frozen=True, slots=True)
class LabResult:
    """One result line as the report printed it; `slug` when the caller already knows the marker."""

    raw_name: str
    value_numeric: Decimal | float | None = None
    value_text: str | None = None
    unit: str | None = None
    ref_range_low: Decimal | float | None = None
    ref_range_high: Decimal | float | None = None
    ref_range_text: str | None = None
    flag: str | None = None
    sub_panel: str | None = None
    lab_code: str | None = None
    parse_confidence: Decimal | float | None = None
    slug: str | None = None


def record_markers(
    session: Session,
    user_id: uuid.UUID,
    panel_id: uuid.UUID,
    results: Iterable[LabResult],
    vocabulary: Vocabulary | None = None,
) -> UpsertStats:
    """Upsert the panel's results on (panel, marker); re-importing the same report changes nothing."""
    vocabulary = vocabulary or load_dictionary()
    results = list(results)
    resolved = [_resolve(vocabulary, r) for r in results]
    slugs = {m.slug for m in resolved if m is not None}
    ids = dict(
        session.execute(
            select(BiomarkerDictionary.canonical_name, BiomarkerDictionary.biomarker_id).where(
                BiomarkerDictionary.canonical_name.in_(slugs)
            )
        ).all()
    )
    sex = session.scalar(select(User.biological_sex).where(User.user_id == user_id))
    rows = [
        _row(user_id, panel_id, r, m, ids.get(m.slug) if m else None, sex)
        for r, m in zip(results, resolved, strict=True)
    ]
    return upsert(session, BloodMarker, rows)


def canonical_value(
    result: LabResult, vocabulary: Vocabulary | None = None
) -> tuple[Biomarker | None, Decimal | None, str | None]:
    """What `record_markers` would store for one result: its marker, the value in the marker's canonical
    unit, and why it was not converted (then it needs review). For showing a parse before it is confirmed."""
    marker = _resolve(vocabulary or load_dictionary(), result)
    value, note = _canonical(result, marker)
    return marker, value, note


def _resolve(vocabulary: Vocabulary, result: LabResult) -> Biomarker | None:
    if result.slug:
        return vocabulary.get(result.slug)
    return vocabulary.match(result.raw_name, result.unit).biomarker


def _row(
    user_id: uuid.UUID,
    panel_id: uuid.UUID,
    result: LabResult,
    marker: Biomarker | None,
    biomarker_id: uuid.UUID | None,
    sex: str | None,
) -> dict[str, Any]:
    canonical, note = _canonical(result, marker)
    low, high = _optimal(marker, sex)
    return {
        "user_id": user_id,
        "panel_id": panel_id,
        "biomarker_id": biomarker_id,
        "raw_name": result.raw_name,
        "sub_panel": result.sub_panel,
        "value_numeric": result.value_numeric,
        "value_text": result.value_text,
        "unit": result.unit,
        "value_canonical": canonical,
        "ref_range_low": result.ref_range_low,
        "ref_range_high": result.ref_range_high,
        "ref_range_text": result.ref_range_text,
        "flag": result.flag,
        "in_range": _in_range(result),
        "optimal_low": low,
        "optimal_high": high,
        "lab_code": result.lab_code,
        "parse_confidence": result.parse_confidence,
        "needs_review": note is not None,
        "review_note": note,
    }


def _canonical(result: LabResult, marker: Biomarker | None) -> tuple[Decimal | None, str | None]:
    """The value in the marker's canonical unit, or why it was not converted (then it needs review)."""
    if marker is None or result.value_numeric is None or marker.canonical_unit is None:
        return None, None
    if not result.unit:
        return None, f"no unit was reported; {marker.display_name} is expected in {marker.canonical_unit}"
    if not units.is_accepted(result.unit, marker):
        accepted = ", ".join(marker.accepted_units)
        return None, f"unit {result.unit!r} is not one of {marker.display_name}'s accepted units ({accepted})"
    try:
        value = units.to_canonical(float(result.value_numeric), result.unit, marker)
    except units.UnitError as exc:
        return None, str(exc)
    return Decimal(repr(round(value, 4))), None


def _optimal(marker: Biomarker | None, sex: str | None) -> tuple[float | None, float | None]:
    if marker is None:
        return None, None
    if marker.sex_specific and sex == "female":
        return marker.optimal_low_female, marker.optimal_high_female
    if marker.sex_specific and sex != "male":
        return None, None  # no sex on record: no sex-specific target is better than the wrong one
    return marker.optimal_low_male, marker.optimal_high_male


def _in_range(result: LabResult) -> bool | None:
    if result.value_numeric is None or (result.ref_range_low is None and result.ref_range_high is None):
        return None
    value = Decimal(str(result.value_numeric))
    low = Decimal(str(result.ref_range_low)) if result.ref_range_low is not None else None
    high = Decimal(str(result.ref_range_high)) if result.ref_range_high is not None else None
    comparator = (result.value_text or "")[:1]
    if comparator in {"<", "≤"}:
        # "<0.5": the value is somewhere below 0.5, so only a verdict that holds for all of those is given.
        if low is not None:
            return False if value <= low else None
        return True if high is None or value <= high else None
    if comparator in {">", "≥"}:
        if high is not None:
            return False if value >= high else None
        return True if low is None or value >= low else None
    return (low is None or value >= low) and (high is None or value <= high)
