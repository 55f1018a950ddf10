"""The biomarker dictionary: the data file's rules, the loader's strictness, and name matching."""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from pathlib import Path

import pytest
import yaml

from parsers.vocabulary.dictionary import (
    CATEGORIES,
    DEFAULT_PATH,
    BiomarkerDictionary,
    DictionaryError,
    load_dictionary,
    loinc_check_digit_ok,
    normalize_name,
    specimen_fits,
    stated_specimen,
)

NAMED_CATEGORIES = [category for category in CATEGORIES if category != "other"]

# Names as Quest, Labcorp, hospital systems, MyChart, UK, Australian and European labs print them.
REPORT_SPELLINGS = yaml.safe_load(Path(__file__).with_name("report_spellings.yaml").read_text(encoding="utf-8"))

# Slugs the unit converter and the database seed address directly.
REQUIRED_SLUGS = [
    "glucose",
    "cholesterol_total",
    "hdl_cholesterol",
    "ldl_cholesterol",
    "triglycerides",
    "creatinine",
    "uric_acid",
    "bun",
    "calcium",
    "testosterone_total",
    "testosterone_free",
    "estradiol",
    "dhea_sulfate",
    "cortisol",
    "vitamin_d_25oh_total",
    "vitamin_b12",
    "folate",
    "ferritin",
    "iron",
    "hemoglobin",
    "hba1c",
    "wbc",
    "platelets",
    "neutrophils_absolute",
    "neutrophils_pct",
    "lipoprotein_a",
    "t4_free",
    "t3_free",
    "tsh",
    "insulin",
    "magnesium",
    "zinc",
    "homocysteine",
    "albumin",
    "total_protein",
    "bilirubin_total",
    "sodium",
    "potassium",
    "urine_ph",
    "urine_protein",
    "t4_total",
    "tibc",
    "vitamin_d_25oh_d2",
    "vitamin_d_25oh_d3",
]


@pytest.fixture(scope="module")
def dictionary() -> BiomarkerDictionary:
    return load_dictionary()


@pytest.fixture(scope="module")
def raw_markers() -> list[dict]:
    return yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))["markers"]


def _has_numeric_range(marker) -> bool:
    bounds = (
        marker.normal_low,
        marker.normal_high,
        marker.optimal_low_male,
        marker.optimal_high_male,
        marker.optimal_low_female,
        marker.optimal_high_female,
    )
    return any(bound is not None for bound in bounds)


# --- the data file --------------------------------------------------------------------------------


def test_the_file_covers_every_named_category_with_at_least_120_markers(dictionary):
    counts = dictionary.categories()
    assert len(dictionary) >= 120
    assert [c for c in NAMED_CATEGORIES if not counts.get(c)] == []
    assert set(counts) <= set(CATEGORIES)


def test_slugs_are_unique_snake_case(raw_markers):
    slugs = [entry["slug"] for entry in raw_markers]
    assert [slug for slug, n in Counter(slugs).items() if n > 1] == []
    assert all(slug == slug.lower() and " " not in slug for slug in slugs)


@pytest.mark.parametrize("slug", REQUIRED_SLUGS)
def test_slugs_other_modules_rely_on_exist(dictionary, slug):
    assert slug in dictionary


def test_categories_are_database_enum_values(dictionary):
    assert {marker.category for marker in dictionary} <= set(CATEGORIES)


def test_no_name_is_shared_between_markers(dictionary):
    owners: dict[str, set[str]] = defaultdict(set)
    for marker in dictionary:
        for name in marker.names:
            owners[normalize_name(name)].add(marker.slug)
    shared = {name: sorted(slugs) for name, slugs in owners.items() if len(slugs) > 1}
    assert shared == {}


def test_aliases_do_not_repeat_the_marker_or_each_other(dictionary):
    problems = []
    for marker in dictionary:
        normalized = [normalize_name(alias) for alias in marker.aliases]
        problems += [(marker.slug, a) for a, n in Counter(normalized).items() if n > 1]
        problems += [
            (marker.slug, alias)
            for alias in marker.aliases
            if normalize_name(alias) == normalize_name(marker.display_name)
            or alias.casefold() == marker.slug.casefold()
        ]
    assert problems == []


def test_loinc_codes_are_well_formed_with_valid_check_digits(dictionary):
    bad = [(m.slug, m.loinc) for m in dictionary if m.loinc is not None and not loinc_check_digit_ok(m.loinc)]
    assert bad == []


def test_loinc_codes_are_not_reused(dictionary):
    codes = Counter(m.loinc for m in dictionary if m.loinc is not None)
    assert [code for code, n in codes.items() if n > 1] == []


def test_a_missing_loinc_code_is_explained(dictionary):
    unexplained = [m.slug for m in dictionary if m.loinc is None and not m.loinc_note.startswith("No ")]
    assert unexplained == []


def test_loinc_note_names_the_code_it_explains(dictionary):
    assert [m.slug for m in dictionary if m.loinc and m.loinc not in m.loinc_note] == []


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        ("2345-7", True),  # glucose, mass
        ("14749-6", True),  # glucose, molar
        ("718-7", True),  # hemoglobin
        ("62292-8", True),  # 25-OH vitamin D
        ("2345-6", False),
        ("29900-7", False),
        ("2345", False),
        ("ABCD-1", False),
        ("", False),
    ],
    ids=lambda value: str(value),
)
def test_loinc_check_digit(code, valid):
    assert loinc_check_digit_ok(code) is valid


def test_quantitative_markers_accept_their_canonical_unit(dictionary):
    wrong = [m.slug for m in dictionary if not m.qualitative and m.canonical_unit not in m.accepted_units]
    assert wrong == []


def test_qualitative_markers_list_values_and_have_no_unit(dictionary):
    qualitative = [m for m in dictionary if m.qualitative]
    assert qualitative
    assert [m.slug for m in qualitative if m.canonical_unit is not None or not m.qualitative_values] == []
    assert [m.slug for m in qualitative if _has_numeric_range(m)] == []


def test_units_use_ascii_micro(dictionary):
    units = {unit for m in dictionary for unit in m.accepted_units}
    assert [unit for unit in units if not unit.isascii() or "mc" in unit] == []


def test_ranges_are_ordered(dictionary):
    def disordered(low, high):
        return low is not None and high is not None and low > high

    bad = [
        m.slug
        for m in dictionary
        if disordered(m.normal_low, m.normal_high)
        or disordered(m.optimal_low_male, m.optimal_high_male)
        or disordered(m.optimal_low_female, m.optimal_high_female)
    ]
    assert bad == []


def test_every_numeric_range_cites_a_source(dictionary):
    assert [m.slug for m in dictionary if _has_numeric_range(m) and not m.sources] == []


def test_differing_male_and_female_bands_are_flagged_sex_specific(dictionary):
    unflagged = [
        m.slug
        for m in dictionary
        if (m.optimal_low_male, m.optimal_high_male) != (m.optimal_low_female, m.optimal_high_female)
        and not m.sex_specific
    ]
    assert unflagged == []


def test_sort_order_counts_positions_within_each_category(dictionary):
    by_category: dict[str, list[int]] = defaultdict(list)
    for marker in dictionary:
        by_category[marker.category].append(marker.sort_order)
    assert all(orders == list(range(1, len(orders) + 1)) for orders in by_category.values())


# --- unit facts other modules build on ---------------------------------------------------------------


def test_lipoprotein_a_is_never_converted_between_mass_and_moles(dictionary):
    lpa = dictionary.get("lipoprotein_a")
    assert lpa.canonical_unit == "nmol/L"
    assert "mg/dL" in lpa.accepted_units
    assert lpa.molar_mass is None
    assert lpa.conversions == ()


def test_hba1c_carries_the_ifcc_master_equation(dictionary):
    (conversion,) = dictionary.get("hba1c").conversions
    assert (conversion.from_unit, conversion.to_unit) == ("%", "mmol/mol")
    # 5.7 % NGSP is 39 mmol/mol IFCC
    assert round(5.7 * conversion.factor + conversion.offset) == 39


def test_insulin_uses_the_conventional_six_pmol_factor(dictionary):
    (conversion,) = dictionary.get("insulin").conversions
    assert (conversion.from_unit, conversion.to_unit, conversion.factor) == ("uIU/mL", "pmol/L", 6.0)


@pytest.mark.parametrize(
    ("slug", "canonical_unit", "molar_mass"),
    [
        ("glucose", "mg/dL", 180.16),
        ("testosterone_total", "ng/dL", 288.42),
        ("testosterone_free", "pg/mL", 288.42),
        ("estradiol", "pg/mL", 272.38),
        ("vitamin_d_25oh_total", "ng/mL", 400.64),
        ("triglycerides", "mg/dL", 885.4),
        ("bun", "mg/dL", 28.014),
        ("wbc", "10*3/uL", None),
        ("neutrophils_absolute", "10*3/uL", None),
    ],
)
def test_canonical_units_and_molar_masses(dictionary, slug, canonical_unit, molar_mass):
    marker = dictionary.get(slug)
    assert (marker.canonical_unit, marker.molar_mass) == (canonical_unit, molar_mass)


# --- the loader -----------------------------------------------------------------------------------------

VALID_ENTRY = """
  - slug: {slug}
    display_name: {display}
    category: metabolic
    subcategory: CMP
    loinc: "2345-7"
    loinc_note: "2345-7 Glucose [Mass/volume] in Serum or Plasma"
    specimen: serum_or_plasma
    canonical_unit: "mg/dL"
    accepted_units: ["mg/dL", "mmol/L"]
    molar_mass: 180.16
    aliases: [{aliases}]
    normal_low: 65
    normal_high: 99
    sex_specific: false
    qualitative: false
    description: "Test marker."
    sources: ["A source"]
"""


def _write(tmp_path: Path, *entries: str) -> Path:
    path = tmp_path / "markers.yaml"
    path.write_text("markers:" + "".join(entries), encoding="utf-8")
    return path


def _entry(slug: str = "probe", display: str = "Probe", aliases: str = '"PRB"') -> str:
    return VALID_ENTRY.format(slug=slug, display=display, aliases=aliases)


def test_a_valid_file_loads(tmp_path):
    loaded = load_dictionary(_write(tmp_path, _entry()))
    assert [m.slug for m in loaded] == ["probe"]
    assert loaded.match("PRB").biomarker.slug == "probe"


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        pytest.param(_entry().replace("    category: metabolic\n", ""), "category", id="missing-field"),
        pytest.param(_entry().replace("category: metabolic", "category: metabolism"), "category", id="bad-category"),
        pytest.param(_entry().replace('"2345-7"', '"2345-6"', 1), "loinc", id="bad-check-digit"),
        pytest.param(
            _entry().replace('["mg/dL", "mmol/L"]', '["mmol/L"]'), "accepted_units", id="canonical-unit-not-accepted"
        ),
        pytest.param(_entry().replace("normal_low: 65", "normal_low: 120"), "normal_low", id="low-above-high"),
        pytest.param(_entry().replace("molar_mass: 180.16", "molar_mass: heavy"), "molar_mass", id="not-a-number"),
        pytest.param(
            _entry().replace("qualitative: false", "qualitative: true"), "canonical_unit", id="qualitative-with-unit"
        ),
        pytest.param(_entry() + "    optimal: {low: 1}\n", "optimal", id="half-an-optimal-band"),
        pytest.param(_entry() + "    colour: red\n", "colour", id="unknown-field"),
        pytest.param(
            _entry() + '    conversions:\n      - {from: "%", to: "x", factor: 0, offset: 0, source: "s"}\n',
            "conversions[0].factor",
            id="zero-factor",
        ),
    ],
)
def test_malformed_entries_name_the_slug_and_field(tmp_path, entry, field):
    with pytest.raises(DictionaryError) as error:
        load_dictionary(_write(tmp_path, entry))
    assert "'probe'" in str(error.value)
    assert f"'{field}'" in str(error.value)


def test_an_alias_claimed_by_two_markers_is_rejected(tmp_path):
    path = _write(tmp_path, _entry(), _entry(slug="other_probe", display="Other Probe", aliases='"prb"'))
    with pytest.raises(DictionaryError, match="already a name of 'probe'"):
        load_dictionary(path)


def test_a_repeated_slug_is_rejected(tmp_path):
    with pytest.raises(DictionaryError, match="appears twice"):
        load_dictionary(_write(tmp_path, _entry(), _entry(display="Probe Two", aliases='"P2"')))


def test_broken_yaml_is_a_dictionary_error(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("markers: [\n", encoding="utf-8")
    with pytest.raises(DictionaryError, match="not valid YAML"):
        load_dictionary(path)


def test_the_bundled_file_is_loaded_once():
    assert load_dictionary() is load_dictionary()


def test_get_names_the_missing_slug(dictionary):
    assert dictionary.get("glucose").display_name == "Glucose"
    with pytest.raises(KeyError, match="no_such_marker"):
        dictionary.get("no_such_marker")


def test_optimal_for_both_sexes_fills_both_sets_of_fields(dictionary):
    apob = dictionary.get("apolipoprotein_b")
    assert (apob.optimal_high_male, apob.optimal_high_female) == (89, 89)
    assert not apob.sex_specific
    ferritin = dictionary.get("ferritin")
    assert ferritin.sex_specific and ferritin.optimal_low_male != ferritin.optimal_low_female


# --- matching -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "first_slug", "second", "second_slug"),
    [
        ("LDL-P", "ldl_particle_number", "LDL-C", "ldl_cholesterol"),
        ("LDL-P", "ldl_particle_number", "LDL Cholesterol", "ldl_cholesterol"),
        ("Small LDL-P", "ldl_small_nmr", "LDL SMALL", "ldl_small"),
        ("HDL-P", "hdl_particle_number", "HDL-C", "hdl_cholesterol"),
        ("Free T4", "t4_free", "T4, Total", "t4_total"),
        ("Free T4", "t4_free", "Free T4 Index", "free_thyroxine_index"),
        ("T3, Free", "t3_free", "T3, Reverse", "t3_reverse"),
        ("Testosterone, Free", "testosterone_free", "Testosterone, Total", "testosterone_total"),
        ("Testosterone, Bioavailable", "testosterone_bioavailable", "Testosterone", "testosterone_total"),
        ("Iron", "iron", "Iron Binding Capacity", "tibc"),
        ("Iron", "iron", "TIBC", "tibc"),
        ("Iron Saturation", "transferrin_saturation", "Iron, Total", "iron"),
        ("Neutrophils", "neutrophils_pct", "Neutrophils (Absolute)", "neutrophils_absolute"),
        ("Lymphs", "lymphocytes_pct", "Lymphs (Absolute)", "lymphocytes_absolute"),
        ("Vitamin D, 25-OH, D2", "vitamin_d_25oh_d2", "Vitamin D, 25-OH, Total", "vitamin_d_25oh_total"),
        ("Vitamin D, 25-OH, D3", "vitamin_d_25oh_d3", "Vitamin D, 25-OH, D2", "vitamin_d_25oh_d2"),
        ("Vitamin D, 1,25-Dihydroxy", "vitamin_d_1_25_dihydroxy", "Vitamin D, 25-Hydroxy", "vitamin_d_25oh_total"),
        ("DHEA-S", "dhea_sulfate", "DHEA", "dhea"),
        ("PSA, Free", "psa_free", "PSA, % Free", "psa_free_pct"),
        ("Bilirubin, Direct", "bilirubin_direct", "Bilirubin, Total", "bilirubin_total"),
        ("CRP", "crp", "hs-CRP", "hs_crp"),
        ("Folate, Serum", "folate", "Folate, RBC", "folate_rbc"),
        ("Magnesium", "magnesium", "Magnesium, RBC", "magnesium_rbc"),
        ("Hemoglobin", "hemoglobin", "Hemoglobin A1c", "hba1c"),
        ("Glucose", "glucose", "Glucose, Urine", "urine_glucose"),
        (
            "Albumin/Globulin Ratio",
            "albumin_globulin_ratio",
            "Albumin/Creatinine Ratio",
            "urine_albumin_creatinine_ratio",
        ),
        ("Omega-3 Index", "omega3_index", "Omega-3 Total", "omega3_total"),
        ("LDL Size", "ldl_particle_size", "LDL Peak Size", "ldl_peak_size"),
    ],
    ids=lambda value: str(value),
)
def test_near_neighbours_resolve_apart(dictionary, first, first_slug, second, second_slug):
    assert dictionary.match(first).biomarker.slug == first_slug
    assert dictionary.match(second).biomarker.slug == second_slug


@pytest.mark.parametrize(
    "name",
    [
        "Immature Granulocytes",
        "Immature Grans (Abs)",
        "Free Testosterone Index",
        "Glucose Tolerance 2hr",
        "Glucose, 2 Hour Post",
        "eGFR African American",
        "Protein",
        "Bilirubin",
        "Blood",
        "Serum",
        "Creatinine, Urine",
        "Calcium, Ionized",
        "Cortisol, Free, Urine",
        "Omega-3/Omega-6 Ratio",
        "Creatinine/BUN Ratio",
        "RDW-SD",
        "xqzzv plorb",
        "",
        "   ",
        "***",
    ],
    ids=lambda value: repr(value),
)
def test_names_not_in_the_dictionary_stay_unknown(dictionary, name):
    found = dictionary.match(name)
    assert found.biomarker is None
    assert found.confidence == 0.0
    assert found.reason


def _report_rows() -> list:
    return [
        pytest.param(name, slug, unit[0] if unit else None, id=f"{lab}:{name}" + (f" [{unit[0]}]" if unit else ""))
        for lab, rows in REPORT_SPELLINGS["resolve"].items()
        for name, slug, *unit in rows
    ]


@pytest.mark.parametrize(("printed", "slug", "unit"), _report_rows())
def test_names_as_lab_reports_print_them(dictionary, printed, slug, unit):
    found = dictionary.match(printed, unit)
    assert found.biomarker is not None, found.reason
    assert found.biomarker.slug == slug, found.reason


@pytest.mark.parametrize(
    ("printed", "why"), REPORT_SPELLINGS["unknown"], ids=[row[0] for row in REPORT_SPELLINGS["unknown"]]
)
def test_report_names_that_are_no_marker_of_the_dictionary_stay_unknown(dictionary, printed, why):
    found = dictionary.match(printed)
    assert found.biomarker is None, f"{printed!r} ({why}) matched {found.biomarker.slug}: {found.reason}"


def test_every_marker_has_a_report_spelling(dictionary):
    expected = {row[1] for rows in REPORT_SPELLINGS["resolve"].values() for row in rows}
    assert expected <= {marker.slug for marker in dictionary}
    assert sorted(marker.slug for marker in dictionary if marker.slug not in expected) == []


@pytest.mark.parametrize(
    ("printed", "slug", "confidence"),
    [
        ("Glucose, Fasting, Plasma", "glucose", 0.95),
        ("Sodium, Plasma", "sodium", 0.95),
        ("Cortisol, Serum, Random", "cortisol", 0.95),
        ("TSH, Serum, 3rd Generation", "tsh", 0.95),
        ("Free T3, Serum", "t3_free", 0.95),
        ("Total T4 (Thyroxine)", "t4_total", 0.9),
        ("Count, Platelet", "platelets", 0.9),
        ("Antibodies, TPO", "tpo_antibodies", 0.9),
        ("Absolute Lymphocytes, Blood", "lymphocytes_absolute", 0.95),
        ("Estradiol, LC/MS/MS", "estradiol", 0.95),
        ("Glucose Urine", "urine_glucose", 1.0),
        ("Urine Ketones", "urine_ketones", 1.0),
        ("GLUCOSE*", "glucose", 1.0),
        ("Glucose (1)", "glucose", 1.0),
        ("  hemoglobin   a1c ", "hba1c", 1.0),
        ("Anti-Müllerian Hormone", "amh", 1.0),
        ("Vitamin B₁₂", "vitamin_b12", 1.0),
    ],
    ids=lambda value: str(value),
)
def test_decorated_and_reordered_names_match_at_lower_confidence(dictionary, printed, slug, confidence):
    found = dictionary.match(printed)
    assert found.biomarker is not None, found.reason
    assert (found.biomarker.slug, found.confidence) == (slug, confidence)


# --- specimens --------------------------------------------------------------------------------------


def test_names_in_the_file_state_only_their_own_markers_specimen(dictionary):
    # Exact names skip the specimen check, so the file itself must not call a serum marker
    # "..., Whole Blood".
    wrong = [
        (marker.slug, marker.specimen, name)
        for marker in dictionary
        for name in marker.names
        if not specimen_fits(stated_specimen(name), marker.specimen)
    ]
    assert wrong == []


@pytest.mark.parametrize(
    "printed",
    [
        "Magnesium, Whole Blood",
        "Glucose, Whole Blood",
        "Glucose, Whole Blood, Fasting",
        "Whole Blood Glucose",
        "Potassium, Whole Blood",
        "Sodium, Whole Blood",
        "Zinc, Whole Blood",
        "Selenium, Whole Blood",
        "Folate, Whole Blood",
        "Hemoglobin, Plasma",
        "Plasma Hemoglobin",
        "Hemoglobin, Serum",
        "Fibrinogen, Serum",
        "Globulin, Plasma",
        "ACTH, Serum",
        "Lead, Serum",
        "Mercury, Plasma",
        "Glucose, Whole Blood, Serum",
        "Ketones, Blood",
        "Ketones, Serum",
        "pH, Venous",
        "Magnesium, Urine",
        "Albumin, Urine",
        "Zinc, RBC",
        "Glucose, Capillary",
        "Capillary Blood Glucose",
        "Glucose, CSF",
        "Protein, Total, CSF",
        "Cortisol, Saliva",
        "Salivary Cortisol",
    ],
)
def test_a_name_of_another_specimen_never_falls_back_to_this_ones_marker(dictionary, printed):
    found = dictionary.match(printed)
    assert found.biomarker is None, found.reason


def test_the_reason_names_the_specimen_that_did_not_fit(dictionary):
    reason = dictionary.match("Magnesium, Whole Blood").reason
    assert "whole blood" in reason and "magnesium (serum_or_plasma)" in reason


@pytest.mark.parametrize(
    ("printed", "slug"),
    [
        ("Hemoglobin, Whole Blood", "hemoglobin"),
        ("WBC, Whole Blood", "wbc"),
        ("Hemoglobin A1c, Whole Blood", "hba1c"),
        ("Lead, Whole Blood (Venous)", "lead_blood"),
        ("RBC Folate, Whole Blood", "folate_rbc"),
        ("Folate, Plasma", "folate"),
        ("Glucose, Serum or Plasma", "glucose"),
        ("Glucose, Venous", "glucose"),
        ("Magnesium, Blood", "magnesium"),
        ("Fibrinogen Activity, Plasma", "fibrinogen"),
        ("Globulin, Serum", "globulin"),
        ("Blood, Occult, Urine", "urine_occult_blood"),
    ],
    ids=lambda value: str(value),
)
def test_a_specimen_word_is_set_aside_when_the_marker_is_measured_in_it(dictionary, printed, slug):
    found = dictionary.match(printed)
    assert (found.biomarker.slug if found.biomarker else None) == slug, found.reason


def test_the_specimen_chooses_between_markers_that_share_a_name(dictionary):
    base = dictionary.get("glucose")
    serum = dataclasses.replace(base, slug="alpha", display_name="Alpha", aliases=("Marker, Serum",))
    whole = dataclasses.replace(
        base, slug="beta", display_name="Beta", aliases=("Marker, Whole Blood",), specimen="whole_blood"
    )
    markers = BiomarkerDictionary([serum, whole])
    assert markers.match("Marker, Plasma").biomarker.slug == "alpha"
    assert markers.match("Whole Blood Marker").biomarker.slug == "beta"
    assert markers.match("Marker").biomarker is None
    assert markers.match("Marker, Venous").biomarker is None


def test_a_per_field_unit_does_not_move_a_whole_blood_name_to_urine(dictionary):
    found = dictionary.match("WBC, Whole Blood", "/HPF")
    assert found.biomarker.slug == "wbc"
    assert found.confidence < 0.95


@pytest.mark.parametrize(
    ("printed", "slug"),
    [
        ("Alanine Aminotransferase (ALT)", "alt"),
        ("ALT (Alanine Aminotransferase)", "alt"),
        ("Iron (Fe)", "iron"),
        ("Testosterone (Free)", "testosterone_free"),
        ("Cortisol (PM)", None),
        ("Folate (RBC)", "folate_rbc"),
        ("Magnesium (Mg), Whole Blood", None),
        ("Creatinine (Urine)", None),
        ("Free T4 (Total T4)", None),
    ],
    ids=lambda value: str(value),
)
def test_a_name_with_a_synonym_in_brackets_matches_only_when_both_agree(dictionary, printed, slug):
    found = dictionary.match(printed)
    assert (found.biomarker.slug if found.biomarker else None) == slug, found.reason


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Haemoglobin", "Hemoglobin"),
        ("Oestradiol", "Estradiol"),
        ("Leucocyte Esterase", "Leukocyte Esterase"),
        ("DHEA Sulphate", "DHEA Sulfate"),
        ("Protein, UA", "Protein, Urine"),
        ("TPO Ab", "TPO Antibodies"),
    ],
)
def test_spellings_of_one_word_normalize_alike(first, second):
    assert normalize_name(first) == normalize_name(second)


def test_a_name_whose_words_fit_two_markers_is_ambiguous(dictionary):
    base = dictionary.get("glucose")
    first = dataclasses.replace(base, slug="alpha", display_name="Alpha", aliases=("Marker, Serum X",))
    second = dataclasses.replace(base, slug="beta", display_name="Beta", aliases=("Marker, Plasma X",))
    found = BiomarkerDictionary([first, second]).match("Marker X")
    assert found.biomarker is None
    assert "alpha" in found.reason and "beta" in found.reason


@pytest.mark.parametrize(
    ("printed", "unit", "slug"),
    [
        ("Neutrophils", "%", "neutrophils_pct"),
        ("Neutrophils", "cells/uL", "neutrophils_absolute"),
        ("Neutrophils", "x10E3/uL", "neutrophils_absolute"),
        ("Lymphocytes", "K/uL", "lymphocytes_absolute"),
        ("Eos", "10*3/uL", "eosinophils_absolute"),
        ("Basos", "10^9/L", "basophils_absolute"),
        ("Monocytes", "Thousand/uL", "monocytes_absolute"),
        ("WBC", "x10E3/uL", "wbc"),
        ("WBC", "/HPF", "urine_wbc"),
        ("RBC", "/hpf", "urine_rbc"),
        ("Glucose", "mg/dL", "glucose"),
    ],
    ids=lambda value: str(value),
)
def test_units_choose_between_siblings_sharing_a_name(dictionary, printed, unit, slug):
    assert dictionary.match(printed, unit).biomarker.slug == slug


def test_a_unit_never_overrules_a_name_that_says_which_form_it_is(dictionary):
    found = dictionary.match("Absolute Neutrophils", "%")
    assert found.biomarker.slug == "neutrophils_absolute"
    assert found.confidence < 1.0
    assert "%" in found.reason


def test_a_unit_that_fits_nothing_lowers_confidence_without_switching(dictionary):
    found = dictionary.match("Platelets", "%")
    assert found.biomarker.slug == "platelets"
    assert found.confidence < 1.0


@pytest.mark.parametrize(
    ("printed", "normalized"),
    [
        ("Neutrophils (Absolute)", "neutrophils absolute"),
        ("T4,Free(Direct)", "t4 free direct"),
        ("Testosterone, Total, LC/MS/MS", "testosterone total lcms"),
        ("OMEGACHECK(TM)", "omegacheck"),
        ("Anti-Müllerian Hormone", "anti mullerian hormone"),
        ("Neut %", "neut %"),
        ("NEUT#", "neut #"),
        ("eGFR mL/min/1.73m2", "egfr ml min 1.73 m2"),
        ("Lp(a)", "lp a"),
        ("Glucose¹", "glucose"),
    ],
    ids=lambda value: str(value),
)
def test_normalization_keeps_meaning_and_drops_decoration(printed, normalized):
    assert normalize_name(printed) == normalized
