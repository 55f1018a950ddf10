"""A stored lab-report PDF through parsing, review and confirmation into blood panels and markers.

`parse_document` reads the document's bytes from the store, extracts and parses them, and keeps the
result on the document (`parse_result`, `parse_status`) without writing a single marker: nothing counts
until a person confirms it. A PDF that cannot be read fails with its specific reason on the document.
`confirm_document` writes the panel and its markers through `db.labs.record_markers`, once: confirming
again, or confirming a re-upload of the same file (the same document), changes nothing.

These are plain functions taking a session; the job task that wraps them commits.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, fields
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.labs import LabResult, record_markers
from db.models import BloodPanel, Document
from db.models.enums import ParseStatus
from db.storage import DocumentStore
from parsers.labs.extract import Page, PdfError, Progress, Word, extract
from parsers.labs.llm import LlmError, LlmReader, LlmResult, add_answers, ask
from parsers.labs.rules import ParsedReport, parse_pages

PARSE_RESULT_VERSION = 1
_DECIMAL_FIELDS = {"value_numeric", "ref_range_low", "ref_range_high", "parse_confidence"}


class DocumentError(ValueError):
    """The document cannot be parsed or confirmed; the message says why, without health values."""


def parse_document(
    session: Session,
    store: DocumentStore,
    document_id: uuid.UUID,
    *,
    llm: LlmReader | None = None,
    ask_llm: bool = False,
    progress: Progress | None = None,
) -> ParsedReport | None:
    """Parse the stored PDF and keep the result on the document; None (and status failed) if unreadable.

    A document parsed before is parsed again from its stored extraction (no second OCR), and with the
    LLM answers stored then (no second LLM call) unless `ask_llm`. The LLM is asked only when a reader
    is given, and only for what the rules left unread; an LLM failure is recorded on the document and
    leaves the rules' result (and any answers stored before) standing. `progress` hears of each page
    read from the file (not of a stored extraction, which takes no time).
    """
    document = session.get(Document, document_id, with_for_update=True)
    if document is None:
        raise DocumentError(f"no document {document_id}")
    if document.confirmed_at is not None:
        raise DocumentError("the document is already confirmed; its markers are stored")
    previous = document.parse_result or {}
    if "extraction" in previous:
        pages = pages_from_json(previous["extraction"])
    else:
        with store.open(document.s3_key) as handle:
            data = handle.read()
        try:
            pages = extract(data, progress=progress)
        except PdfError as exc:
            document.parse_status = ParseStatus.FAILED
            document.error_message = str(exc)
            document.parse_result = {"version": PARSE_RESULT_VERSION, "error": exc.kind}
            session.flush()
            return None
    report = parse_pages(pages)
    answers, problem = _llm_answers(previous, report, pages, llm, ask_llm)
    if answers:
        add_answers(report, pages, answers)
    document.parse_result = {
        **report_to_json(report),
        "extraction": pages_to_json(pages),
        "llm_answers": answers_to_json(answers) if answers is not None else None,
    }
    review = _needs_review(report) or problem is not None
    document.parse_status = ParseStatus.NEEDS_REVIEW if review else ParseStatus.PARSED
    document.parse_confidence = _confidence(report)
    document.parsed_at = datetime.now(UTC)
    document.error_message = problem or (None if report.markers else "no results were recognized in the document")
    session.flush()
    return report


def _llm_answers(
    previous: dict[str, Any], report: ParsedReport, pages: list[Page], llm: LlmReader | None, ask_llm: bool
) -> tuple[dict[int, list[LlmResult]] | None, str | None]:
    stored = previous.get("llm_answers")
    if stored is not None and not ask_llm:
        return answers_from_json(stored), None
    if llm is None:
        return None, None
    before = llm.calls
    try:
        answers = ask(llm, report, pages)
    except LlmError as exc:
        return (answers_from_json(stored) if stored is not None else None), f"LLM: {exc}"
    finally:
        report.llm_calls = llm.calls - before
    return answers, None


def confirm_document(
    session: Session, user_id: uuid.UUID, document_id: uuid.UUID, *, corrections: list[LabResult] | None = None
) -> uuid.UUID:
    """Write the document's panel and markers (or the person's corrected list); returns the panel id."""
    document = session.get(Document, document_id, with_for_update=True)
    if document is None or document.user_id != user_id:
        raise DocumentError(f"no document {document_id} for this user")
    parsed = document.parse_result or {}
    if "markers" not in parsed:
        raise DocumentError("the document has no parse result to confirm")
    panel = session.scalar(select(BloodPanel).where(BloodPanel.document_id == document_id))
    if panel is None:
        panel = BloodPanel(
            user_id=user_id,
            document_id=document_id,
            lab_name=parsed.get("lab_name"),
            collected_at=_datetime(parsed.get("collected_at")),
            reported_at=_datetime(parsed.get("reported_at")),
            specimen_id=parsed.get("specimen_id"),
            fasting=parsed.get("fasting"),
        )
        session.add(panel)
        session.flush()
    results = corrections if corrections is not None else [result_from_json(m["result"]) for m in parsed["markers"]]
    record_markers(session, user_id, panel.panel_id, results)
    document.confirmed_at = document.confirmed_at or datetime.now(UTC)
    document.confirmed_by = user_id
    document.parse_status = ParseStatus.CONFIRMED
    document.linked_record_id = panel.panel_id
    document.linked_record_type = "blood_panel"
    session.flush()
    return panel.panel_id


def pages_to_json(pages: list[Page]) -> list[dict[str, Any]]:
    return [
        {
            "number": p.number,
            "width": round(p.width, 2),
            "height": round(p.height, 2),
            "source": p.source,
            "words": [
                [w.text, round(w.x0, 2), round(w.x1, 2), round(w.top, 2), round(w.bottom, 2), w.bold] for w in p.words
            ],
        }
        for p in pages
    ]


def pages_from_json(data: list[dict[str, Any]]) -> list[Page]:
    return [
        Page(p["number"], p["width"], p["height"], [Word(*w) for w in p["words"]], source=p["source"]) for p in data
    ]


def answers_to_json(answers: dict[int, list[LlmResult]]) -> dict[str, list[dict[str, Any]]]:
    return {str(page): [asdict(r) for r in results] for page, results in answers.items()}


def answers_from_json(data: dict[str, list[dict[str, Any]]]) -> dict[int, list[LlmResult]]:
    return {int(page): [LlmResult(**r) for r in results] for page, results in data.items()}


def report_to_json(report: ParsedReport) -> dict[str, Any]:
    return {
        "version": PARSE_RESULT_VERSION,
        "lab_name": report.lab_name,
        "collected_at": report.collected_at.isoformat() if report.collected_at else None,
        "reported_at": report.reported_at.isoformat() if report.reported_at else None,
        "specimen_id": report.specimen_id,
        "fasting": report.fasting,
        "pages": report.pages,
        "ocr_pages": report.ocr_pages,
        "llm_calls": report.llm_calls,
        "llm_rejected": report.llm_rejected,
        "markers": [
            {"result": result_to_json(m.result), "source": m.source.as_dict(), "how": m.how} for m in report.markers
        ],
        "unresolved": [{"source": u.source.as_dict(), "reason": u.reason} for u in report.unresolved],
    }


def result_to_json(result: LabResult) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, Decimal | float) else v) for k, v in asdict(result).items()}


def result_from_json(data: dict[str, Any]) -> LabResult:
    known = {f.name for f in fields(LabResult)}
    values = {k: (Decimal(v) if k in _DECIMAL_FIELDS and v is not None else v) for k, v in data.items() if k in known}
    return LabResult(**values)


def _needs_review(report: ParsedReport) -> bool:
    return (
        bool(report.unresolved)
        or report.ocr_pages > 0
        or any(m.result.slug is None or m.how != "rules" for m in report.markers)
    )


def _confidence(report: ParsedReport) -> Decimal | None:
    scores = [m.result.parse_confidence for m in report.markers if m.result.parse_confidence is not None]
    return round(sum(Decimal(str(s)) for s in scores) / len(scores), 2) if scores else None


def _datetime(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
