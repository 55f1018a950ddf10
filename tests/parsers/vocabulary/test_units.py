"""The unit converter against published factors, on the real biomarker dictionary."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from parsers.vocabulary.dictionary import Biomarker, Conversion, load_dictionary
from parsers.vocabulary.units import (
    UnitError,
    convert,
    from_canonical,
    is_accepted,
    normalize_unit,
    to_canonical,
)

FACTORS = yaml.safe_load((Path(__file__).with_name("si_factors.yaml")).read_text(encoding="utf-8"))
DEFAULT_REL_TOL = 1e-3  # why: see the header of si_factors.yaml

# Accepted units the converter refuses on purpose, and why. Anything else that fails to reach the
# canonical unit is a dictionary or converter error.
EXPECTED_REFUSALS = {
    ("lipoprotein_a", "mg/dL"): "particle mass varies with apo(a) size: no exact mass↔molar factor",
}


def marker_of(slug: str | None) -> Biomarker | None:
    return None if slug is None else load_dictionary().get(slug)


def row_id(row: dict[str, Any]) -> str:
    return f"{row['marker'] or 'unit'}:{row['from']}->{row['to']}"


@pytest.mark.parametrize("row", FACTORS["factors"], ids=row_id)
def test_published_factor(row: dict[str, Any]) -> None:
    marker = marker_of(row["marker"])
    rel_tol = row.get("rel_tol", DEFAULT_REL_TOL)
    assert row["source"]
    assert convert(1.0, row["from"], row["to"], marker) == pytest.approx(row["factor"], rel=rel_tol)
    assert convert(row["factor"], row["to"], row["from"], marker) == pytest.approx(1.0, rel=rel_tol)


@pytest.mark.parametrize("row", FACTORS["values"], ids=lambda row: f"{row_id(row)}:{row['value']}")
def test_published_value(row: dict[str, Any]) -> None:
    marker = marker_of(row["marker"])
    tol = row["abs_tol"]
    assert row["source"]
    assert convert(row["value"], row["from"], row["to"], marker) == pytest.approx(row["expected"], abs=tol)
    if tol < 1e-6:  # exact rows also hold backwards; rounded table rows do not
        assert convert(row["expected"], row["to"], row["from"], marker) == pytest.approx(row["value"], abs=tol)


def test_every_seed_section_8_pair_is_in_the_table() -> None:
    pairs = {(r["marker"], normalize_unit(r["from"]), normalize_unit(r["to"])) for r in FACTORS["factors"]}
    pairs |= {(r["marker"], normalize_unit(r["from"]), normalize_unit(r["to"])) for r in FACTORS["values"]}
    seed = [
        ("testosterone_total", "ng/dL", "nmol/L"),
        ("estradiol", "pg/mL", "pmol/L"),
        ("glucose", "mg/dL", "mmol/L"),
        ("cholesterol_total", "mg/dL", "mmol/L"),
        ("creatinine", "mg/dL", "umol/L"),
        (None, "lb", "kg"),
        (None, "in", "cm"),
        (None, "degF", "degC"),
        ("dhea_sulfate", "ug/dL", "nmol/L"),
    ]
    assert [p for p in seed if p not in pairs] == []


def test_seed_dhea_s_factor_is_the_micromolar_one() -> None:
    # Seed §8 prints mcg/dL -> nmol/L x 0.02714; with DHEA-S at 368.5 g/mol that factor gives umol/L.
    dhea_s = load_dictionary().get("dhea_sulfate")
    assert to_canonical(100.0, "umol/L", dhea_s) == pytest.approx(100 / 0.02714, rel=1e-3)
    assert from_canonical(100.0, "nmol/L", dhea_s) == pytest.approx(2714, rel=1e-3)


def test_each_marker_uses_its_own_molar_mass() -> None:
    in_mmol = {
        slug: to_canonical(1.0, "mmol/L", load_dictionary().get(slug))
        for slug in ("glucose", "cholesterol_total", "triglycerides")
    }
    assert in_mmol == pytest.approx({"glucose": 18.016, "cholesterol_total": 38.665, "triglycerides": 88.54})


def test_hba1c_uses_the_ngsp_ifcc_equation_not_a_power_of_ten() -> None:
    hba1c = load_dictionary().get("hba1c")
    assert from_canonical(6.5, "mmol/mol", hba1c) == pytest.approx(10.929 * 6.5 - 23.5)
    assert to_canonical(48.0, "mmol/mol", hba1c) == pytest.approx((48.0 + 23.5) / 10.929)
    # mol/mol reaches the stated mmol/mol conversion by a power of ten first.
    assert to_canonical(0.048, "mol/mol", hba1c) == pytest.approx((48.0 + 23.5) / 10.929)


def all_convertible_pairs() -> list[tuple[Biomarker, str]]:
    return [
        (marker, unit)
        for marker in load_dictionary()
        if not marker.qualitative
        for unit in marker.accepted_units
        if (marker.slug, unit) not in EXPECTED_REFUSALS
    ]


ROUND_TRIP_VALUES = [10.0**e * m for e in range(-4, 6) for m in (1.0, 1.7, 3.3, 6.9)]


def test_every_accepted_unit_reaches_the_canonical_unit_and_back() -> None:
    pairs = all_convertible_pairs()
    converted = 0
    for marker, unit in pairs:
        for x in ROUND_TRIP_VALUES:
            back = from_canonical(to_canonical(x, unit, marker), unit, marker)
            assert math.isclose(back, x, rel_tol=1e-9), (marker.slug, unit, x, back)
            converted += 1
    assert converted == len(pairs) * len(ROUND_TRIP_VALUES)
    assert len(pairs) > 250  # every quantitative marker, every unit its labs print


def test_only_the_expected_accepted_units_are_refused() -> None:
    refused = set()
    for marker in load_dictionary():
        if marker.qualitative:
            continue
        for unit in marker.accepted_units:
            try:
                to_canonical(1.0, unit, marker)
            except UnitError:
                refused.add((marker.slug, unit))
    assert refused == set(EXPECTED_REFUSALS)


def test_dictionary_units_all_parse_and_are_accepted() -> None:
    for marker in load_dictionary():
        for unit in marker.accepted_units:
            assert is_accepted(unit, marker), (marker.slug, unit)


@pytest.mark.parametrize(
    ("from_unit", "to_unit", "value"),
    [
        ("lb", "kg", 180.0),
        ("in", "cm", 70.0),
        ("mi", "m", 26.2),
        ("kcal", "kJ", 2500.0),
        ("degF", "degC", 101.3),
        ("degC", "degF", -12.0),
        ("fraction", "%", 0.973),
        ("ms", "s", 42.5),
        ("min", "h", 455.0),
        ("min/mi", "s/km", 8.5),
        ("bpm", "/s", 61.0),
    ],
)
def test_body_units_round_trip(from_unit: str, to_unit: str, value: float) -> None:
    assert convert(convert(value, from_unit, to_unit), to_unit, from_unit) == pytest.approx(value, rel=1e-12)


# --- spelling -------------------------------------------------------------------------------------

SPELLINGS = {
    "ug/dL": ["µg/dL", "μg/dL", "mcg/dL", "MCG/DL", "ug/dl", "UG/DL", "ug / dL"],
    "mg/dL": ["mg/dl", "MG/DL", "Mg/Dl"],
    "10*3/uL": [
        "K/uL",
        "K/µL",
        "K/mcL",
        "x10E3/uL",
        "x10^3/uL",
        "x 10^3/uL",
        "10^3/uL",
        "10*3/uL",
        "10³/µL",
        "thou/uL",
        "Thousand/uL",
        "10^9/L",
        "10*9/L",
        "x10(9)/L",
        "x10E9/L",
    ],
    "10*6/uL": ["x10E6/uL", "M/uL", "million/uL", "10^6/uL", "10^12/L", "10*12/L", "x10E12/L"],
    "cells/uL": ["cells/uL", "/uL", "cells/mcL", "/mm3", "/cumm", "{cells}/uL"],
    "uIU/mL": ["µIU/mL", "uIU/ml", "u[IU]/mL", "mcIU/mL"],
    "IU/L": ["[IU]/L", "IU/l", "iu/L"],
    "U/L": ["U/L", "u/L", "U/l", "units/L"],
    "U": ["u", "U"],
    "mL": ["ml", "mL", "cc"],
    "mEq/L": ["mEq/L", "meq/L", "MEQ/L"],
    "mmol/L": ["mmol/L", "mmol/l", "mM"],
    "umol/L": ["µmol/L", "umol/l", "uM"],
    "degC": ["°C", "C", "degC", "Cel", "ºC", "celsius"],
    "degF": ["°F", "F", "degF", "[degF]"],
    "lb": ["lbs", "lb", "pounds", "[lb_av]"],
    "kg": ["kg", "KG"],
    "in": ["in", "inches", "[in_i]"],
    "kcal": ["kcal", "Cal", "kilocalories", "KCAL"],
    "kJ": ["kJ", "kj"],
    "/min": ["bpm", "count/min", "beats/min", "/min", "{beats}/min", "breaths per minute", "1/min"],
    "%": ["%", "percent", "pct"],
    "1": ["1", "fraction", "ratio", "{ratio}", "count", "steps"],
    "ms": ["ms", "msec"],
    "h": ["h", "hr", "hours"],
    "kg/m2": ["kg/m2", "kg/m²", "kg/m^2"],
    "mmHg": ["mmHg", "mm Hg", "mm[Hg]"],
    "mL/kg/min": ["ml/kg/min", "mL/kg/min"],
    "km/h": ["km/h", "kph", "km/hr"],
    "delta_degC": ["Δ°C", "delta_degC"],
    "/[HPF]": ["/hpf", "/HPF", "/[HPF]"],
    "pH": ["pH"],
}


@pytest.mark.parametrize(("canonical", "spellings"), SPELLINGS.items(), ids=list(SPELLINGS))
def test_spellings_share_one_canonical_form(canonical: str, spellings: list[str]) -> None:
    assert {s: normalize_unit(s) for s in spellings} == dict.fromkeys(spellings, canonical)
    assert normalize_unit(canonical) == canonical


def test_count_spellings_convert_with_factor_one() -> None:
    wbc = load_dictionary().get("wbc")
    assert {s: to_canonical(6.2, s, wbc) for s in SPELLINGS["10*3/uL"]} == dict.fromkeys(SPELLINGS["10*3/uL"], 6.2)
    assert to_canonical(6200, "cells/uL", wbc) == pytest.approx(6.2)


@pytest.mark.parametrize("code", ["mg/dL", "umol/L", "10*3/uL", "[IU]/L", "%", "kat/L", "mg/g{creat}", "nmol/min/mL"])
def test_ucum_codes_parse(code: str) -> None:
    assert normalize_unit(normalize_unit(code)) == normalize_unit(code)


def test_calorie_case_matters() -> None:
    assert convert(1.0, "Cal", "kcal") == 1.0
    assert convert(1000.0, "cal", "kcal") == pytest.approx(1.0)


def test_unknown_unit_is_named() -> None:
    with pytest.raises(UnitError, match="'furlongs/fortnight'"):
        normalize_unit("furlongs/fortnight")
    with pytest.raises(UnitError, match="no unit given"):
        normalize_unit("  ")


# --- refusals -------------------------------------------------------------------------------------


def test_unknown_unit_names_unit_and_marker() -> None:
    glucose = load_dictionary().get("glucose")
    with pytest.raises(UnitError, match=r"glucose: unknown unit 'mg/furlong'") as caught:
        to_canonical(90.0, "mg/furlong", glucose)
    assert (caught.value.unit, caught.value.marker) == ("mg/furlong", "glucose")


def test_lp_a_is_never_converted_between_mass_and_moles() -> None:
    lp_a = load_dictionary().get("lipoprotein_a")
    with pytest.raises(UnitError, match=r"lipoprotein_a: no exact mass↔molar factor.*mg/dL cannot be converted"):
        to_canonical(30.0, "mg/dL", lp_a)
    with pytest.raises(UnitError, match="lipoprotein_a"):
        from_canonical(75.0, "mg/dL", lp_a)
    assert is_accepted("mg/dL", lp_a)  # accepted and stored as reported, never converted


def test_incompatible_dimension_is_refused() -> None:
    wbc = load_dictionary().get("wbc")
    with pytest.raises(UnitError, match=r"wbc: g/dL \(mass concentration\) cannot be converted to 10\*3/uL"):
        to_canonical(5.0, "g/dL", wbc)


def test_mass_to_moles_needs_a_marker() -> None:
    with pytest.raises(UnitError, match="molar mass"):
        convert(100.0, "mg/dL", "mmol/L")


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, None, "5.0", True])
def test_non_finite_values_are_refused(bad: Any) -> None:
    glucose = load_dictionary().get("glucose")
    with pytest.raises(ValueError, match="glucose"):
        to_canonical(bad, "mg/dL", glucose)
    with pytest.raises(ValueError, match="number"):
        convert(bad, "lb", "kg")


def test_qualitative_marker_has_nothing_to_convert() -> None:
    qualitative = next(m for m in load_dictionary() if m.qualitative)
    with pytest.raises(UnitError, match="no canonical unit"):
        to_canonical(1.0, "mg/dL", qualitative)


# --- the marker interface, with markers built here ------------------------------------------------


@dataclass(frozen=True)
class Marker:
    slug: str
    canonical_unit: str | None
    accepted_units: tuple[str, ...] = ()
    molar_mass: float | None = None
    conversions: tuple[Conversion, ...] = ()


def test_percent_never_becomes_mmol_per_mol_without_a_stated_conversion() -> None:
    # What HbA1c would be if its NGSP/IFCC equation were missing: refused, not "5 % = 50 mmol/mol".
    bare = Marker("hba1c_without_equation", "%", ("%", "mmol/mol"))
    with pytest.raises(UnitError, match="ratio"):
        to_canonical(48.0, "mmol/mol", bare)


def test_percent_is_a_plain_fraction_of_volumes() -> None:
    assert to_canonical(0.45, "L/L", Marker("hematocrit_like", "%")) == pytest.approx(45.0)


def test_equivalents_need_a_stated_conversion() -> None:
    with pytest.raises(UnitError, match="mEq"):
        to_canonical(2.0, "mEq/L", Marker("some_ion", "mmol/L", molar_mass=40.08))
    calcium = load_dictionary().get("calcium")
    assert to_canonical(5.0, "mEq/L", calcium) == pytest.approx(10.02)


def test_enzyme_iu_is_the_enzyme_unit() -> None:
    alt = load_dictionary().get("alt")
    assert to_canonical(32.0, "IU/L", alt) == 32.0
    assert to_canonical(32.0, "U/L", alt) == 32.0


def test_stated_conversion_is_inverted_and_reached_through_equal_units() -> None:
    marker = Marker("made_up", "uIU/mL", conversions=(Conversion("uIU/mL", "pmol/L", 6.0, 0.0, "test"),))
    assert to_canonical(60.0, "pmol/L", marker) == pytest.approx(10.0)
    assert to_canonical(0.06, "nmol/L", marker) == pytest.approx(10.0)
    assert from_canonical(10.0, "mIU/L", marker) == pytest.approx(10.0)


def test_is_accepted_compares_normalized_units() -> None:
    cortisol = load_dictionary().get("cortisol")
    assert is_accepted("mcg/dL", cortisol)
    assert is_accepted("nmol/l", cortisol)
    assert not is_accepted("mg/L", cortisol)  # convertible, but no lab prints it
    assert not is_accepted("bogus", cortisol)


# --- the conversions kept on disk --------------------------------------------------------------------

_PROBE = """
import json, sys
from parsers.vocabulary.dictionary import load_dictionary
from parsers.vocabulary.units import UnitError, convert
lpa = load_dictionary().get("lipoprotein_a")
try:
    convert(30.0, "mg/dL", "nmol/L", lpa)
    refusal = None
except UnitError as error:
    refusal = [str(error), error.unit, error.marker]
print(json.dumps({
    "lb": convert(1.0, "lb", "kg"),
    "fahrenheit": convert(98.6, "degF", "degC"),
    "refusal": refusal,
    "pint": "pint" in sys.modules,
}))
"""


def _probe(home: Path) -> dict[str, Any]:
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "VITALIS_HOME": str(home)}
    root = Path(__file__).parents[3]
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], cwd=root, env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(done.stdout)


def test_a_new_process_converts_what_was_converted_before_without_starting_pint(tmp_path: Path) -> None:
    first, second = _probe(tmp_path), _probe(tmp_path)
    assert first["pint"] and not second["pint"]
    for run in (first, second):
        assert math.isclose(run["lb"], 0.45359237, rel_tol=1e-12)  # the international avoirdupois pound
        assert math.isclose(run["fahrenheit"], 37.0, rel_tol=1e-12)
        message, unit, marker = run["refusal"]
        assert (unit, marker) == ("mg/dL", "lipoprotein_a") and "no exact mass↔molar factor" in message
    assert first["refusal"] == second["refusal"]


def test_a_cache_that_cannot_be_written_or_read_only_costs_time(tmp_path: Path) -> None:
    blocked = tmp_path / "a file"
    blocked.write_text("not a directory")
    run = _probe(blocked)
    assert run["pint"] and math.isclose(run["lb"], 0.45359237, rel_tol=1e-12)
    # A damaged file is read around: the broken lines are ignored, the rest resolved again.
    _probe(tmp_path / "home")
    (cache,) = (tmp_path / "home" / "cache").glob("unit-conversions-*.jsonl")
    cache.write_text('["[\\"lb\\", \\"kg\\", null, null, []]", [0, 0]]\n{broken\n' + cache.read_text()[:40])
    again = _probe(tmp_path / "home")
    assert again["pint"] and math.isclose(again["lb"], 0.45359237, rel_tol=1e-12)
