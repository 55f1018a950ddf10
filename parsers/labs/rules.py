"""The deterministic lab-report parser: positioned words in, results with their provenance out.

Two readings, chosen per page region:

* **Columns.** A header line ("Test Name  Result  Flag  Units  Reference Range") gives each column's
  left edge and meaning; every word below is put in the column it starts in. A "Previous Result"
  column is read as such and dropped. A header that names the test column twice is two tables side by
  side, each read on its own. A line with only reference text continues the result above (multi-line
  reference tables, eGFR staging); a line with only a name is a heading, or the rest of the name above.
* **One line per result.** Without a header, a line reads "name value unit (range) flag".

Headings such as "Cumulative Results" or "Risk Categories" start text that is not results (history,
interpretive tables) until the next header. What could not be read confidently is kept as
`Unresolved` text with its page and line, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from db.labs import LabResult
from parsers.labs import values as V
from parsers.labs.extract import Line, Page, Word
from parsers.vocabulary.dictionary import BiomarkerDictionary, load_dictionary

OCR_CONFIDENCE_FACTOR = Decimal("0.85")

_HEADER_KINDS = (
    ("previous", ("previous", "prior", "last result")),
    ("range", ("reference", "range", "interval", "normal")),
    ("result", ("result", "value", "in range")),
    ("flag", ("flag",)),
    ("unit", ("unit",)),
    ("name", ("test", "analyte", "component", "investigation", "name", "parameter")),
    ("lab", ("lab", "site")),
)
_SKIP_HEADINGS = re.compile(
    r"cumulative|histor|previous results|trend|risk categor|interpretation|interpretive|comment|footnote|performing",
    re.IGNORECASE,
)
_FOOTER = re.compile(r"^(page\s+\d+\s+of\s+\d+|\d+\s*/\s*\d+)$", re.IGNORECASE)
_LAB_CODE = re.compile(r"\s+(0\d)$")
_ACCREDITATION = re.compile(r"\s*\*+$")
_METHOD_NOTE = re.compile(r"\s*\((?:IFCC|NGSP|DCCT|calc|calculated|direct|CKD-EPI[^)]*|MDRD)\)$", re.IGNORECASE)
_UNIT_LIKE = re.compile(r"^(?:%|[^\W\d_][\w/*^.\-]*|10[\^*eE]\d+/\w+|x10\S*)$")
_URINE_SECTION = re.compile(r"urin|\bUA\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Source:
    page: int
    line: int
    text: str
    column: str | None = None  # the table's left edge, for side-by-side tables
    ocr: bool = False

    def as_dict(self) -> dict[str, object]:
        return {"page": self.page, "line": self.line, "text": self.text, "column": self.column, "ocr": self.ocr}


@dataclass(frozen=True, slots=True)
class ParsedMarker:
    result: LabResult
    source: Source
    how: str = "rules"


@dataclass(frozen=True, slots=True)
class Unresolved:
    source: Source
    reason: str


@dataclass
class ParsedReport:
    markers: list[ParsedMarker] = field(default_factory=list)
    unresolved: list[Unresolved] = field(default_factory=list)
    lab_name: str | None = None
    collected_at: datetime | None = None
    reported_at: datetime | None = None
    specimen_id: str | None = None
    fasting: bool | None = None
    pages: int = 0
    ocr_pages: int = 0
    decimal_comma: bool = False
    llm_calls: int = 0
    llm_rejected: int = 0

    @property
    def results(self) -> list[LabResult]:
        return [m.result for m in self.markers]


@dataclass
class _Column:
    kind: str
    x0: float


@dataclass
class _Table:
    columns: list[_Column]
    start: float
    end: float

    def cells(self, words: list[Word]) -> dict[str, list[Word]]:
        cells: dict[str, list[Word]] = {}
        for word in words:
            if not self.start - 2 <= word.x0 < self.end - 2:
                continue
            kind = self.columns[0].kind
            for column in self.columns:
                if word.x0 >= column.x0 - 3:
                    kind = column.kind
            cells.setdefault(kind, []).append(word)
        return cells


def parse_pages(pages: list[Page], vocabulary: BiomarkerDictionary | None = None) -> ParsedReport:
    parser = _Parser(vocabulary or load_dictionary(), V.uses_decimal_comma("\n".join(p.text for p in pages)))
    report = ParsedReport(
        pages=len(pages), ocr_pages=sum(p.source == "ocr" for p in pages), decimal_comma=parser.decimal_comma
    )
    _read_metadata(report, pages)
    for page in pages:
        parser.page(page, report)
    return report


def marker_from_text(
    vocabulary: BiomarkerDictionary,
    decimal_comma: bool,
    source: Source,
    *,
    name: str,
    value: str,
    unit: str | None,
    reference: str | None,
    flag: str | None,
    how: str,
    confidence_factor: Decimal = Decimal(1),
) -> ParsedMarker | None:
    """A marker from fields read elsewhere (the LLM), through the same value, flag and name rules."""
    parsed = V.parse_value(value, decimal_comma)
    if parsed is None:
        return None
    parser = _Parser(vocabulary, decimal_comma)
    marker = parser._marker(name, parsed, V.parse_flag(flag or ""), False, unit, reference, None, source)
    if marker is None:
        return None
    confidence = round(Decimal(str(marker.result.parse_confidence)) * confidence_factor, 2)
    return replace(marker, result=replace(marker.result, parse_confidence=confidence), how=how)


class _Parser:
    def __init__(self, vocabulary: BiomarkerDictionary, decimal_comma: bool) -> None:
        self.vocabulary = vocabulary
        self.decimal_comma = decimal_comma

    def page(self, page: Page, report: ParsedReport) -> None:
        tables: list[_Table] | None = None
        skipping = False
        heading: dict[int, str | None] = {}
        last: dict[int, int] = {}  # table index -> index of its last marker in report.markers
        for line in page.lines:
            text = line.text.strip()
            if not text or _FOOTER.match(text):
                continue
            header = _header(line, page.width)
            if header is not None:
                tables, skipping, heading, last = header, False, {}, {}
                continue
            if _is_heading(line) and _SKIP_HEADINGS.search(text):
                skipping = True
                continue
            if skipping:
                continue
            if tables is None:
                self._one_line(page, line, report)
                continue
            for index, table in enumerate(tables):
                cells = table.cells(line.words)
                if cells:
                    self._row(page, line, table, index, cells, report, heading, last)

    # --- column mode -------------------------------------------------------------------------------

    def _row(
        self,
        page: Page,
        line: Line,
        table: _Table,
        index: int,
        cells: dict[str, list[Word]],
        report: ParsedReport,
        heading: dict[int, str | None],
        last: dict[int, int],
    ) -> None:
        def text(kind: str) -> str:
            return " ".join(w.text for w in cells.get(kind, ())).strip()

        source = Source(page.number, line.number, " ".join(w.text for ws in cells.values() for w in ws),
                        f"{table.start:.0f}" if table.start > 0 else None, page.source == "ocr")  # fmt: skip
        name, result, ref = text("name"), text("result"), text("range")
        if not result:
            previous = report.markers[last[index]] if index in last else None
            if name and not ref and previous is not None and _continues(previous.result.raw_name, cells["name"]):
                report.markers[last[index]] = self._rename(previous, f"{previous.result.raw_name} {name}")
            elif name and not ref and _is_heading(line, cells["name"]):
                heading[index] = name
            elif ref and not name and previous is not None:
                prior = previous.result
                joined = f"{prior.ref_range_text} / {ref}" if prior.ref_range_text else ref
                report.markers[last[index]] = replace(previous, result=replace(prior, ref_range_text=joined))
            elif re.search(r"\d", source.text):
                report.unresolved.append(Unresolved(source, "no result in the result column"))
            return
        if not name:
            report.unresolved.append(Unresolved(source, "a result with no test name"))
            return
        parsed = self._result_cell(cells.get("result", []))
        if parsed is None:
            report.unresolved.append(Unresolved(source, "the result is not a value"))
            return
        value, flag, bold, cell_unit = parsed
        if text("flag"):
            flag = V.parse_flag(text("flag")) or flag
        unit = text("unit") or cell_unit
        marker = self._marker(name, value, flag, bold, unit, ref or None, heading.get(index), source)
        if marker is not None and marker.result.lab_code is None and text("lab"):
            marker = replace(marker, result=replace(marker.result, lab_code=text("lab")))
        if marker is None:
            report.unresolved.append(Unresolved(source, "the test name is not a marker name"))
            return
        last[index] = len(report.markers)
        report.markers.append(marker)

    def _result_cell(self, words: list[Word]) -> tuple[V.Value, str | None, bool, str | None] | None:
        """Value, flag, bold, and a unit when the lab prints it in the result cell ("141 mmol/L")."""
        texts = [w.text for w in words]
        whole = V.parse_value(" ".join(texts), self.decimal_comma)
        if whole is not None:
            return whole, None, any(w.bold for w in words), None
        for cut in range(len(texts) - 1, 0, -1):
            value = V.parse_value(" ".join(texts[:cut]), self.decimal_comma)
            if value is None:
                continue
            rest, unit = texts[cut:], None
            if V.parse_flag(rest[0]) is None and _UNIT_LIKE.match(rest[0]):
                unit, rest = rest[0], rest[1:]
            flags = [V.parse_flag(t) for t in rest]
            if all(flags):
                return value, flags[0] if flags else None, any(w.bold for w in words[:cut]), unit
        return None

    # --- one-line mode -----------------------------------------------------------------------------

    def _one_line(self, page: Page, line: Line, report: ParsedReport) -> None:
        match = _LINE_RE.match(" ".join(line.text.split()))
        if not match:
            return
        source = Source(page.number, line.number, line.text, None, page.source == "ocr")
        value = V.parse_value(match.group("value"), self.decimal_comma)
        if value is None:
            return
        flag = V.parse_flag(match.group("flag1") or match.group("flag2") or "")
        ref = match.group("range")
        ref = ref.strip().strip("()").strip() if ref else None
        unit = match.group("unit")
        name = match.group("name").strip().rstrip(":").strip()
        if not (self.vocabulary.match(name, unit).matched or (unit and ref)):
            return  # prose that happens to end in a number, not a result
        bold = any(w.bold for w in line.words)
        marker = self._marker(name, value, flag, bold, unit, ref, None, source)
        if marker is not None:
            report.markers.append(marker)

    # --- shared ------------------------------------------------------------------------------------

    def _marker(
        self,
        printed: str,
        value: V.Value,
        flag: str | None,
        bold: bool,
        unit: str | None,
        ref: str | None,
        sub_panel: str | None,
        source: Source,
    ) -> ParsedMarker | None:
        name, lab_code = _clean_name(printed)
        if not re.search(r"[A-Za-z]", name):
            return None
        first_ref = ref.split(" / ")[0] if ref else None
        if first_ref and unit and first_ref.endswith(f" {unit}"):
            first_ref = first_ref[: -len(unit)].strip()  # "136 - 145 mmol/L" when the lab repeats the unit
        low, high = V.parse_range(first_ref, self.decimal_comma)
        if flag == V.GLYPH or (flag is None and bold):
            # A glyph means abnormal; bold alone is only read as a flag when the range agrees.
            flag = V.direction(value.number, low, high) or ("ABNORMAL" if flag == V.GLYPH else None)
        slug, confidence = self._resolve(name, unit, sub_panel)
        if source.ocr:
            confidence *= OCR_CONFIDENCE_FACTOR
        raw_name = name if slug or not (sub_panel and _URINE_SECTION.search(sub_panel)) else f"Urine {name}"
        result = LabResult(
            raw_name=raw_name,
            value_numeric=value.number,
            value_text=value.text,
            unit=unit,
            ref_range_low=low,
            ref_range_high=high,
            ref_range_text=ref,
            flag=flag,
            sub_panel=sub_panel,
            lab_code=lab_code,
            parse_confidence=round(confidence, 2),
            slug=slug,
        )
        return ParsedMarker(result, source)

    def _resolve(self, name: str, unit: str | None, sub_panel: str | None) -> tuple[str | None, Decimal]:
        # In a urinalysis section a bare "Glucose" is urine glucose, never the blood marker.
        if sub_panel and _URINE_SECTION.search(sub_panel):
            match = self.vocabulary.match(f"Urine {name}", unit)
        else:
            match = self.vocabulary.match(name, unit)
        confidence = Decimal(str(match.confidence))
        if match.biomarker is None and _METHOD_NOTE.search(name):
            # "(IFCC)", "(calc)": a method printed after the name; the name without it is tried, less surely.
            slug, bare = self._resolve(_METHOD_NOTE.sub("", name), unit, sub_panel)
            if slug is not None:
                return slug, bare * Decimal("0.9")
        if match.biomarker is None:
            return None, Decimal("0.5")
        return match.biomarker.slug, confidence

    def _rename(self, marker: ParsedMarker, name: str) -> ParsedMarker:
        result = marker.result
        slug, confidence = self._resolve(name, result.unit, result.sub_panel)
        if slug is None and result.slug is not None:
            return marker  # the longer name is less certain than the one we had
        text = f"{marker.source.text} {name.split()[-1]}"
        return replace(
            marker,
            result=replace(result, raw_name=name, slug=slug, parse_confidence=round(confidence, 2)),
            source=replace(marker.source, text=text),
        )


_VALUE = r"(?:<=|>=|<|>|≤|≥)?\s?\d[\d.,]*|" + "|".join(re.escape(q) for q in V.QUALITATIVE)
_LINE_RE = re.compile(
    rf"^(?P<name>(?:\d+-)?[^\d\s(<>].*?)\s*:?\s+(?P<value>{_VALUE})"
    r"(?:\s+(?P<flag1>H|L|HH|LL|\*|↑|↓))?"
    r"(?:\s+(?P<unit>(?!\()[^\s()]+))?"
    r"(?:\s+(?P<range>\([^)]*\)))?"
    r"(?:\s+(?P<flag2>H|L|HH|LL|A|\*|↑|↓))?$",
    re.IGNORECASE,
)


def _clean_name(printed: str) -> tuple[str, str | None]:
    name = _ACCREDITATION.sub("", printed.strip())
    code = _LAB_CODE.search(name)
    if code:
        return name[: code.start()].strip(), code.group(1)
    return name, None


def _continues(previous: str, words: list[Word]) -> bool:
    first = words[0].text
    return previous.rstrip().endswith((",", "-", "/")) or first.startswith("(") or first[:1].islower()


def _is_heading(line: Line, words: list[Word] | None = None) -> bool:
    words = words or line.words
    letters = "".join(ch for w in words for ch in w.text if ch.isalpha())
    return all(w.bold for w in words) or (len(letters) > 3 and letters.isupper())


def _header(line: Line, page_width: float) -> list[_Table] | None:
    """The tables a header line announces, or None when the line is not a header."""
    phrases: list[list[Word]] = []
    for word in line.words:
        if phrases and word.x0 - phrases[-1][-1].x1 < 6:
            phrases[-1].append(word)
        else:
            phrases.append([word])
    columns: list[_Column] = []
    for phrase in phrases:
        text = " ".join(w.text for w in phrase).casefold()
        kind = next((k for k, keys in _HEADER_KINDS if any(key in text for key in keys)), None)
        if kind is None:
            return None  # a header holds only header words
        columns.append(_Column(kind, phrase[0].x0))
    kinds = [c.kind for c in columns]
    if "name" not in kinds or "result" not in kinds or len(columns) < 3:
        return None
    starts = [i for i, c in enumerate(columns) if c.kind == "name"]
    tables = []
    for n, start in enumerate(starts):
        stop = starts[n + 1] if n + 1 < len(starts) else len(columns)
        group = columns[start:stop]
        end = columns[stop].x0 if stop < len(columns) else page_width + 1
        tables.append(_Table(group, 0 if n == 0 else group[0].x0, end))
    return tables


# --- report metadata -------------------------------------------------------------------------------------

_COLLECTED = re.compile(r"(?:date collected|collection date|collected|sample taken|specimen collected)\s*:?\s*", re.I)
_REPORTED = re.compile(r"(?:date reported|report date|reported|report date)\s*:?\s*", re.I)
_SPECIMEN = re.compile(r"(?:specimen id|specimen|sample no\.?|accession)\s*:\s*([A-Z0-9][A-Z0-9-]+)", re.I)
_FASTING = re.compile(r"fasting\s*:\s*(yes|no|y|n)\b", re.I)
_KNOWN_LABS = (("quest diagnostics", "Quest Diagnostics"), ("labcorp", "Labcorp"))


def _read_metadata(report: ParsedReport, pages: list[Page]) -> None:
    if not pages:
        return
    text = "\n".join(line.text for line in pages[0].lines[:15])
    for pattern, attribute in ((_COLLECTED, "collected_at"), (_REPORTED, "reported_at")):
        match = pattern.search(text)
        if match:
            setattr(report, attribute, V.parse_date(text[match.end() : match.end() + 20]))
    if match := _SPECIMEN.search(text):
        report.specimen_id = match.group(1)
    if match := _FASTING.search(text):
        report.fasting = match.group(1).lower().startswith("y")
    folded = text.casefold()
    report.lab_name = next((name for key, name in _KNOWN_LABS if key in folded), None)
    if report.lab_name is None and pages[0].lines:
        first = pages[0].lines[0].text.strip()
        if re.search(r"lab|diagnostic|hospital|clinic|patholog", first, re.I):
            report.lab_name = first
