"""The rule parser on generated reports: every true value found, nothing else, and the traps avoided."""

from __future__ import annotations

from decimal import Decimal

import pytest

from parsers.labs.extract import extract
from parsers.labs.rules import parse_pages
from tests.parsers.labs import reports


@pytest.fixture(scope="module")
def parsed():
    cache = {}

    def get(name: str):
        if name not in cache:
            report = getattr(reports, name)()
            cache[name] = (report, parse_pages(extract(report.pdf)))
        return cache[name]

    return get


def _by_name(parsed_report):
    found = {}
    for marker in parsed_report.markers:
        found.setdefault(marker.result.raw_name, marker)  # the first of a repeated name (urine Glucose is later)
    return found


@pytest.mark.parametrize("layout", [f.__name__ for f in reports.TEXT_LAYOUTS])
def test_each_layout_yields_exactly_its_true_results(parsed, layout) -> None:
    report, result = parsed(layout)
    scores = reports.score(report, result.results)
    for field, (correct, found, true) in scores.items():
        assert (field, correct, found) == (field, true, true), f"{layout}: {field} {correct}/{found} of {true}"


def test_previous_results_and_history_tables_are_never_stored(parsed) -> None:
    report, result = parsed("labcorp")
    values = {m.result.raw_name: m.result.value_numeric for m in result.markers}
    assert values["Glucose"] == Decimal("105")  # current; 98 is the previous result beside it
    assert values["Ferritin"] == Decimal("412")
    assert len(result.markers) == len(report.truth)  # the cumulative table added nothing
    assert all(m.source.line < 30 for m in result.markers)


def test_flags_from_words_glyphs_and_bold_type_and_not_from_an_accreditation_mark(parsed) -> None:
    _, labcorp = parsed("labcorp")
    assert _by_name(labcorp)["Ferritin"].result.flag == "H"  # "¬" above its 30-400 range
    assert _by_name(labcorp)["Glucose"].result.flag == "H"  # "High"
    _, quest = parsed("quest")
    cholesterol = _by_name(quest)["Cholesterol, Total"].result  # printed "Cholesterol, Total *"
    assert (cholesterol.flag, cholesterol.slug) == ("H", "cholesterol_total")
    _, lipids = parsed("lipid_cbc")
    by_name = _by_name(lipids)
    assert by_name["Platelets"].result.flag == "L"  # bold only, below 150-450
    assert by_name["Hematocrit"].result.flag is None  # unmarked: in_range is derived when stored
    assert by_name["Hematocrit"].result.ref_range_high == Decimal("51.0")


def test_units_printed_before_the_value_and_percent_versus_count(parsed) -> None:
    _, lipids = parsed("lipid_cbc")
    by_name = _by_name(lipids)
    assert (by_name["LDL-P"].result.value_numeric, by_name["LDL-P"].result.unit) == (Decimal("1650"), "nmol/L")
    assert by_name["Neutrophils"].result.slug == "neutrophils_pct"
    assert by_name["Neutrophils #"].result.slug == "neutrophils_absolute"
    assert by_name["Basophils."].result.slug == "basophils_absolute"  # the unit tells the dotted twin apart


def test_decimal_commas_greek_mu_and_a_value_on_a_title_line(parsed) -> None:
    _, result = parsed("international")
    by_name = _by_name(result)
    assert by_name["Cholesterol total"].result.value_numeric == Decimal("5.2")
    assert by_name["Cholesterol total"].result.ref_range_high == Decimal("5.0")
    assert by_name["Creatinine"].result.unit == f"{reports.MICRO}mol/L"
    assert by_name["HbA1c (IFCC)"].result.slug == "hba1c"
    assert by_name["HbA1c (IFCC)"].result.value_numeric == Decimal("38")


def test_bounded_qualitative_and_thousands_values(parsed) -> None:
    _, result = parsed("quest")
    by_name = _by_name(result)
    crp = by_name["hs-CRP"].result
    assert (crp.value_text, crp.value_numeric) == ("<0.5", Decimal("0.5"))
    assert by_name["Absolute Neutrophils"].result.value_numeric == Decimal("3456")
    assert (by_name["Lipase"].result.value_text, by_name["Lipase"].result.value_numeric) == ("See note", None)


def test_urinalysis_analytes_are_urine_markers_and_an_unknown_name_stays_unknown(parsed) -> None:
    _, result = parsed("quest")
    slugs = {(m.result.raw_name, m.result.sub_panel): m.result.slug for m in result.markers}
    assert slugs[("Glucose", "COMPREHENSIVE METABOLIC PANEL")] == "glucose"
    assert slugs[("Glucose", "URINALYSIS, COMPLETE")] == "urine_glucose"
    assert slugs[("pH", "URINALYSIS, COMPLETE")] == "urine_ph"
    assert slugs[("Immature Granulocytes", "CBC (INCLUDES DIFF/PLT)")] is None


def test_multi_line_names_and_reference_tables_are_joined(parsed) -> None:
    _, result = parsed("quest")
    by_name = _by_name(result)
    assert by_name["Vitamin D, 25-Hydroxy, Total"].result.slug == "vitamin_d_25oh_total"
    egfr = by_name["eGFR"].result
    assert egfr.ref_range_text == "> OR = 60 / Stage 3a: 45-59 / Stage 3b: 30-44"
    assert (egfr.ref_range_low, egfr.ref_range_high) == (Decimal("60"), None)


def test_provenance_header_and_the_page_footer_that_overstates_the_count(parsed) -> None:
    _, result = parsed("quest")
    assert result.pages == 2  # "Page 1 of 3" is printed, two pages exist
    by_name = _by_name(result)
    assert (by_name["Glucose"].source.page, by_name["Hemoglobin"].source.page) == (1, 2)
    assert by_name["Glucose"].source.text.startswith("Glucose 92")
    assert (result.lab_name, result.specimen_id, result.fasting) == ("Quest Diagnostics", "WX123456Q", True)
    assert result.collected_at.isoformat() == "2026-01-15T08:30:00"
    # The footnotes' numbers are kept for review as text, never as results.
    assert result.unresolved
    assert all(u.source.text.startswith(("For patients", "of <100", "Desirable")) for u in result.unresolved)


def test_two_tables_side_by_side_are_read_separately(parsed) -> None:
    _, result = parsed("two_column")
    by_name = _by_name(result)
    assert by_name["Iron"].source.line == by_name["Magnesium"].source.line
    assert by_name["Magnesium"].result.value_numeric == Decimal("2.1")
    assert by_name["Folate"].result.ref_range_low == Decimal("3.0")


def test_a_unit_inside_the_value_cell_and_repeated_after_the_range(parsed) -> None:
    _, result = parsed("portal")
    potassium = _by_name(result)["Potassium"].result
    assert (potassium.value_numeric, potassium.unit, potassium.flag) == (Decimal("3.3"), "mmol/L", "L")
    assert (potassium.ref_range_low, potassium.ref_range_high) == (Decimal("3.5"), Decimal("5.1"))
    assert potassium.ref_range_text == "3.5 - 5.1 mmol/L"
