"""Reading the printed pieces of a result: the value, the flag, the reference range, dates.

Numbers are read exactly as `Decimal`s. A report either writes decimals with a point (thousands with
a comma: `1,234`) or with a comma (`5,2`); `uses_decimal_comma` decides once per report, so `1,234` is
never read both ways in one document. A value with a comparator (`<0.5`, `>90`) keeps its text and
reports its bound as the number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

_COMPARATOR = r"(?:<=|>=|<|>|≤|≥)"
_US_NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+"
_EU_NUMBER = r"\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d+(?:,\d+)?"
_NUMBER = {
    False: re.compile(rf"^({_COMPARATOR})?\s*({_US_NUMBER})$"),
    True: re.compile(rf"^({_COMPARATOR})?\s*({_EU_NUMBER})$"),
}

QUALITATIVE = (
    "not detected", "none detected", "none seen", "non-reactive", "nonreactive", "negative", "positive",
    "detected", "reactive", "trace", "clear", "cloudy", "hazy", "turbid", "yellow", "straw", "amber",
    "colorless", "few", "rare", "moderate", "many", "normal", "abnormal", "see note", "see below",
    "see comment", "tnp", "pending", "indeterminate", "equivocal",
)  # fmt: skip
_QUALITATIVE_RE = re.compile(r"^(" + "|".join(re.escape(q) for q in QUALITATIVE) + r")$", re.IGNORECASE)

# Flags as labs print them. A glyph says "abnormal" without a direction: the range decides it later.
GLYPH = "GLYPH"
FLAGS = {
    "h": "H", "high": "H", "l": "L", "low": "L", "hh": "HH", "ll": "LL", "a": "ABNORMAL", "abn": "ABNORMAL",
    "abnormal": "ABNORMAL", "crit": "ABNORMAL", "*": GLYPH, "¬": GLYPH, "!": GLYPH, "▲": "H", "▼": "L",
    "↑": "H", "↓": "L", "h*": "HH", "l*": "LL",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Value:
    number: Decimal | None
    text: str | None  # kept for qualitative results and for a bounded value ("<0.5")


def uses_decimal_comma(text: str) -> bool:
    """Whether the report writes decimals with a comma: `5,2` outnumbers `1,234`-style thousands."""
    comma_decimals = len(re.findall(r"(?<![\d.,])\d+,\d{1,2}(?![\d,])", text))
    thousands = len(re.findall(r"(?<![\d.,])\d{1,3},\d{3}(?![\d])", text))
    point_decimals = len(re.findall(r"(?<![\d.,/])\d+\.\d{1,2}(?![\d.])", text))
    return comma_decimals > thousands and comma_decimals > point_decimals


def parse_number(text: str, decimal_comma: bool) -> tuple[str | None, Decimal] | None:
    match = _NUMBER[decimal_comma].match(text.strip())
    if not match:
        return None
    digits = match.group(2)
    digits = digits.replace(".", "").replace(",", ".") if decimal_comma else digits.replace(",", "")
    try:
        return match.group(1), Decimal(digits)
    except InvalidOperation:
        return None


def parse_value(text: str, decimal_comma: bool) -> Value | None:
    """`92`, `1,234`, `5,2`, `<0.5`, `NEGATIVE`, `See note`; None when the text is not a value."""
    text = " ".join(text.split())
    if not text:
        return None
    number = parse_number(text, decimal_comma)
    if number is not None:
        comparator, value = number
        if comparator:
            return Value(value, comparator + _plain(value))
        return Value(value, None)
    if _QUALITATIVE_RE.match(text):
        return Value(None, text)
    return None


def _plain(value: Decimal) -> str:
    return format(value, "f")


def parse_flag(text: str) -> str | None:
    return FLAGS.get(text.strip().casefold())


_RANGE_BOTH = re.compile(r"^\(?\s*(?P<low>[\d.,]+)\s*(?:-|–|to)\s*(?P<high>[\d.,]+)\s*\)?$")
_RANGE_ONE = re.compile(r"^\(?\s*(?P<op><=|>=|<|>|≤|≥|>\s*OR\s*=|<\s*OR\s*=)\s*(?P<bound>[\d.,]+)\s*\)?$", re.I)


def parse_range(text: str | None, decimal_comma: bool) -> tuple[Decimal | None, Decimal | None]:
    """Low and high of a simple printed range; (None, None) for anything else (tables, words)."""
    if not text:
        return None, None
    text = " ".join(text.split())
    both = _RANGE_BOTH.match(text)
    if both:
        low, high = (parse_number(both.group(k), decimal_comma) for k in ("low", "high"))
        if low and high and low[1] <= high[1]:
            return low[1], high[1]
        return None, None
    one = _RANGE_ONE.match(text)
    if one:
        bound = parse_number(one.group("bound"), decimal_comma)
        if bound is None:
            return None, None
        return (
            (bound[1], None) if one.group("op").lstrip().startswith(">") or "≥" in one.group("op") else (None, bound[1])
        )
    return None, None


def direction(value: Decimal | None, low: Decimal | None, high: Decimal | None) -> str | None:
    """H or L when a value lies outside its printed range, else None."""
    if value is None:
        return None
    if high is not None and value > high:
        return "H"
    if low is not None and value < low:
        return "L"
    return None


_DATE_RE = re.compile(r"(\d{1,2})([/.])(\d{1,2})\2(\d{4})(?:\s+(\d{1,2}):(\d{2}))?")


def parse_date(text: str) -> datetime | None:
    """`01/15/2026 08:30` (month first, as US labs print) or `15.01.2026` (day first, with dots)."""
    match = _DATE_RE.search(text)
    if not match:
        return None
    a, sep, b, year = int(match.group(1)), match.group(2), int(match.group(3)), int(match.group(4))
    month, day = (b, a) if sep == "." or a > 12 else (a, b)
    hour, minute = (int(match.group(5)), int(match.group(6))) if match.group(5) else (0, 0)
    try:
        return datetime(year, month, day, hour, minute)
    except ValueError:
        return None
