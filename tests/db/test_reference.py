"""Reference data: the dictionary file becomes biomarker_dictionary rows, and seeding twice changes nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from db.models import BiomarkerDictionary
from db.reference import seed_biomarkers
from parsers.vocabulary.dictionary import load_dictionary


def test_seeding_loads_every_marker_and_a_second_run_changes_nothing(db) -> None:
    markers = load_dictionary()
    first = seed_biomarkers(db)
    second = seed_biomarkers(db)

    assert first["biomarkers_inserted"] + first["biomarkers_updated"] + first["biomarkers_unchanged"] == len(markers)
    assert second == {"biomarkers_inserted": 0, "biomarkers_updated": 0, "biomarkers_unchanged": len(markers)}
    assert db.scalar(select(func.count()).select_from(BiomarkerDictionary)) == len(markers)


def test_seeded_rows_carry_the_file_s_facts(db) -> None:
    seed_biomarkers(db)
    glucose = db.scalar(select(BiomarkerDictionary).where(BiomarkerDictionary.canonical_name == "glucose"))
    assert glucose.loinc_code == "2345-7"
    assert glucose.canonical_unit == "mg/dL"
    assert "mmol/L" in glucose.common_units
    assert glucose.molar_mass_g_mol is not None
    # The alias array is what the GIN index serves: a lab's spelling finds its marker in SQL too.
    hit = db.scalar(
        select(BiomarkerDictionary.canonical_name).where(BiomarkerDictionary.aliases.contains(["T4, Free"]))
    )
    assert hit == "t4_free"
    qualitative = db.scalars(select(BiomarkerDictionary).where(BiomarkerDictionary.is_qualitative)).all()
    assert qualitative and all(m.canonical_unit is None and m.qualitative_values for m in qualitative)


def test_a_changed_entry_is_updated_in_place(db) -> None:
    seed_biomarkers(db)
    db.execute(
        BiomarkerDictionary.__table__.update()
        .where(BiomarkerDictionary.canonical_name == "ferritin")
        .values(display_name="stale")
    )
    stats = seed_biomarkers(db)
    assert stats["biomarkers_updated"] == 1
    assert (
        db.scalar(select(BiomarkerDictionary.display_name).where(BiomarkerDictionary.canonical_name == "ferritin"))
        == load_dictionary().get("ferritin").display_name
    )
