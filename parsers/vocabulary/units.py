"""Unit normalization and conversion for lab markers and body/wearable metrics.

Every value Vitalis stores is kept twice: as reported (value + unit) and in one canonical unit. This
module is the single place that turns the first into the second.

Spelling. `normalize_unit` gives every unit one spelling, in the style of the biomarker dictionary:
UCUM-like, ASCII ``u`` for micro (``ug/dL``, ``uIU/mL``), ``10*3/uL`` for cell counts, ``%``, ``1`` for
a pure ratio or count. Lab reports print units that UCUM does not know (``K/uL``, ``x10E3/uL``, ``mcg``,
``thou/uL``, ``bpm``, ``lbs``, ``Cal``); those are the only hand-written table here. Anything the table
does not cover is handed to the UCUM grammar (``ucumvert``), so every valid UCUM code is accepted too.
The meaning of a unit (its dimension and scale) always comes from UCUM and ``pint``, never from a
hand-written factor.

Conversion. `to_canonical(value, unit, marker)` resolves, in this order:

1. the same unit after normalization: the value is returned untouched, so no rounding creeps in;
2. a conversion the dictionary states for the marker (either direction; the inverse of an affine
   ``factor * x + offset`` is computed). These come first because some pairs look dimensionally
   compatible but are not the same quantity: HbA1c ``%`` (NGSP) and ``mmol/mol`` (IFCC) are both ratios,
   yet related by a calibration equation, not by a power of ten;
3. the same dimension: ``pint`` gives the factor (``g/dL`` ↔ ``g/L``, ``ng/dL`` ↔ ``ng/mL``, every cell
   count spelling, ``°F`` ↔ ``°C`` with its offset);
4. mass ↔ amount of substance through the marker's own molar mass (glucose, cholesterol and
   triglycerides each have their own factor), and for enzymes IU ↔ U, which are the same unit there;
   a stated conversion is also reached through units that differ from its ends in one of these ways
   (insulin ``mIU/L`` → ``pmol/L`` via its ``uIU/mL`` conversion);
5. anything else is refused with a `UnitError` naming the unit, the marker and why. Lp(a) is the
   example that must be refused: its particles vary in size, so there is no exact mass ↔ molar factor
   and the dictionary gives it no molar mass.

Dimensionless units are split by what cancelled: ``%`` and ``1`` are plain ratios, ``mmol/mol`` is a
ratio of amounts, ``L/L`` of volumes. A plain ratio converts to a ratio of volumes or masses
(hematocrit ``%`` ↔ ``L/L``) but never to a ratio of amounts, so a percentage never silently becomes
mmol/mol. International units and equivalents get dimensions of their
own for the same reason: an IU is defined per substance by a reference preparation, not as a count, and
an equivalent is a mole of charge, not a mole of substance.

``mEq/L`` is never treated as ``mmol/L`` by default: the factor is the ion's charge, so it is taken
only from the dictionary, which states 1:1 for the monovalent ions (sodium, potassium, chloride,
bicarbonate) and the divalent factor for calcium and magnesium.

`convert(value, from_unit, to_unit)` is the marker-free form for body and wearable units (lb ↔ kg,
in ↔ cm, mi/km/m/ft, kcal/kJ, per-minute rates, °F ↔ °C, fraction ↔ %, ms ↔ s, min ↔ h).

Normalized units and conversion factors are cached, so converting many values re-parses nothing; the
factors are also kept on disk (under ``VITALIS_HOME/cache``, with pint's parsed definitions), so a new
process converts the units it has met before without starting pint at all.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import math
import numbers
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pint

log = logging.getLogger(__name__)

__all__ = [
    "ConversionLike",
    "MarkerLike",
    "UnitError",
    "convert",
    "from_canonical",
    "is_accepted",
    "normalize_unit",
    "to_canonical",
]


class UnitError(ValueError):
    """A unit that is unknown, or that cannot be converted to the unit asked for."""

    def __init__(self, message: str, *, unit: str | None = None, marker: str | None = None) -> None:
        super().__init__(f"{marker}: {message}" if marker else message)
        self.unit = unit
        self.marker = marker


class ConversionLike(Protocol):
    """A conversion the dictionary states for one marker: ``to = from * factor + offset``."""

    @property
    def from_unit(self) -> str: ...
    @property
    def to_unit(self) -> str: ...
    @property
    def factor(self) -> float: ...
    @property
    def offset(self) -> float: ...


class MarkerLike(Protocol):
    """What the converter needs to know about a biomarker (the dictionary's `Biomarker` satisfies it)."""

    @property
    def slug(self) -> str: ...
    @property
    def canonical_unit(self) -> str | None: ...
    @property
    def accepted_units(self) -> Sequence[str]: ...
    @property
    def molar_mass(self) -> float | None: ...
    @property
    def conversions(self) -> Sequence[ConversionLike]: ...


# ---------------------------------------------------------------------------------------------------
# Spelling
# ---------------------------------------------------------------------------------------------------

# Whole units as labs, devices and people write them, keyed by their case-folded form. Only spellings
# that UCUM lacks or that cannot be composed from the atoms below.
_WHOLE: dict[str, str] = {
    **dict.fromkeys(["%", "percent", "pct"], "%"),
    **dict.fromkeys(["fraction", "ratio"], "1"),
    "ph": "pH",
    **dict.fromkeys(["bpm", "brpm", "rpm", "spm", "min-1"], "/min"),
    **dict.fromkeys(["°c", "c", "degc", "cel", "celsius", "°celsius", "degreescelsius"], "degC"),
    **dict.fromkeys(["°f", "f", "degf", "[degf]", "fahrenheit", "°fahrenheit", "degreesfahrenheit"], "degF"),
    **dict.fromkeys(["delta_degc", "δ°c", "δc", "deltadegc"], "delta_degC"),
    **dict.fromkeys(["delta_degf", "δ°f", "δf", "deltadegf"], "delta_degF"),
    **dict.fromkeys(["kcal", "kcals", "kilocalorie", "kilocalories", "[cal]"], "kcal"),
    **dict.fromkeys(["kph", "kmh"], "km/h"),
    "mph": "mi/h",
}

# Case matters for these: "Cal" is the food Calorie (a kilocalorie), "cal" the small calorie, and
# "mM"/"uM"/"nM" are molar shorthands while "mm"/"nm" would be lengths.
_WHOLE_CASED: dict[str, str] = {
    "Cal": "kcal",
    "Cals": "kcal",
    "Calories": "kcal",
    "mM": "mmol/L",
    "uM": "umol/L",
    "nM": "nmol/L",
    "pM": "pmol/L",
}

# Atoms (the parts between "/"), case-folded → canonical spelling.
_ATOMS: dict[str, str] = {}


def _add_atoms(canonical: str, *spellings: str) -> None:
    for spelling in (canonical, *spellings):
        key = spelling.casefold()
        if _ATOMS.get(key, canonical) != canonical:
            raise AssertionError(f"unit atom {spelling!r} would mean both {_ATOMS[key]} and {canonical}")
        _ATOMS[key] = canonical


for _base, _prefixes in {
    "g": ("k", "", "d", "m", "u", "n", "p", "f"),
    "L": ("", "d", "c", "m", "u", "n", "f"),
    "mol": ("", "m", "u", "n", "p", "f"),
    "IU": ("k", "", "m", "u"),
    "U": ("k", "", "m"),
    "Eq": ("", "m", "u"),
}.items():
    for _prefix in _prefixes:
        _add_atoms(_prefix + _base)
for _prefix in ("k", "", "m", "u"):
    _add_atoms(_prefix + "IU", f"{_prefix}[IU]", f"{_prefix}[iU]")
_add_atoms("U", "unit", "units")
_add_atoms("L", "liter", "litre")
_add_atoms("mL", "cc")
_add_atoms("s", "sec", "secs", "second", "seconds")
_add_atoms("ms", "msec", "millisecond", "milliseconds")
_add_atoms("min", "mins", "minute", "minutes")
_add_atoms("h", "hr", "hrs", "hour", "hours")
_add_atoms("d", "day", "days")
_add_atoms("wk", "week", "weeks")
_add_atoms("m", "meter", "meters", "metre", "metres")
_add_atoms("km", "kilometer", "kilometers", "kilometre", "kilometres")
_add_atoms("cm", "centimeter", "centimeters", "centimetre", "centimetres")
_add_atoms("mm", "millimeter", "millimeters")
_add_atoms("in", "inch", "inches", "[in_i]")
_add_atoms("ft", "feet", "foot", "[ft_i]")
_add_atoms("mi", "mile", "miles", "[mi_i]")
_add_atoms("m2", "m^2", "[m2]")
_add_atoms("1.73m2", "1.73m^2", "{1.73_m2}")
_add_atoms("lb", "lbs", "pound", "pounds", "[lb_av]")
_add_atoms("oz", "ounce", "ounces", "[oz_av]")
_add_atoms("kJ", "kilojoule", "kilojoules")
_add_atoms("J", "joule", "joules")
_add_atoms("cal")
_add_atoms("W", "watt", "watts")
_add_atoms("mmHg", "mm[Hg]")
_add_atoms("[HPF]", "hpf")
_add_atoms("[LPF]", "lpf")
_add_atoms("EU", "[EU]")
_add_atoms("1", "beat", "beats", "breath", "breaths", "step", "steps", "count", "counts", "cells", "cell")

# Canonical atoms whose UCUM code is spelled differently.
_UCUM_ATOM: dict[str, str] = {
    "kIU": "k[IU]",
    "IU": "[IU]",
    "mIU": "m[IU]",
    "uIU": "u[IU]",
    "Eq": "eq",
    "mEq": "meq",
    "uEq": "ueq",
    "lb": "[lb_av]",
    "oz": "[oz_av]",
    "in": "[in_i]",
    "ft": "[ft_i]",
    "mi": "[mi_i]",
    "mmHg": "mm[Hg]",
    "1.73m2": "{1.73_m2}",
    "degC": "Cel",
    "degF": "[degF]",
    "EU": "[EU]",
    "pH": "[pH]",
    "cells": "{cells}",
}

# Canonical units that UCUM cannot express; pint reads them directly.
_PINT_ONLY = frozenset({"delta_degC", "delta_degF"})

# Number concentrations: an optional multiplier ("x10E3", "10^3", "10*3", "K", "thou", "M", "cells")
# over a volume. Spaces are gone by now, so "x10 3/uL" reads "x103/uL": after a bare "10" an exponent
# needs a separator, or "100/uL" would read as 10^0.
_COUNT = re.compile(
    r"""^(?:
        (?:x10(?:\^|\*\*|\*|e|\()?|10(?:\^|\*\*|\*|e|\())(?P<exp>\d{1,2})\)?
      | (?P<word>k|thou|thous|thousand|m|mil|mill|million|bil|billion)
    )?
    (?:cells?|\{cells?\}|1)?
    /(?P<vol>ul|mm3|mm\^3|cumm|nl|ml|dl|l)$""",
    re.VERBOSE,
)
_COUNT_WORD = {"k": 3, "thou": 3, "thous": 3, "thousand": 3, "m": 6, "mil": 6, "mill": 6, "million": 6}
_COUNT_WORD |= {"bil": 9, "billion": 9}
_COUNT_VOLUME = {"l": 0, "dl": 1, "ml": 3, "ul": 6, "mm3": 6, "mm^3": 6, "cumm": 6, "nl": 9}

_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")
_SUPERSCRIPT_RUN = re.compile(r"[⁰¹²³⁴⁵⁶⁷⁸⁹]+")
_PER = re.compile(r"\s+per\s+", re.IGNORECASE)
# US labs write micro as "mc" (mcg, mcL, mcIU); only before a unit it can prefix.
_MC_MICRO = re.compile(r"(?<![a-z])mc(?=(?:g|l|mol|iu|u)(?![a-z]))", re.IGNORECASE)
_ANNOTATION = re.compile(r"^\{[^{}]*\}$")


def _clean(text: str) -> str:
    text = _PER.sub("/", text.strip())
    text = text.replace("µ", "u").replace("μ", "u").replace("×", "x").replace("º", "°")
    text = _MC_MICRO.sub("u", text)
    text = _SUPERSCRIPT_RUN.sub(lambda m: "^" + m.group().translate(_SUPERSCRIPTS), text)
    return "".join(text.split())


def _count_spelling(folded: str) -> str | None:
    match = _COUNT.match(folded)
    if match is None:
        return None
    exponent = int(match["exp"]) if match["exp"] else _COUNT_WORD.get(match["word"] or "", 0)
    per_litre = exponent + _COUNT_VOLUME[match["vol"]]
    # One spelling per magnitude: per microlitre from 10^6/L up (how US labs print counts), per litre below.
    if per_litre >= 6:
        return f"10*{per_litre - 6}/uL" if per_litre > 6 else "cells/uL"
    return f"10*{per_litre}/L" if per_litre else "/L"


def _atom(part: str) -> str | None:
    if part == "":
        return ""
    if _ANNOTATION.match(part):
        return "1"
    return _ATOMS.get(part.casefold())


@dataclass(frozen=True, slots=True)
class _Unit:
    spelling: str
    quantity: pint.Quantity
    kind: tuple[Any, frozenset[str] | str]


def _spell(cleaned: str) -> tuple[str, str | None]:
    """(canonical spelling, UCUM code or None for pint-only units) from the table, or ("", None)."""
    whole = _WHOLE_CASED.get(cleaned) or _WHOLE.get(cleaned.casefold())
    if whole is None:
        whole = _count_spelling(cleaned.casefold())
    if whole is None:
        atoms = [_atom(part) for part in cleaned.split("/")]
        if any(a is None for a in atoms) or any(a == "" for a in atoms[1:]):
            return "", None
        joined = "/".join(a or "" for a in atoms)
        if len(atoms) > 1 and joined.startswith("1/"):
            joined = joined[1:]
        whole = _WHOLE.get(joined.casefold(), joined)
    if whole in _PINT_ONLY:
        return whole, None
    return whole, "/".join(_UCUM_ATOM.get(a, a) for a in whole.split("/"))


@functools.lru_cache(maxsize=4096)
def _unit(text: str) -> _Unit:
    if not isinstance(text, str) or not text.strip():
        raise UnitError(f"no unit given (got {text!r})", unit=str(text))
    cleaned = _clean(text)
    spelling, ucum = _spell(cleaned)
    if spelling and ucum is None:
        quantity = _registry().Quantity(1.0, spelling)
    else:
        # Not in the table: the text itself may be valid UCUM (case-sensitive), kept as written.
        if not spelling:
            spelling = ucum = cleaned
        quantity = _from_ucum(ucum)
        if quantity is None:
            raise UnitError(f"unknown unit {text!r}", unit=text)
    return _Unit(spelling, quantity, _kind(quantity, ucum, delta=spelling.startswith("delta_")))


def normalize_unit(text: str) -> str:
    """The one spelling Vitalis uses for `text` (``"MG/DL"`` → ``"mg/dL"``, ``"K/uL"`` → ``"10*3/uL"``).

    Raises `UnitError` naming the unit when it is neither a known lab spelling nor valid UCUM.
    """
    return _unit(text).spelling


# ---------------------------------------------------------------------------------------------------
# Meaning (pint, through the UCUM grammar)
# ---------------------------------------------------------------------------------------------------

_OWN_DIMENSIONS = {
    # UCUM defines these as plain numbers; see the module docstring for why they must not be.
    "international_unit": "international_unit = [international_unit] = IU = iU = i.U.",
    "arbitrary_unit": "arbitrary_unit = [arbitrary_unit] = arb_U",
    "equivalents": "equivalents = [charge_equivalent] = eq",
}
# ucumvert reads UCUM's [pH] as this name but leaves it undefined; pH is a logarithm, never converted.
_MISSING_DEFINITIONS = ("pH_value = [acidity]",)


@functools.cache
def _registry() -> pint.UnitRegistry:
    import pint
    import ucumvert

    definitions = Path(ucumvert.__file__).with_name("pint_ucum_defs.txt").read_text(encoding="utf-8")
    lines = definitions.splitlines()
    kept = [line for line in lines if line.split("=", 1)[0].strip() not in _OWN_DIMENSIONS]
    if len(lines) - len(kept) != len(_OWN_DIMENSIONS):
        raise RuntimeError("ucumvert's UCUM definitions changed; re-check the units given own dimensions")
    registry = _unit_registry(pint)
    registry.load_definitions([*kept, *_OWN_DIMENSIONS.values(), *_MISSING_DEFINITIONS])
    return registry


def _unit_registry(pint: Any) -> pint.UnitRegistry:
    """pint's registry, its parsed definitions cached on disk: parsing them is most of its start-up."""
    folder = _cache_dir() / "pint"
    try:
        return pint.UnitRegistry(cache_folder=folder)
    except OSError as error:  # an unwritable cache only costs the parsing
        log.debug("unit registry cache %s not usable: %s", folder, error.strerror)
        return pint.UnitRegistry()


def _cache_dir() -> Path:
    from db.settings import load_settings

    return load_settings().home / "cache"


@functools.cache
def _ucum_transformer() -> tuple[Any, Any]:
    from ucumvert import UcumToPintTransformer, get_ucum_parser

    return get_ucum_parser(), UcumToPintTransformer(ureg=_registry()).transform


def _from_ucum(code: str) -> pint.Quantity | None:
    import pint
    from lark.exceptions import LarkError
    from ucumvert import InvalidUcumError, parse_ucum

    parser, transform = _ucum_transformer()
    try:
        result = transform(parse_ucum(code, parser))
    except (InvalidUcumError, LarkError, pint.errors.PintError):
        return None
    if not isinstance(result, pint.Quantity):  # an annotation alone, e.g. "{cells}"
        return _registry().Quantity(1.0, "")
    return result


def _kind(quantity: pint.Quantity, ucum: str | None, *, delta: bool) -> tuple[Any, frozenset[str] | str]:
    """What can convert into what: the dimensionality, refined for ratios and temperature differences."""
    dimensionality = quantity.dimensionality
    if delta:
        return dimensionality, "difference"
    if dimensionality or ucum is None:
        return dimensionality, frozenset()
    # pint reduces mol/mol to a bare number, so what cancelled is read from the code's own parts.
    parts = [_from_ucum(part) for part in ucum.split("/") if part]
    if any(part is None for part in parts):
        parts = [quantity]
    registry = _registry()
    cancelled = frozenset(
        dim for part in parts for name, _ in part.unit_items() for dim in registry.get_dimensionality(name)
    )
    return dimensionality, cancelled


_KIND_NAMES = {
    "mg/L": "mass concentration",
    "mol/L": "substance concentration",
    "/L": "number concentration",
    "[IU]/L": "international units per volume",
    "U/L": "catalytic (enzyme) concentration",
    "eq/L": "equivalent concentration",
    "g": "mass",
    "m": "length",
    "s": "time",
    "/min": "rate",
    "J": "energy",
    "W": "power",
    "Cel": "temperature",
    "m/s": "speed",
    "s/m": "pace",
    "mm[Hg]": "pressure",
    "kg/m2": "mass per area",
    "mL/kg/min": "volume per mass per time",
    "[pH]": "pH",
}


@functools.cache
def _kind_names() -> dict[Any, str]:
    names: dict[Any, str] = {}
    for code, name in _KIND_NAMES.items():
        quantity = _from_ucum(code)
        assert quantity is not None, code
        names[quantity.dimensionality] = name
    return names


def _describe(unit: _Unit) -> str:
    dimensionality, refinement = unit.kind
    if refinement == "difference":
        return "temperature difference"
    if not dimensionality:
        if not refinement:
            return "ratio"
        return "ratio of " + " and ".join(sorted(d.strip("[]") for d in refinement))
    return _kind_names().get(dimensionality, str(dimensionality))


# ---------------------------------------------------------------------------------------------------
# Conversion
# ---------------------------------------------------------------------------------------------------

# value_to = value_from * scale + offset
_Affine = tuple[float, float]


def _pint_affine(source: _Unit, target: _Unit, bridge: pint.Quantity | None = None) -> _Affine:
    registry = _registry()

    def at(x: float) -> float:
        quantity = registry.Quantity(x * source.quantity.magnitude, source.quantity.units)
        if bridge is not None:
            quantity = quantity * bridge
        return float(quantity.to(target.quantity.units).magnitude / target.quantity.magnitude)

    # Two points give the whole map, offset included for °F ↔ °C; for every other unit the offset is 0.
    zero = at(0.0)
    return at(1.0) - zero, zero


def _invert(affine: _Affine) -> _Affine:
    scale, offset = affine
    return 1.0 / scale, -offset / scale


def _then(first: _Affine, second: _Affine) -> _Affine:
    return first[0] * second[0], first[1] * second[0] + second[1]


def _compatible(source: _Unit, target: _Unit) -> bool:
    """Whether pint's dimensional factor alone relates the two units."""
    if source.kind == target.kind:
        return True
    (dims_a, ratio_a), (dims_b, ratio_b) = source.kind, target.kind
    if dims_a or dims_b or not isinstance(ratio_a, frozenset) or not isinstance(ratio_b, frozenset):
        return False
    # A plain % or fraction is a volume, mass or number fraction written as a number (hematocrit % ↔
    # L/L). A ratio of amounts (mmol/mol) only ever appears for HbA1c, whose % is a different
    # calibration, so that pair must come from the dictionary.
    other = ratio_a or ratio_b
    return not (ratio_a and ratio_b) and "[substance]" not in other


def _bridges(molar_mass: float | None) -> list[pint.Quantity]:
    """Quantities that relate one dimension to another for a marker, each with its inverse."""
    registry = _registry()
    # Labs print IU and U for one another: ALT in IU/L (the IUB enzyme unit, 1 µmol/min, was named the
    # international unit) and TSH in mU/L meaning mIU/L. Either way the number does not change.
    found = [registry.Quantity(1.0, "enzyme_unit / international_unit")]
    if molar_mass:
        found.append(registry.Quantity(float(molar_mass), "g/mol"))
    return [q for bridge in found for q in (bridge, 1 / bridge)]


def _direct(source: _Unit, target: _Unit, molar_mass: float | None) -> _Affine | None:
    if _compatible(source, target):
        return _pint_affine(source, target)
    # Offset units (°F, °C) cannot be multiplied by anything, and no bridge concerns them.
    if any("[temperature]" in u.quantity.dimensionality for u in (source, target)):
        return None
    for bridge in _bridges(molar_mass):
        if (source.quantity * bridge).dimensionality == target.quantity.dimensionality:
            return _pint_affine(source, target, bridge)
    return None


@functools.lru_cache(maxsize=16384)
def _affine(
    from_text: str,
    to_text: str,
    slug: str | None,
    molar_mass: float | None,
    conversions: tuple[ConversionLike, ...],
) -> _Affine:
    key = _stored_key(from_text, to_text, slug, molar_mass, conversions)
    known = _stored().get(key) if key is not None else None
    if known is None:
        try:
            known = list(_resolve(from_text, to_text, slug, molar_mass, conversions))
        except UnitError as error:
            known = {"error": str(error), "unit": error.unit, "marker": error.marker}
        if key is not None:
            _store(key, known)
    if isinstance(known, dict):
        refusal = UnitError(known["error"], unit=known["unit"])
        refusal.marker = known["marker"]
        raise refusal
    return float(known[0]), float(known[1])


# Resolved conversions are kept on disk, one JSON line each, so that a new process converts the
# units it has met before without starting pint and the UCUM grammar (half a second). The file is
# named after what decides the answers (this module and the versions of pint and ucumvert), so a
# change to any of them starts a new one; the key holds the rest (the marker's molar mass and stated
# conversions). Lines are appended in one write each, so processes sharing the file never interleave;
# a line that does not parse is ignored, and a cache that cannot be read or written is only slower.
_STORED_LIMIT = 20_000


def _stored_key(
    from_text: str, to_text: str, slug: str | None, molar_mass: float | None, conversions: Sequence[ConversionLike]
) -> str | None:
    try:
        stated = [[c.from_unit, c.to_unit, float(c.factor), float(c.offset)] for c in conversions]
        mass = float(molar_mass) if molar_mass is not None else None
        return json.dumps([from_text, to_text, slug, mass, stated], ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):  # not what a unit or marker is: resolved (and refused) without the cache
        return None


@functools.cache
def _stored() -> dict[str, Any]:
    entries: dict[str, Any] = {}
    try:
        with _stored_path().open(encoding="utf-8") as lines:
            for line in lines:
                try:
                    key, value = json.loads(line)
                except ValueError:
                    continue
                if isinstance(key, str) and _valid_stored(value):
                    entries[key] = value
    except (OSError, UnicodeDecodeError):
        pass
    return entries


def _valid_stored(value: Any) -> bool:
    if isinstance(value, dict):
        return isinstance(value.get("error"), str) and value.keys() == {"error", "unit", "marker"}
    return (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, float | int) and not isinstance(v, bool) and math.isfinite(v) for v in value)
        and value[0] != 0
    )


def _store(key: str, value: Any) -> None:
    entries = _stored()
    if len(entries) >= _STORED_LIMIT:
        return
    entries[key] = value
    line = (json.dumps([key, value], ensure_ascii=False, allow_nan=False) + "\n").encode()
    path = _stored_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(descriptor, line)
        finally:
            os.close(descriptor)
    except (OSError, ValueError) as error:
        log.debug("unit conversion cache %s not writable: %s", path, error)


@functools.cache
def _stored_path() -> Path:
    from importlib.metadata import version

    fingerprint = hashlib.sha256(Path(__file__).read_bytes())
    for package in ("pint", "ucumvert"):
        fingerprint.update(f"\0{package}={version(package)}".encode())
    return _cache_dir() / f"unit-conversions-{fingerprint.hexdigest()[:20]}.jsonl"


def _resolve(
    from_text: str,
    to_text: str,
    slug: str | None,
    molar_mass: float | None,
    conversions: tuple[ConversionLike, ...],
) -> _Affine:
    source = _unit_for(from_text, slug)
    target = _unit_for(to_text, slug)
    if source.spelling == target.spelling:
        return 1.0, 0.0

    stated = []
    for c in conversions:
        a, b = _unit_for(c.from_unit, slug), _unit_for(c.to_unit, slug)
        affine = (float(c.factor), float(c.offset))
        stated += [(a, b, affine), (b, a, _invert(affine))]
    for start, end, step in stated:
        if (start.spelling, end.spelling) == (source.spelling, target.spelling):
            return step

    direct = _direct(source, target, molar_mass)
    if direct is not None:
        return direct

    # A stated conversion reached through units that mean the same or differ by the molar mass:
    # mIU/L for insulin's uIU/mL → pmol/L, or calcium mEq/L → mg/dL → mmol/L.
    for start, end, step in stated:
        before = _direct(source, start, molar_mass) if source.spelling != start.spelling else (1.0, 0.0)
        after = _direct(end, target, molar_mass) if end.spelling != target.spelling else (1.0, 0.0)
        if before is not None and after is not None:
            return _then(_then(before, step), after)

    raise UnitError(_why_not(source, target, slug, molar_mass), unit=from_text, marker=slug)


def _unit_for(text: str, slug: str | None) -> _Unit:
    try:
        return _unit(text)
    except UnitError as error:
        raise UnitError(str(error), unit=text, marker=slug) from None


def _why_not(source: _Unit, target: _Unit, slug: str | None, molar_mass: float | None) -> str:
    pair = f"{source.spelling} ({_describe(source)}) cannot be converted to {target.spelling} ({_describe(target)})"
    dims = {_describe(source), _describe(target)}
    if dims == {"mass concentration", "substance concentration"}:
        if slug is None:
            return f"{pair} without a marker's molar mass"
        if not molar_mass:
            return (
                f"no exact mass↔molar factor (the dictionary gives no molar mass); "
                f"{source.spelling} cannot be converted to {target.spelling}"
            )
    if "equivalent concentration" in dims:
        return f"{pair}: the dictionary states no mEq conversion for this ion (its charge decides the factor)"
    return pair


def _finite(value: float, what: str) -> float:
    # Decimal is what PostgreSQL NUMERIC columns give back; strings and booleans are caller bugs.
    if isinstance(value, bool) or not isinstance(value, numbers.Real | Decimal):
        raise ValueError(f"{what}: expected a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{what}: {value!r} is not a finite number")
    return number


def convert(value: float, from_unit: str, to_unit: str, marker: MarkerLike | None = None) -> float:
    """`value` in `from_unit` expressed in `to_unit`.

    Without a marker only dimensional conversions are possible (lb → kg, °F → °C, fraction → %);
    with one, its stated conversions and molar mass are used as well.
    """
    if marker is None:
        number = _finite(value, f"value in {from_unit}")
        scale, offset = _affine(from_unit, to_unit, None, None, ())
    else:
        number = _finite(value, f"{marker.slug} value in {from_unit}")
        scale, offset = _affine(from_unit, to_unit, marker.slug, marker.molar_mass, tuple(marker.conversions))
    if scale == 1.0 and offset == 0.0:
        return number
    return number * scale + offset


def _canonical_unit(marker: MarkerLike) -> str:
    if marker.canonical_unit is None:
        raise UnitError("has no canonical unit (a qualitative marker): nothing to convert", marker=marker.slug)
    return marker.canonical_unit


def to_canonical(value: float, unit: str, marker: MarkerLike) -> float:
    """`value` reported in `unit` for `marker`, expressed in the marker's canonical unit."""
    return convert(value, unit, _canonical_unit(marker), marker)


def from_canonical(value: float, unit: str, marker: MarkerLike) -> float:
    """The inverse of `to_canonical`: a canonical value expressed in `unit`."""
    return convert(value, _canonical_unit(marker), unit, marker)


def is_accepted(unit: str, marker: MarkerLike) -> bool:
    """Whether `unit` is one of the marker's accepted units once both are normalized.

    Conversion does not require it (any convertible unit converts); validation uses it to flag a unit
    the dictionary has not seen for this marker.
    """
    try:
        spelling = _unit(unit).spelling
    except UnitError:
        return False
    return spelling in _accepted_spellings(tuple(marker.accepted_units))


@functools.lru_cache(maxsize=1024)
def _accepted_spellings(units: tuple[str, ...]) -> frozenset[str]:
    spellings = set()
    for unit in units:
        try:
            spellings.add(_unit(unit).spelling)
        except UnitError:
            continue
    return frozenset(spellings)
