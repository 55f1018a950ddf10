"""PDF bytes to pages of positioned words, lines and tables, whether the page has a text layer or not.

Pages with a text layer are read with pdfplumber. Pages without one (scans, phone photos, portals that
draw every glyph as a vector outline) are rendered with pypdfium2 and read by OCR (`parsers.labs.ocr`)
into the same `Word`s, so nothing downstream cares where the words came from.

A file that cannot be read gets a `PdfError` whose `kind` says why (empty, not_pdf, encrypted,
truncated, corrupt), in words a person can act on, never quoting the file's content.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

# Fewer characters than this on a page means there is no usable text layer: OCR reads it instead.
MIN_TEXT_CHARS = 12
_EOF_WINDOW = 2048


class PdfError(ValueError):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True, slots=True)
class Word:
    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    bold: bool = False


@dataclass(slots=True)
class Line:
    number: int  # 1-based, top to bottom on its page
    words: list[Word]

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def top(self) -> float:
        return min(w.top for w in self.words)

    @property
    def bottom(self) -> float:
        return max(w.bottom for w in self.words)


@dataclass(slots=True)
class Page:
    number: int  # 1-based
    width: float
    height: float
    words: list[Word]
    tables: list[list[list[str | None]]] = field(default_factory=list)
    source: str = "text"  # "text" or "ocr"
    lines: list[Line] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.lines:
            self.lines = group_lines(self.words)

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


def group_lines(words: Sequence[Word]) -> list[Line]:
    """Words whose vertical middles fall inside one another's extent are one printed line."""
    rows: list[list[Word]] = []
    for word in sorted(words, key=lambda w: (w.top, w.x0)):
        middle = (word.top + word.bottom) / 2
        if rows:
            last = rows[-1]
            top = min(w.top for w in last)
            bottom = max(w.bottom for w in last)
            if top <= middle <= bottom:
                last.append(word)
                continue
        rows.append([word])
    return [Line(i, sorted(row, key=lambda w: w.x0)) for i, row in enumerate(rows, start=1)]


OcrFunction = Callable[[bytes, int], list[Word]]
Progress = Callable[[int, int], None]  # (pages read, pages in the file)


def extract(data: bytes, *, ocr: OcrFunction | None = None, progress: Progress | None = None) -> list[Page]:
    """Every page's words; pages with no text layer go through `ocr` (default: the bundled OCR engine).

    `progress` is told after each page, so a long report (OCR takes seconds a page) can be followed."""
    _check_envelope(data)
    import pdfplumber
    from pdfplumber.utils.exceptions import PdfminerException

    pages: list[Page] = []
    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            total = len(pdf.pages)
            for number, page in enumerate(pdf.pages, start=1):
                pages.append(_read_page(data, number, page, ocr))
                if progress is not None:
                    progress(number, total)
    except PdfminerException as exc:
        raise _classify(exc) from None
    except PdfError:
        raise
    except Exception as exc:  # pdfminer raises many kinds on damaged files; all mean the same to a person
        raise PdfError("corrupt", f"the PDF is damaged and could not be read ({type(exc).__name__})") from None
    if not pages:
        raise PdfError("corrupt", "the PDF has no readable pages")
    return pages


def _read_page(data: bytes, number: int, page: Any, ocr: OcrFunction | None) -> Page:  # page: pdfplumber's
    if len(page.chars) < MIN_TEXT_CHARS:
        return _ocr_page(data, number, page.width, page.height, ocr)
    words = [
        Word(w["text"], w["x0"], w["x1"], w["top"], w["bottom"], "bold" in w["fontname"].lower())
        for w in page.extract_words(extra_attrs=["fontname"], x_tolerance=2)
    ]
    return Page(number, page.width, page.height, words, page.extract_tables())


def _check_envelope(data: bytes) -> None:
    if not data:
        raise PdfError("empty", "the file is empty")
    if b"%PDF-" not in data[:1024]:
        raise PdfError("not_pdf", "the file is not a PDF")
    if b"%%EOF" not in data[-_EOF_WINDOW:]:
        raise PdfError("truncated", "the PDF is incomplete (its end is missing): upload the whole file again")


def _classify(exc: Exception) -> PdfError:
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect

    cause = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else exc.__context__
    if isinstance(cause, PDFPasswordIncorrect | PDFEncryptionError):
        return PdfError("encrypted", "the PDF is password-protected: save an unprotected copy and upload that")
    if "EOF" in str(exc):
        return PdfError("truncated", "the PDF is incomplete (it ends early): upload the whole file again")
    return PdfError("corrupt", "the PDF is damaged and could not be read")


def _ocr_page(data: bytes, number: int, width: float, height: float, ocr: OcrFunction | None) -> Page:
    if ocr is None:
        from parsers.labs.ocr import ocr_page

        ocr = ocr_page
    return Page(number, width, height, ocr(data, number), source="ocr")
