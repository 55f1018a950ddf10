"""A lab report's parse as a person reviews it before confirming, and the counts a job reports about it.

Each found result is shown with what confirming would store (the canonical value and unit, through the
same resolution and conversion as `db.labs.record_markers`) and why it needs a second look, if it does:
read by the model or by OCR, a marker the dictionary does not know, a unit it does not list for the
marker. Works on the stored `parse_result`, so it needs no second parse.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from db.lab_reports import result_from_json
from db.labs import canonical_value
from db.models import Document
from parsers.vocabulary.dictionary import BiomarkerDictionary, load_dictionary


@dataclass(frozen=True, slots=True)
class ReviewRow:
    name: str
    value: str
    unit: str | None
    range: str | None
    flag: str | None
    canonical_value: Decimal | None
    canonical_unit: str | None
    source: str  # "rules" or "LLM", with "OCR" when the words were read off an image
    page: int
    line: int
    review: str | None  # why this result needs a second look; None when it does not


def review_rows(parse_result: dict[str, Any], vocabulary: BiomarkerDictionary | None = None) -> list[ReviewRow]:
    vocabulary = vocabulary or load_dictionary()
    return [_row(marker, vocabulary) for marker in parse_result.get("markers", [])]


def _row(marker: dict[str, Any], vocabulary: BiomarkerDictionary) -> ReviewRow:
    result = result_from_json(marker["result"])
    source = marker["source"]
    biomarker, canonical, unit_note = canonical_value(result, vocabulary)
    reasons = []
    if marker.get("how") == "llm":
        reasons.append("read by the model")
    if source.get("ocr"):
        reasons.append("read by OCR")
    if biomarker is None:
        reasons.append("not in the biomarker dictionary")
    if unit_note:
        reasons.append(unit_note)
    how = "LLM" if marker.get("how") == "llm" else "rules"
    return ReviewRow(
        name=result.raw_name,
        value=result.value_text or _plain(result.value_numeric),
        unit=result.unit,
        range=result.ref_range_text or _range(result.ref_range_low, result.ref_range_high),
        flag=result.flag,
        canonical_value=canonical,
        canonical_unit=biomarker.canonical_unit if biomarker is not None and canonical is not None else None,
        source=f"{how} (OCR)" if source.get("ocr") else how,
        page=int(source["page"]),
        line=int(source["line"]),
        review="; ".join(reasons) or None,
    )


def summary(document: Document) -> dict[str, Any]:
    """What a parse job reports: counts and the document's state, in words; no health values."""
    parsed = document.parse_result or {}
    rows = review_rows(parsed) if "markers" in parsed else []
    out: dict[str, Any] = {
        "document_id": str(document.document_id),
        "status": document.parse_status.value,
        "pages": parsed.get("pages", 0),
        "ocr_pages": parsed.get("ocr_pages", 0),
        "results": len(rows),
        "unresolved": len(parsed.get("unresolved", [])),
        "needs_review": sum(row.review is not None for row in rows),
        "llm_calls": parsed.get("llm_calls", 0),
        "llm_rejected": parsed.get("llm_rejected", 0),
    }
    if document.error_message:
        out["problem"] = document.error_message
    return out


def _plain(number: Decimal | float | None) -> str:
    if number is None:
        return ""
    text = format(Decimal(str(number)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _range(low: Decimal | float | None, high: Decimal | float | None) -> str | None:
    if low is None and high is None:
        return None
    if low is None:
        return f"≤ {_plain(high)}"
    if high is None:
        return f"≥ {_plain(low)}"
    return f"{_plain(low)}–{_plain(high)}"
