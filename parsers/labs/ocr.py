"""OCR for pages with no text layer: render with pypdfium2, read with RapidOCR's bundled ONNX models.

The `rapidocr` wheel carries its detection, classification and recognition models, and its default
configuration names exactly those, so reading a page never downloads anything (a test asserts that no
connection is attempted). OCR returns phrases with boxes; each phrase is split into words whose x
positions are spread over the box by character count, in PDF points, like pdfplumber's words.
"""

from __future__ import annotations

import functools
import os
from typing import Any

from parsers.labs.extract import Word

# 200 dpi reads 8-pt lab print cleanly; 300 dpi costs twice the time for no gain on such pages.
RENDER_DPI = int(os.environ.get("VITALIS_OCR_DPI", "200"))


@functools.cache
def _engine() -> Any:
    from rapidocr import RapidOCR

    return RapidOCR(params={"Global.log_level": "error"})


def ocr_page(data: bytes, number: int) -> list[Word]:
    import pypdfium2 as pdfium

    scale = RENDER_DPI / 72
    pdf = pdfium.PdfDocument(data)
    try:
        image = pdf[number - 1].render(scale=scale).to_pil()
    finally:
        pdf.close()
    result = _engine()(image)
    words: list[Word] = []
    for box, text in zip(result.boxes if result.boxes is not None else [], result.txts or (), strict=False):
        xs = [float(p[0]) / scale for p in box]
        ys = [float(p[1]) / scale for p in box]
        words.extend(_split(text, min(xs), max(xs), min(ys), max(ys)))
    return words


def _split(phrase: str, x0: float, x1: float, top: float, bottom: float) -> list[Word]:
    parts = phrase.split()
    if not parts:
        return []
    per_char = (x1 - x0) / max(len(phrase), 1)
    words, cursor = [], 0
    for part in parts:
        start = phrase.index(part, cursor)
        cursor = start + len(part)
        words.append(Word(part, x0 + start * per_char, x0 + cursor * per_char, top, bottom))
    return words
