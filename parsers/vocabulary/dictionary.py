"""The canonical biomarker dictionary: loading `biomarkers.yaml` and matching raw lab names to it.

Everything downstream (unit conversion, database seeding, the lab-report parsers) looks a marker up
here, so the loader is strict: a malformed entry stops the load with an error naming the slug and
the field, instead of seeding a half-right row that would be copied into every user's results.

Matching never guesses. A raw name either normalizes to exactly one known name, or reduces to the
same tokens as exactly one known name once lab decorations (specimen, method, "fasting") are set
aside; anything else comes back unknown with the reason, and the caller keeps the raw name with a
NULL biomarker_id. A specimen word is set aside only when the marker found is measured in that
specimen: "Magnesium, Whole Blood" is another test than serum magnesium, not a decorated name of it.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from db.models.enums import BiomarkerCategory

DEFAULT_PATH = Path(__file__).with_name("biomarkers.yaml")

# The database enum `biomarker_category` is the one list; its order is the dashboard's grouping order.
CATEGORIES: tuple[str, ...] = tuple(c.value for c in BiomarkerCategory)

SPECIMENS: frozenset[str] = frozenset({"serum", "plasma", "serum_or_plasma", "whole_blood", "rbc", "urine"})

CONFIDENCE_EXACT = 1.0
CONFIDENCE_DECORATED = 0.95
CONFIDENCE_REORDERED = 0.9
# Applied on top of the name's confidence when the unit picked a sibling marker, or contradicts the
# marker the name alone points to.
UNIT_SWITCH_FACTOR = 0.95
UNIT_CONFLICT_FACTOR = 0.8

_SLUG_RE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
_LOINC_RE = re.compile(r"^\d{1,7}-\d$")

_REQUIRED_KEYS = (
    "slug",
    "display_name",
    "category",
    "subcategory",
    "loinc",
    "loinc_note",
    "specimen",
    "canonical_unit",
    "accepted_units",
    "molar_mass",
    "aliases",
    "normal_low",
    "normal_high",
    "sex_specific",
    "qualitative",
    "description",
    "sources",
)
_OPTIONAL_KEYS = ("conversions", "optimal", "qualitative_values")
_CONVERSION_KEYS = {"from", "to", "factor", "offset", "source"}


class DictionaryError(ValueError):
    """The dictionary file is malformed; the message names the entry and the field."""


@dataclass(frozen=True, slots=True)
class Conversion:
    """A marker-specific linear conversion: value_to = value_from * factor + offset."""

    from_unit: str
    to_unit: str
    factor: float
    offset: float
    source: str


@dataclass(frozen=True, slots=True)
class Biomarker:
    slug: str
    display_name: str
    category: str
    subcategory: str
    loinc: str | None
    loinc_note: str
    specimen: str
    canonical_unit: str | None
    accepted_units: tuple[str, ...]
    molar_mass: float | None
    conversions: tuple[Conversion, ...]
    aliases: tuple[str, ...]
    normal_low: float | None
    normal_high: float | None
    optimal_low_male: float | None
    optimal_high_male: float | None
    optimal_low_female: float | None
    optimal_high_female: float | None
    sex_specific: bool
    qualitative: bool
    qualitative_values: tuple[str, ...]
    description: str
    sources: tuple[str, ...]
    sort_order: int

    @property
    def names(self) -> tuple[str, ...]:
        """Every name this marker answers to: slug, display name, then the file's aliases."""
        return (self.slug, self.display_name, *self.aliases)


@dataclass(frozen=True)
class NameMatch:
    """The outcome of matching one raw name; `biomarker is None` means unknown."""

    biomarker: Biomarker | None
    confidence: float
    reason: str

    @property
    def matched(self) -> bool:
        return self.biomarker is not None


def loinc_check_digit_ok(code: str) -> bool:
    """True when `code` is NNNNN-C with C the LOINC mod-10 check digit of NNNNN.

    The LOINC check digit is the Luhn scheme: from the right, every first, third, fifth... digit
    is doubled (digits of the product summed), the rest added as they are, and the check digit
    brings the total up to a multiple of ten.
    """
    if not _LOINC_RE.match(code):
        return False
    body, check = code.split("-")
    total = 0
    for position, char in enumerate(reversed(body)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            digit = digit // 10 + digit % 10
        total += digit
    return (10 - total % 10) % 10 == int(check)


# --- name normalization -----------------------------------------------------------------------

# Footnote and trademark symbols that report templates glue onto names.
_DROP_CHARS: dict[int, str | None] = dict.fromkeys(map(ord, "*†‡§¶™®©⁰¹²³⁴⁵⁶⁷⁸⁹"), " ")
_DROP_CHARS.update(dict.fromkeys(map(ord, "'’"), None))
# Method names written with slashes are not ratios; fold them to one token first.
_METHOD_RE = re.compile(r"\blc\s*[-/]?\s*ms(?:\s*[-/]\s*ms)?\b|\bms\s*/\s*ms\b")
_MARK_RE = re.compile(r"\((?:tm|r|c)\)|\[\d{1,2}\]|\(\d{1,2}\)\s*$")
_SLASH_RE = re.compile(r"\w\s*/\s*\w")
_PAREN_RE = re.compile(r"\(([^()]*)\)")
# Decimal numbers, runs of letters and digits, and the two symbols that change the measurand.
_TOKEN_RE = re.compile(r"\d+(?:\.\d+)+|[^\W_]+|[%#]")

# Tokens that say how or from what the lab measured, not what it measured. They are ignored only
# when no exact name matched, and only if what remains points at exactly one marker.
NOISE_TOKENS: frozenset[str] = frozenset(
    {
        "serum",
        "plasma",
        "ser",
        "plas",
        "or",
        "blood",
        "whole",
        "venous",
        "fasting",
        "random",
        "calc",
        "calculated",
        "cal",
        "lcms",
        "msms",
        "ms",
        "ia",
        "ifa",
        "immunoassay",
        "quant",
        "quantitative",
        "qual",
        "qualitative",
        "qn",
        "level",
        "test",
        # Which printed reference range applies, not what was measured.
        "male",
        "males",
        "female",
        "females",
        "adult",
        # HbA1c standardisation schemes: the unit (% or mmol/mol) says which, the marker is one.
        "ifcc",
        "dcct",
        "ngsp",
        # LDL-C equations and creatinine methods: different calculations of the same measurand.
        "nih",
        "sampson",
        "friedewald",
        "martin",
        "hopkins",
        "enzymatic",
        "jaffe",
    }
)


# Noise tokens that name a specimen, and the marker specimens each statement fits. Specimen words
# that are not noise ("urine", "RBC", "erythrocyte", "CSF", "saliva", "capillary") are never set
# aside, so a marker is only reached through them when its own name carries them.
_SPECIMEN_WORDS: dict[str, str] = {
    "serum": "serum",
    "ser": "serum",
    "plasma": "plasma",
    "plas": "plasma",
    "whole": "whole_blood",
    "venous": "blood",
    "blood": "blood",
    "urine": "urine",
    "urinary": "urine",
    "urinalysis": "urine",
}
_SPECIMEN_FITS: dict[str, frozenset[str]] = {
    # Serum and plasma are interchangeable for most chemistry, which the file records as
    # serum_or_plasma; a marker tied to one of them (fibrinogen, ACTH, globulin) is not the other.
    "serum": frozenset({"serum", "serum_or_plasma"}),
    "plasma": frozenset({"plasma", "serum_or_plasma"}),
    "serum_or_plasma": frozenset({"serum", "plasma", "serum_or_plasma"}),
    # Red-cell markers are measured in whole blood, and their names always say "RBC" themselves.
    "whole_blood": frozenset({"whole_blood", "rbc"}),
    "blood": SPECIMENS - {"urine"},
    "urine": frozenset({"urine"}),
    "conflicting specimens": frozenset(),
}

# British and European spellings of words that name the same measurand.
_SPELLINGS: dict[str, str] = {
    "haemoglobin": "hemoglobin",
    "haematocrit": "hematocrit",
    "oestradiol": "estradiol",
    "oestrone": "estrone",
    "leucocyte": "leukocyte",
    "leucocytes": "leukocytes",
    "luteinising": "luteinizing",
    "sulphate": "sulfate",
    "ionised": "ionized",
    "colour": "color",
    # Epic and most hospital systems suffix urinalysis lines with "UA".
    "ua": "urine",
    # "TPO Ab", "TPO Antibody", "TPO Antibodies" are one result.
    "ab": "antibody",
    "antibodies": "antibody",
}


def normalize_name(raw: str) -> str:
    """Fold a printed lab name to the form names are compared in.

    Case, accents, spacing and decorative punctuation go; tokens that change what is measured
    ("free", "total", "%", "#", "absolute", "d2", "ratio", "urine"...) stay, because they are the
    difference between neighbouring markers.
    """
    return " ".join(_tokens(raw))


def _tokens(raw: str) -> list[str]:
    text = raw.translate(_DROP_CHARS)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _MARK_RE.sub(" ", text)
    text = _METHOD_RE.sub(" lcms ", text)
    return [_SPELLINGS.get(token, token) for token in _TOKEN_RE.findall(text)]


def _is_ratio_like(raw: str) -> bool:
    # In "AA/EPA" or "BUN/Creatinine" the order carries meaning, so those names are never matched
    # by token set, only in their printed order.
    text = _METHOD_RE.sub(" ", unicodedata.normalize("NFKC", raw).casefold())
    return bool(_SLASH_RE.search(text)) or " ratio" in f" {text}" or " to " in f" {text} "


def _strip_noise(tokens: Sequence[str]) -> tuple[str, ...]:
    return tuple(token for token in tokens if token not in NOISE_TOKENS)


def stated_specimen(raw: str) -> str | None:
    """The specimen a printed name states (serum, plasma, whole blood, blood, urine), if any.

    "Blood" or "venous" beside a more precise word adds nothing ("Lead, Whole Blood (Venous)"), and
    beside "urine" it is the analyte ("Occult Blood, Urine"), not the specimen.
    """
    return _specimen_of(_tokens(raw))


def _specimen_of(tokens: Sequence[str]) -> str | None:
    words = {_SPECIMEN_WORDS[token] for token in tokens if token in _SPECIMEN_WORDS}
    if "occult" in tokens:
        words.discard("blood")  # occult blood is what is measured, in urine or stool
    if {"serum", "plasma"} <= words:
        words = (words - {"serum", "plasma"}) | {"serum_or_plasma"}
    if len(words) > 1:
        words.discard("blood")
    if len(words) > 1:
        return "conflicting specimens"
    return next(iter(words), None)


def specimen_fits(stated: str | None, marker_specimen: str) -> bool:
    """True when a name stating `stated` may name a marker measured in `marker_specimen`."""
    return stated is None or marker_specimen in _SPECIMEN_FITS[stated]


# --- unit kinds used for disambiguation ---------------------------------------------------------

_COUNT_UNIT_RE = re.compile(r"^(?:x?10\(?[\^*e]?\(?\d+\)?|k|thou(?:sand)?|cells?|#|m|mil(?:lion)?)?/(?:ul|mm3|cumm|l)$")


def unit_kind(unit: str | None) -> str | None:
    """Classify a printed unit as 'count', 'percent' or 'per_field' (None: anything else)."""
    if not unit:
        return None
    text = unicodedata.normalize("NFKC", unit).casefold().replace(" ", "")
    text = text.replace("µ", "u").replace("μ", "u").replace("mcl", "ul")
    if "hpf" in text or "lpf" in text:
        return "per_field"
    if text in {"%", "percent", "pct"}:
        return "percent"
    if _COUNT_UNIT_RE.match(text):
        return "count"
    return None


# --- loading -------------------------------------------------------------------------------------


def _fail(slug: str, field: str, problem: str) -> DictionaryError:
    return DictionaryError(f"biomarker {slug!r}, field {field!r}: {problem}")


def _number(slug: str, field: str, value: Any) -> float | None:
    if value is None:
        return None
    return _required_number(slug, field, value)


def _required_number(slug: str, field: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(slug, field, f"expected a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise _fail(slug, field, f"expected a finite number, got {value!r}")
    return number


def _text(slug: str, field: str, value: Any, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str) or (not allow_empty and not value.strip()):
        raise _fail(slug, field, f"expected a non-empty string, got {value!r}")
    return value


def _text_list(slug: str, field: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _fail(slug, field, f"expected a list, got {type(value).__name__}")
    return tuple(_text(slug, f"{field}[{i}]", item) for i, item in enumerate(value))


def _bool(slug: str, field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _fail(slug, field, f"expected true or false, got {value!r}")
    return value


def _range(slug: str, field: str, low: float | None, high: float | None) -> None:
    if low is not None and high is not None and low > high:
        raise _fail(slug, field, f"low {low} is above high {high}")


def _optimal(slug: str, value: Any) -> tuple[float | None, float | None, float | None, float | None]:
    if value is None:
        return (None, None, None, None)
    if not isinstance(value, dict):
        raise _fail(slug, "optimal", "expected {low, high} or {male: {low, high}, female: {low, high}}")
    if set(value) == {"low", "high"}:
        low = _number(slug, "optimal.low", value["low"])
        high = _number(slug, "optimal.high", value["high"])
        _range(slug, "optimal", low, high)
        return (low, high, low, high)
    if set(value) == {"male", "female"}:
        bounds: list[float | None] = []
        for sex in ("male", "female"):
            band = value[sex]
            if not isinstance(band, dict) or set(band) != {"low", "high"}:
                raise _fail(slug, f"optimal.{sex}", "expected {low, high}")
            low = _number(slug, f"optimal.{sex}.low", band["low"])
            high = _number(slug, f"optimal.{sex}.high", band["high"])
            _range(slug, f"optimal.{sex}", low, high)
            bounds += [low, high]
        return (bounds[0], bounds[1], bounds[2], bounds[3])
    raise _fail(slug, "optimal", f"unexpected keys {sorted(value)}")


def _conversions(slug: str, value: Any) -> tuple[Conversion, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _fail(slug, "conversions", "expected a list")
    result = []
    for i, item in enumerate(value):
        field = f"conversions[{i}]"
        if not isinstance(item, dict) or set(item) != _CONVERSION_KEYS:
            raise _fail(slug, field, f"expected exactly the keys {sorted(_CONVERSION_KEYS)}")
        factor = _required_number(slug, f"{field}.factor", item["factor"])
        if factor == 0:
            raise _fail(slug, f"{field}.factor", "a zero factor cannot be inverted")
        result.append(
            Conversion(
                from_unit=_text(slug, f"{field}.from", item["from"]),
                to_unit=_text(slug, f"{field}.to", item["to"]),
                factor=factor,
                offset=_required_number(slug, f"{field}.offset", item["offset"]),
                source=_text(slug, f"{field}.source", item["source"]),
            )
        )
    return tuple(result)


def _parse_entry(raw: Any, index: int, sort_order: int) -> Biomarker:
    if not isinstance(raw, dict):
        raise DictionaryError(f"markers[{index}]: expected a mapping, got {type(raw).__name__}")
    slug = raw.get("slug")
    if not isinstance(slug, str) or not _SLUG_RE.match(slug):
        raise DictionaryError(f"markers[{index}], field 'slug': {slug!r} is not a snake_case slug")
    missing = [key for key in _REQUIRED_KEYS if key not in raw]
    if missing:
        raise _fail(slug, missing[0], "missing")
    unknown = sorted(set(raw) - set(_REQUIRED_KEYS) - set(_OPTIONAL_KEYS))
    if unknown:
        raise _fail(slug, unknown[0], "unknown field")

    category = raw["category"]
    if category not in CATEGORIES:
        raise _fail(slug, "category", f"{category!r} is not one of {', '.join(CATEGORIES)}")
    specimen = raw["specimen"]
    if specimen not in SPECIMENS:
        raise _fail(slug, "specimen", f"{specimen!r} is not one of {', '.join(sorted(SPECIMENS))}")

    loinc = raw["loinc"]
    if loinc is not None:
        loinc = _text(slug, "loinc", loinc)
        if not loinc_check_digit_ok(loinc):
            raise _fail(slug, "loinc", f"{loinc!r} is not a LOINC code with a valid check digit")

    qualitative = _bool(slug, "qualitative", raw["qualitative"])
    qualitative_values = _text_list(slug, "qualitative_values", raw.get("qualitative_values"))
    canonical_unit = raw["canonical_unit"]
    accepted_units = _text_list(slug, "accepted_units", raw["accepted_units"])
    if qualitative:
        if canonical_unit is not None:
            raise _fail(slug, "canonical_unit", "qualitative markers have no canonical unit")
        if not qualitative_values:
            raise _fail(slug, "qualitative_values", "qualitative markers list their allowed values")
    else:
        canonical_unit = _text(slug, "canonical_unit", canonical_unit)
        if canonical_unit not in accepted_units:
            raise _fail(slug, "accepted_units", f"must include the canonical unit {canonical_unit!r}")
        if qualitative_values:
            raise _fail(slug, "qualitative_values", "only qualitative markers list values")

    molar_mass = _number(slug, "molar_mass", raw["molar_mass"])
    if molar_mass is not None and molar_mass <= 0:
        raise _fail(slug, "molar_mass", "must be positive")
    normal_low = _number(slug, "normal_low", raw["normal_low"])
    normal_high = _number(slug, "normal_high", raw["normal_high"])
    _range(slug, "normal_low", normal_low, normal_high)
    low_m, high_m, low_f, high_f = _optimal(slug, raw.get("optimal"))

    return Biomarker(
        slug=slug,
        display_name=_text(slug, "display_name", raw["display_name"]),
        category=category,
        subcategory=_text(slug, "subcategory", raw["subcategory"]),
        loinc=loinc,
        loinc_note=_text(slug, "loinc_note", raw["loinc_note"]),
        specimen=specimen,
        canonical_unit=canonical_unit,
        accepted_units=accepted_units,
        molar_mass=molar_mass,
        conversions=_conversions(slug, raw.get("conversions")),
        aliases=_text_list(slug, "aliases", raw["aliases"]),
        normal_low=normal_low,
        normal_high=normal_high,
        optimal_low_male=low_m,
        optimal_high_male=high_m,
        optimal_low_female=low_f,
        optimal_high_female=high_f,
        sex_specific=_bool(slug, "sex_specific", raw["sex_specific"]),
        qualitative=qualitative,
        qualitative_values=qualitative_values,
        description=_text(slug, "description", raw["description"]),
        sources=_text_list(slug, "sources", raw["sources"]),
        sort_order=sort_order,
    )


def parse_markers(document: Any) -> list[Biomarker]:
    """Turn the parsed YAML document into markers, validating every entry."""
    if not isinstance(document, dict) or not isinstance(document.get("markers"), list):
        raise DictionaryError("the dictionary file must hold a top-level 'markers:' list")
    positions: Counter[str] = Counter()
    markers: list[Biomarker] = []
    seen: set[str] = set()
    for index, raw in enumerate(document["markers"]):
        category = raw.get("category") if isinstance(raw, dict) else None
        positions[str(category)] += 1
        marker = _parse_entry(raw, index, positions[str(category)])
        if marker.slug in seen:
            raise _fail(marker.slug, "slug", "appears twice")
        seen.add(marker.slug)
        markers.append(marker)
    return markers


def load_dictionary(path: Path | None = None) -> BiomarkerDictionary:
    """Load and validate the dictionary; the bundled file is read once per process."""
    if path is None:
        return _load_default()
    return _load(Path(path))


_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.lru_cache(maxsize=1)
def _load_default() -> BiomarkerDictionary:
    return _load(DEFAULT_PATH)


def _load(path: Path) -> BiomarkerDictionary:
    try:
        # libyaml's loader is about ten times faster than the pure-Python one on this file.
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)  # noqa: S506 (a safe loader)
    except yaml.YAMLError as exc:
        raise DictionaryError(f"{path.name}: not valid YAML: {exc}") from exc
    return BiomarkerDictionary(parse_markers(document))


# --- the dictionary and its matcher ----------------------------------------------------------------


class BiomarkerDictionary:
    """The loaded markers plus the name indexes the matcher needs, built once."""

    def __init__(self, markers: Sequence[Biomarker]) -> None:
        self._markers: dict[str, Biomarker] = {}
        for marker in markers:
            if marker.slug in self._markers:
                raise _fail(marker.slug, "slug", "appears twice")
            self._markers[marker.slug] = marker
        # exact normalized name -> the one marker it names (collisions are file errors)
        self._exact: dict[str, Biomarker] = {}
        # noise-stripped names, in printed order and as sorted token bags -> candidate slugs
        self._ordered: dict[tuple[str, ...], set[str]] = {}
        self._bags: dict[tuple[str, ...], set[str]] = {}
        for marker in self._markers.values():
            for name in marker.names:
                self._index(marker, name)

    def _index(self, marker: Biomarker, name: str) -> None:
        tokens = _tokens(name)
        if not tokens:
            raise _fail(marker.slug, "aliases", f"{name!r} normalizes to nothing")
        key = " ".join(tokens)
        owner = self._exact.get(key)
        if owner is not None and owner.slug != marker.slug:
            raise _fail(marker.slug, "aliases", f"{name!r} is already a name of {owner.slug!r}")
        self._exact[key] = marker
        stripped = _strip_noise(tokens)
        if stripped:
            self._ordered.setdefault(stripped, set()).add(marker.slug)
            if not _is_ratio_like(name):
                self._bags.setdefault(tuple(sorted(stripped)), set()).add(marker.slug)

    def __len__(self) -> int:
        return len(self._markers)

    def __iter__(self) -> Iterator[Biomarker]:
        return iter(self._markers.values())

    def __contains__(self, slug: object) -> bool:
        return slug in self._markers

    def get(self, slug: str) -> Biomarker:
        try:
            return self._markers[slug]
        except KeyError:
            raise KeyError(f"no biomarker with slug {slug!r} in the dictionary") from None

    def categories(self) -> Mapping[str, int]:
        """Marker count per category, in the enum's order, for categories that have markers."""
        counts = Counter(marker.category for marker in self._markers.values())
        return {category: counts[category] for category in CATEGORIES if counts[category]}

    def match(self, raw_name: str, unit: str | None = None) -> NameMatch:
        """Resolve a name as printed on a report (and optionally its unit) to one marker or none.

        The unit only ever chooses between sibling markers that share a printed name: a count unit
        (cells/uL, 10*3/uL) on "Neutrophils" selects the absolute form, a per-field unit (/HPF) on
        "WBC" the urine microscopy marker. When the unit contradicts the only candidate, the match
        stands at lower confidence.
        """
        by_name = self._match_name(raw_name)
        kind = unit_kind(unit)
        if by_name.biomarker is None or kind is None:
            return by_name
        marker = by_name.biomarker
        if marker.qualitative or unit_kind(marker.canonical_unit) == kind:
            return by_name
        sibling = self._unit_sibling(raw_name, kind)
        if sibling is not None and sibling.biomarker is not None and sibling.biomarker.slug != marker.slug:
            return NameMatch(
                sibling.biomarker,
                round(sibling.confidence * UNIT_SWITCH_FACTOR, 4),
                f"unit {unit!r} selects {sibling.biomarker.slug!r} over {marker.slug!r}",
            )
        return NameMatch(
            marker,
            round(by_name.confidence * UNIT_CONFLICT_FACTOR, 4),
            f"{by_name.reason}; unit {unit!r} does not fit canonical unit {marker.canonical_unit!r}",
        )

    def _unit_sibling(self, raw_name: str, kind: str) -> NameMatch | None:
        # Only the bare shared name is completed from the unit; a name that already says which
        # form it is ("Absolute Neutrophils") is never overruled by its unit.
        if kind == "count":
            candidate = self._match_name(f"{raw_name} absolute")
        elif kind == "per_field":
            candidate = self._match_name(f"urine {raw_name}")
        else:
            return None
        if candidate.biomarker is None or unit_kind(candidate.biomarker.canonical_unit) != kind:
            return None
        return candidate

    def _match_name(self, raw_name: str) -> NameMatch:
        tokens = _tokens(raw_name) if raw_name else []
        if not tokens:
            return NameMatch(None, 0.0, "empty name")
        key = " ".join(tokens)
        exact = self._exact.get(key)
        if exact is not None:
            return NameMatch(exact, CONFIDENCE_EXACT, f"exact name {key!r}")

        stripped = _strip_noise(tokens)
        if not stripped:
            return NameMatch(None, 0.0, f"{key!r} names only a specimen or method")
        specimen = _specimen_of(tokens)
        candidates = [(self._ordered.get(stripped), CONFIDENCE_DECORATED, "without lab suffixes")]
        if not _is_ratio_like(raw_name):
            bag = tuple(sorted(stripped))
            candidates.append((self._bags.get(bag), CONFIDENCE_REORDERED, "same words reordered"))
        other_specimen: set[str] = set()
        for slugs, confidence, how in candidates:
            if not slugs:
                continue
            fitting = {slug for slug in slugs if specimen_fits(specimen, self._markers[slug].specimen)}
            other_specimen |= slugs - fitting
            found = self._resolve(fitting, confidence, how)
            if found is not None:
                return found
        synonym = self._match_synonym(raw_name)
        if synonym is not None:
            return synonym
        if other_specimen:
            others = ", ".join(f"{slug} ({self._markers[slug].specimen})" for slug in sorted(other_specimen))
            stated = str(specimen).replace("_", " ")
            return NameMatch(None, 0.0, f"{key!r} names {stated}; {others} is measured in another specimen")
        return NameMatch(None, 0.0, f"no known name matches {key!r}")

    def _match_synonym(self, raw_name: str) -> NameMatch | None:
        # "Alanine Aminotransferase (ALT)", "Free Thyroxine (FT4)": a name followed by another name
        # of the same marker. Both halves must resolve, to the same marker: "Cortisol (PM)" is an
        # evening draw with its own range, not cortisol with a remark, and "PM" alone names nothing.
        groups = _PAREN_RE.findall(raw_name)
        if len(groups) != 1:
            return None
        outside = self._match_name(_PAREN_RE.sub(" ", raw_name))
        inside = self._match_name(groups[0])
        if outside.biomarker is None or inside.biomarker is None or outside.biomarker.slug != inside.biomarker.slug:
            return None
        confidence = min(outside.confidence, inside.confidence, CONFIDENCE_DECORATED)
        return NameMatch(outside.biomarker, confidence, f"name and synonym agree ({outside.biomarker.slug})")

    def _resolve(self, slugs: set[str], confidence: float, how: str) -> NameMatch | None:
        if not slugs:
            return None
        if len(slugs) > 1:
            return NameMatch(None, 0.0, f"ambiguous {how}: could be {', '.join(sorted(slugs))}")
        marker = self._markers[next(iter(slugs))]
        return NameMatch(marker, confidence, f"{how} ({marker.slug})")
