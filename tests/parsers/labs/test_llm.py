"""The LLM path against a scripted OpenAI-compatible server on loopback: masking, grounding, failures."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from reportlab.pdfgen import canvas

from parsers.labs.extract import extract
from parsers.labs.llm import LlmError, LlmReader, LlmSettings, add_answers, ask
from parsers.labs.pii import MASK, mask_identifiers
from parsers.labs.rules import parse_pages
from tests.parsers.labs.fake_llm import answer, fake_llm, result


def narrative_pdf() -> bytes:
    """A letter-style report the rules cannot read: results inside sentences."""
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    for y, text in (
        (760, "Valley Medical Group"),
        (745, "Patient: DOE, JOHN    DOB: 03/14/1975    MRN: 00991122"),
        (730, "Phone: 555-201-3344    Collected: 06/01/2026"),
        (700, "Your ferritin came back at 45 ng/mL this visit (normal 30-400)."),
        (685, "Thyroid: TSH was 2.1 mIU/L, within the usual range."),
    ):
        page.drawString(60, y, text)
    page.save()
    return buffer.getvalue()


def _reader(server, **overrides) -> LlmReader:
    settings = {"base_url": server.base_url, "api_key": "test", "model": "scripted", "timeout": 5.0}
    return LlmReader(LlmSettings(**{**settings, **overrides}))


GROUNDED = [result("Ferritin", "45", "ng/mL", "30-400"), result("TSH", "2.1", "mIU/L")]
INVENTED = [result("Vitamin D, 25-Hydroxy", "33", "ng/mL"), result("TSH", "3.1", "mIU/L")]


def test_the_llm_reads_what_the_rules_could_not_and_invented_values_are_rejected() -> None:
    pages = extract(narrative_pdf())
    report = parse_pages(pages)
    assert report.markers == []  # the rules found nothing, so the whole page is asked about
    with fake_llm() as server:
        server.script = [answer(*GROUNDED, *INVENTED)]
        reader = _reader(server)
        add_answers(report, pages, ask(reader, report, pages))
    assert reader.calls == 1 and len(server.requests) == 1
    by_name = {m.result.raw_name: m for m in report.markers}
    assert set(by_name) == {"Ferritin", "TSH"}
    assert by_name["Ferritin"].result.value_numeric == Decimal("45")
    assert (by_name["Ferritin"].result.ref_range_low, by_name["Ferritin"].result.ref_range_high) == (30, 400)
    assert by_name["TSH"].result.value_numeric == Decimal("2.1")  # never the invented 3.1
    assert report.llm_rejected == 2
    assert {m.how for m in report.markers} == {"llm"}
    assert all(m.result.parse_confidence <= Decimal("0.7") for m in report.markers)
    assert by_name["Ferritin"].source.line == 4  # provenance: the line the value was found on
    request = server.requests[0]
    assert request["response_format"]["type"] == "json_schema"
    assert request["model"] == "scripted"


def test_identifiers_are_masked_in_what_is_sent() -> None:
    pages = extract(narrative_pdf())
    report = parse_pages(pages)
    with fake_llm() as server:
        server.script = [answer(*GROUNDED)]
        ask(_reader(server), report, pages)
        sent = server.sent_text()
    for identifier in ("DOE", "JOHN", "03/14/1975", "00991122", "555-201-3344"):
        assert identifier not in sent
    assert MASK in sent and "ferritin came back at 45 ng/mL" in sent
    assert "06/01/2026" in sent  # the collection date is not an identifier


def test_malformed_json_is_asked_again_then_fails_clearly() -> None:
    pages = extract(narrative_pdf())
    report = parse_pages(pages)
    with fake_llm() as server:
        server.script = [("answer", "{not json"), ("answer", '{"results": [{"name": 1}]}'), ("answer", "")]
        with pytest.raises(LlmError, match="3 times without valid JSON"):
            ask(_reader(server, attempts=3), report, pages)
        assert len(server.requests) == 3


def test_malformed_then_valid_answer_is_used() -> None:
    pages = extract(narrative_pdf())
    report = parse_pages(pages)
    with fake_llm() as server:
        server.script = [("answer", "Sure! Here are the results:"), answer(*GROUNDED)]
        add_answers(report, pages, ask(_reader(server), report, pages))
    assert len(report.markers) == 2


def test_a_model_that_does_not_answer_in_time_fails_with_the_timeout() -> None:
    pages = extract(narrative_pdf())
    report = parse_pages(pages)
    with fake_llm() as server:
        server.script = [("sleep", 3, "{}"), ("sleep", 3, "{}")]
        with pytest.raises(LlmError, match=r"did not answer within 0\.5 s"):
            ask(_reader(server, timeout=0.5, transport_retries=1), report, pages)
        assert len(server.requests) == 2  # the client's own retry, then the clear error


def test_an_endpoint_error_is_reported_without_report_text() -> None:
    pages = extract(narrative_pdf())
    report = parse_pages(pages)
    with fake_llm() as server:
        server.script = [("status", 400)]
        with pytest.raises(LlmError, match=r"refused the request \(HTTP 400\)") as caught:
            ask(_reader(server, transport_retries=0), report, pages)
    assert "ferritin" not in str(caught.value).lower()


def test_only_unresolved_lines_are_sent_when_the_rules_read_the_rest() -> None:
    from tests.parsers.labs.reports import quest

    pages = extract(quest().pdf)
    report = parse_pages(pages)
    with fake_llm() as server:
        server.script = [answer()]
        ask(_reader(server), report, pages)
        sent = server.sent_text()
    assert "For patients with diabetes" in sent
    assert "Glucose" not in sent and "Hemoglobin" not in sent


def test_masking_keeps_results_and_dates() -> None:
    text = "Patient: ROE, RICHARD  DOB: 01/02/1960  Collected: 01/15/2026\nGlucose 92 mg/dL 65-99\nCall 555-123-4567"
    masked = mask_identifiers(text)
    assert "ROE" not in masked and "01/02/1960" not in masked and "555-123-4567" not in masked
    assert "Collected: 01/15/2026" in masked and "Glucose 92 mg/dL 65-99" in masked
