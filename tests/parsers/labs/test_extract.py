"""Extraction: text pages read as positioned words, pages without text read by OCR, broken files named."""

from __future__ import annotations

import io
import sys

import pytest
from reportlab.lib import pdfencrypt
from reportlab.pdfgen import canvas

from parsers.labs.extract import PdfError, extract
from tests.parsers.labs.reports import quest, scanned


def _pdf(encrypt=None) -> bytes:
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, encrypt=encrypt)
    page.drawString(72, 700, "Glucose 92 mg/dL 65-99")
    page.save()
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "kind", "says"),
    [
        (b"", "empty", "empty"),
        (b"GIF89a" + b"\0" * 100, "not_pdf", "not a PDF"),
        (_pdf(pdfencrypt.StandardEncryption("secret", ownerPassword="owner")), "encrypted", "password-protected"),
        (_pdf()[:-40], "truncated", "incomplete"),
        (_pdf()[: len(_pdf()) // 2] + b"\n%%EOF\n", "truncated", "incomplete"),
        (_pdf()[:9] + b"\0" * 900 + b"\n%%EOF\n", "corrupt", "damaged"),
    ],
    ids=["empty", "not-a-pdf", "encrypted", "end-cut-off", "middle-cut-out", "garbage-inside"],
)
def test_a_broken_pdf_gets_a_specific_error(data, kind, says) -> None:
    with pytest.raises(PdfError, match=says) as caught:
        extract(data)
    assert caught.value.kind == kind


def test_a_pdf_protected_only_against_printing_is_still_read() -> None:
    pages = extract(_pdf(pdfencrypt.StandardEncryption("", ownerPassword="owner", canPrint=0)))
    assert pages[0].lines[0].text == "Glucose 92 mg/dL 65-99"


def test_text_pages_give_words_in_lines_with_positions() -> None:
    pages = extract(quest().pdf)
    assert [p.number for p in pages] == [1, 2]
    assert {p.source for p in pages} == {"text"}
    glucose = next(line for line in pages[0].lines if line.words[0].text == "Glucose")
    assert [w.text for w in glucose.words] == ["Glucose", "92", "mg/dL", "65-99", "EZ"]
    assert glucose.words[0].x0 < glucose.words[1].x0 < glucose.words[2].x0
    heading = next(line for line in pages[0].lines if line.text.startswith("COMPREHENSIVE"))
    assert all(w.bold for w in heading.words)


def test_a_page_without_text_is_read_by_ocr_with_no_download() -> None:
    connections: list[str] = []

    def watch(event: str, args: tuple) -> None:
        # Any name lookup or connection would be a model download (there is no network to reach anyway).
        if event in {"socket.connect", "socket.getaddrinfo", "urllib.Request"}:
            connections.append(event)

    sys.addaudithook(watch)
    report = scanned()
    pages = extract(report.pdf)
    assert connections == []
    (page,) = pages
    assert page.source == "ocr"
    by_name = {line.words[0].text: [w.text for w in line.words] for line in page.lines}
    assert by_name["Glucose"][:3] == ["Glucose", "104", "H"]
    assert by_name["Sodium"][:2] == ["Sodium", "139"]
    assert "<0.5" in by_name["TSH"]
