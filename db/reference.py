"""Reference data shared by every user: the biomarker dictionary, loaded from the reviewed data file."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from db.models import BiomarkerDictionary
from db.upsert import upsert
from parsers.vocabulary.dictionary import Biomarker, load_dictionary


def biomarker_row(marker: Biomarker) -> dict[str, Any]:
    return {
        "canonical_name": marker.slug,
        "display_name": marker.display_name,
        "category": marker.category,
        "subcategory": marker.subcategory,
        "canonical_unit": marker.canonical_unit,
        "common_units": list(marker.accepted_units),
        "loinc_code": marker.loinc,
        "description": marker.description,
        "aliases": list(marker.aliases),
        "sex_specific_ranges": marker.sex_specific,
        "optimal_low_male": marker.optimal_low_male,
        "optimal_high_male": marker.optimal_high_male,
        "optimal_low_female": marker.optimal_low_female,
        "optimal_high_female": marker.optimal_high_female,
        "normal_low": marker.normal_low,
        "normal_high": marker.normal_high,
        "is_qualitative": marker.qualitative,
        "qualitative_values": list(marker.qualitative_values) or None,
        "molar_mass_g_mol": marker.molar_mass,
        "sort_order": marker.sort_order,
    }


def seed_biomarkers(session: Session) -> dict[str, int]:
    """Upsert every marker of the data file by slug; repeating it changes nothing.

    Markers are never deleted here: blood_markers rows may point at them. A marker removed from the file
    stays until a migration retires it deliberately.
    """
    stats = upsert(session, BiomarkerDictionary, [biomarker_row(m) for m in load_dictionary()], key=("canonical_name",))
    return {f"biomarkers_{k}": v for k, v in stats.as_dict().items()}


def seed_reference_data(session: Session) -> dict[str, int]:
    return seed_biomarkers(session)
