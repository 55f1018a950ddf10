"""Lab-report PDFs made with reportlab, each with the values it really contains beside it.

Layouts follow what labs print (column order, headings, footnotes, previous-result columns,
interpretive tables) and carry the traps the parser must not fall into. `Truth` rows are what a careful
person would copy off the page: the current results only, flags as printed (or derived from a glyph or
bold type and the printed range), values with a comparator kept as text.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from reportlab.lib.pagesizes import letter
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

_DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


@dataclass(frozen=True)
class Truth:
    name: str  # as printed, without decorations such as an accreditation mark or a lab code
    value: str  # "92", "<0.5", "NEGATIVE" (decimal point, no thousands separator)
    unit: str | None
    flag: str | None = None
    slug: str | None = None  # the dictionary marker, None for a marker the dictionary does not know
    page: int = 1

    @property
    def number(self) -> Decimal | None:
        text = self.value.lstrip("<>≤≥=")
        try:
            return Decimal(text)
        except ArithmeticError:
            return None


@dataclass
class Report:
    name: str
    pdf: bytes
    truth: list[Truth]
    meta: dict[str, str] = field(default_factory=dict)
    ocr_pages: int = 0


@dataclass
class _Cell:
    x: float
    text: str
    bold: bool = False
    size: float = 9


class _Doc:
    """A tiny page writer: rows of cells at fixed x positions, top to bottom."""

    def __init__(self, unicode_font: bool = False) -> None:
        self.buffer = io.BytesIO()
        self.canvas = canvas.Canvas(self.buffer, pagesize=letter, invariant=1)
        self.font, self.bold_font = "Helvetica", "Helvetica-Bold"
        if unicode_font:
            self.font = self.bold_font = _unicode_font()
        self.y = 740.0
        self.page = 1

    def row(self, *cells: _Cell, gap: float = 13) -> None:
        for cell in cells:
            self.canvas.setFont(self.bold_font if cell.bold else self.font, cell.size)
            self.canvas.drawString(cell.x, self.y, cell.text)
        self.y -= gap

    def text(self, x: float, text: str, *, bold: bool = False, size: float = 9, gap: float = 13) -> None:
        self.row(_Cell(x, text, bold, size), gap=gap)

    def next_page(self, footer: str | None = None) -> None:
        if footer:
            self.canvas.setFont(self.font, 7)
            self.canvas.drawString(500, 30, footer)
        self.canvas.showPage()
        self.y = 740.0
        self.page += 1

    def finish(self, footer: str | None = None) -> bytes:
        if footer:
            self.canvas.setFont(self.font, 7)
            self.canvas.drawString(500, 30, footer)
        self.canvas.save()
        return self.buffer.getvalue()


def _unicode_font() -> str:
    if "VitalisSans" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("VitalisSans", str(_DEJAVU)))
    return "VitalisSans"


MICRO = "μ" if _DEJAVU.exists() else "µ"  # Greek mu where a font has it, else the micro sign


# --- Quest-like: Test Name / Result / Flag / Units / Reference Range / Lab, two pages, footnotes -----------

_QUEST_COLS = (40, 250, 300, 340, 420, 540)


def _quest_row(doc: _Doc, name: str, value: str, flag: str, unit: str, ref: str, lab: str = "EZ") -> None:
    doc.row(*(_Cell(x, t) for x, t in zip(_QUEST_COLS, (name, value, flag, unit, ref, lab), strict=True) if t))


def quest() -> Report:
    doc = _Doc()
    doc.text(40, "Quest Diagnostics Incorporated", bold=True, size=12, gap=16)
    doc.text(40, "Patient: DOE, JOHN    DOB: 03/14/1975    Sex: M    Phone: 555-201-3344")
    doc.text(40, "Specimen: WX123456Q    Requisition: 0012345")
    doc.text(40, "Collected: 01/15/2026 08:30    Received: 01/15/2026 10:02    Reported: 01/17/2026 14:02")
    doc.text(40, "Fasting: YES", gap=20)
    header = ("Test Name", "Result", "Flag", "Units", "Reference Range", "Lab")
    doc.row(*(_Cell(x, t, bold=True) for x, t in zip(_QUEST_COLS, header, strict=True)), gap=16)
    doc.text(40, "COMPREHENSIVE METABOLIC PANEL", bold=True)
    truth: list[Truth] = []
    rows_p1 = [
        ("Glucose", "92", "", "mg/dL", "65-99", "glucose"),
        ("Urea Nitrogen (BUN)", "18", "", "mg/dL", "7-25", "bun"),
        ("Creatinine", "1.32", "H", "mg/dL", "0.60-1.29", "creatinine"),
        ("Sodium", "140", "", "mmol/L", "135-146", "sodium"),
        ("Potassium", "5.4", "H", "mmol/L", "3.5-5.3", "potassium"),
        ("Calcium", "9.6", "", "mg/dL", "8.6-10.3", "calcium"),
        ("Albumin", "4.5", "", "g/dL", "3.6-5.1", "albumin"),
        ("AST", "22", "", "U/L", "10-35", "ast"),
        ("ALT", "41", "", "U/L", "9-46", "alt"),
    ]
    for name, value, flag, unit, ref, slug in rows_p1:
        _quest_row(doc, name, value, flag, unit, ref)
        truth.append(Truth(name, value, unit, flag or None, slug))
    # eGFR: the reference is a staging table over several lines; only the current value is a result.
    _quest_row(doc, "eGFR", "62", "", "mL/min/1.73m2", "> OR = 60")
    truth.append(Truth("eGFR", "62", "mL/min/1.73m2", None, "egfr"))
    for line in ("Stage 3a: 45-59", "Stage 3b: 30-44"):
        doc.text(_QUEST_COLS[4], line)
    doc.text(40, "LIPID PANEL, STANDARD", bold=True)
    lipids = [
        # The lone asterisk after the name is an accreditation mark, not a flag.
        ("Cholesterol, Total *", "Cholesterol, Total", "212", "H", "mg/dL", "<200", "cholesterol_total"),
        ("HDL Cholesterol", "HDL Cholesterol", "48", "", "mg/dL", "> OR = 40", "hdl_cholesterol"),
        ("Triglycerides", "Triglycerides", "168", "H", "mg/dL", "<150", "triglycerides"),
        ("LDL-Cholesterol", "LDL-Cholesterol", "135", "H", "mg/dL", "<100", "ldl_cholesterol"),
        ("Non HDL Cholesterol", "Non HDL Cholesterol", "164", "H", "mg/dL", "<130", "non_hdl_cholesterol"),
    ]
    for printed, name, value, flag, unit, ref, slug in lipids:
        _quest_row(doc, printed, value, flag, unit, ref)
        truth.append(Truth(name, value, unit, flag or None, slug))
    doc.y -= 6
    for note in (
        "For patients with diabetes plus 1 major ASCVD risk factor, treating to a non-HDL-C goal",
        "of <100 mg/dL (LDL-C of <70 mg/dL) is considered a therapeutic option.",
        "Desirable range <100 mg/dL for primary prevention; <70 mg/dL for patients with CHD.",
    ):
        doc.text(40, note, size=7, gap=10)
    page1 = doc.next_page("Page 1 of 3")  # noqa: F841 - a footer that overstates the page count

    doc.row(*(_Cell(x, t, bold=True) for x, t in zip(_QUEST_COLS, header, strict=True)), gap=16)
    doc.text(40, "CBC (INCLUDES DIFF/PLT)", bold=True)
    cbc = [
        ("White Blood Cell Count", "6.1", "", "Thousand/uL", "3.8-10.8", "wbc"),
        ("Hemoglobin", "13.1", "L", "g/dL", "13.2-17.1", "hemoglobin"),
        ("Platelet Count", "245", "", "Thousand/uL", "140-400", "platelets"),
        ("Absolute Neutrophils", "3456", "", "cells/uL", "1500-7800", "neutrophils_absolute"),
        ("Immature Granulocytes", "0.3", "", "%", "0.0-0.5", None),
    ]
    for name, value, flag, unit, ref, slug in cbc:
        printed = "3,456" if value == "3456" else value
        _quest_row(doc, name, printed, flag, unit, ref)
        truth.append(Truth(name, value, unit, flag or None, slug, page=2))
    # A name that wraps onto a second line under itself.
    _quest_row(doc, "Vitamin D, 25-Hydroxy,", "22", "L", "ng/mL", "30-100")
    doc.text(40, "Total")
    truth.append(Truth("Vitamin D, 25-Hydroxy, Total", "22", "ng/mL", "L", "vitamin_d_25oh_total", page=2))
    _quest_row(doc, "hs-CRP", "<0.5", "", "mg/L", "<1.0")
    truth.append(Truth("hs-CRP", "<0.5", "mg/L", None, "hs_crp", page=2))
    _quest_row(doc, "Lipase", "See note", "", "U/L", "7-60")
    truth.append(Truth("Lipase", "See note", "U/L", None, "lipase", page=2))
    doc.text(40, "URINALYSIS, COMPLETE", bold=True)
    urine = [
        ("Color", "YELLOW", "", "", "YELLOW", "urine_color"),
        ("Specific Gravity", "1.018", "", "", "1.001-1.035", "urine_specific_gravity"),
        ("pH", "6.0", "", "", "5.0-8.0", "urine_ph"),
        ("Glucose", "NEGATIVE", "", "", "NEGATIVE", "urine_glucose"),
        ("Protein", "NEGATIVE", "", "", "NEGATIVE", "urine_protein"),
    ]
    for name, value, flag, unit, ref, slug in urine:
        _quest_row(doc, name, value, flag, unit, ref)
        truth.append(Truth(name, value, unit or None, flag or None, slug, page=2))
    doc.y -= 8
    doc.text(40, "Performing Site:", bold=True, size=7, gap=10)
    doc.text(40, "EZ QUEST DIAGNOSTICS-WOOD DALE, 1355 MITTEL BLVD, WOOD DALE, IL 60191-1024", size=7, gap=10)
    pdf = doc.finish("Page 2 of 3")
    meta = {"lab_name": "Quest Diagnostics", "collected": "2026-01-15T08:30", "specimen": "WX123456Q", "fasting": "yes"}
    return Report("quest", pdf, truth, meta)


# --- Labcorp-like: Test / Current Result and Flag / Previous Result and Date / Units / Reference Interval ----

_LC_COLS = (40, 190, 300, 430, 505)


def labcorp() -> Report:
    doc = _Doc()
    doc.text(40, "labcorp", bold=True, size=14, gap=18)
    doc.text(40, "Patient: SMITH, JANE A    DOB: 07/22/1988    Patient ID: 88812345")
    doc.text(40, "Specimen ID: 123-456-7890-0    Account Number: 11223344")
    doc.text(40, "Date Collected: 02/03/2026    Date Received: 02/03/2026    Date Reported: 02/05/2026")
    doc.text(40, "Fasting: No", gap=20)
    head = ("Test", "Current Result and Flag", "Previous Result and Date", "Units", "Reference Interval")
    doc.row(*(_Cell(x, t, bold=True, size=8) for x, t in zip(_LC_COLS, head, strict=True)), gap=16)
    truth: list[Truth] = []
    rows = [
        # name as printed, truth name, current, flag printed, previous, units, interval, slug, truth flag
        ("Glucose 01", "Glucose", "105", "High", "98 01/10/2025", "mg/dL", "70-99", "glucose", "H"),
        ("BUN 01", "BUN", "14", "", "15 01/10/2025", "mg/dL", "6-24", "bun", None),
        ("Creatinine 01", "Creatinine", "0.95", "", "0.91 01/10/2025", "mg/dL", "0.76-1.27", "creatinine", None),
        ("eGFR", "eGFR", "98", "", "102 01/10/2025", "mL/min/1.73m2", ">59", "egfr", None),
        ("TSH 02", "TSH", "2.150", "", "1.980 01/10/2025", "uIU/mL", "0.450-4.500", "tsh", None),
        # The not sign is the lab's glyph for an abnormal value; the range says which way.
        ("Ferritin 01", "Ferritin", "412", "¬", "380 01/10/2025", "ng/mL", "30-400", "ferritin", "H"),
        ("Vitamin D, 25-Hydroxy", "Vitamin D, 25-Hydroxy", "28.4", "Low", "31.0", "ng/mL", "30.0-100.0",
         "vitamin_d_25oh_total", "L"),
    ]  # fmt: skip
    for printed, name, value, flag, prev, unit, ref, slug, true_flag in rows:
        current = f"{value} {flag}".strip()
        cells = (printed, current, prev, unit, ref)
        doc.row(*(_Cell(x, t) for x, t in zip(_LC_COLS, cells, strict=True) if t))
        truth.append(Truth(name, value, unit, true_flag, slug))
    doc.row(_Cell(40, "Hemoglobin A1c"), _Cell(190, "5.9 High"), _Cell(300, "5.6 01/10/2025"), _Cell(430, "%"),
            _Cell(505, "4.8-5.6"))  # fmt: skip
    truth.append(Truth("Hemoglobin A1c", "5.9", "%", "H", "hba1c"))
    for line in ("Prediabetes: 5.7 - 6.4", "Diabetes: >6.4", "Glycemic control: <7.0"):
        doc.text(505, line, size=7, gap=10)
    doc.text(40, "CBC With Differential/Platelet", bold=True)
    cbc = [
        ("Neutrophils", "58", "%", "Not Estab.", "neutrophils_pct"),
        ("Lymphs", "30", "%", "Not Estab.", "lymphocytes_pct"),
        ("Monocytes", "8", "%", "Not Estab.", "monocytes_pct"),
        ("Neutrophils (Absolute)", "3.5", "x10E3/uL", "1.4-7.0", "neutrophils_absolute"),
        ("Lymphs (Absolute)", "1.8", "x10E3/uL", "0.7-3.1", "lymphocytes_absolute"),
        ("Monocytes(Absolute)", "0.5", "x10E3/uL", "0.1-0.9", "monocytes_absolute"),
    ]
    for name, value, unit, ref, slug in cbc:
        doc.row(_Cell(40, name), _Cell(190, value), _Cell(430, unit), _Cell(505, ref))
        truth.append(Truth(name, value, unit, None, slug))
    doc.y -= 10
    # A history table: old values beside their dates, never current results.
    doc.text(40, "Cumulative Results", bold=True)
    doc.row(_Cell(40, "Date"), _Cell(140, "Glucose"), _Cell(220, "Ferritin"), _Cell(300, "TSH"))
    for date, g, f, t in (("01/10/2025", "98", "380", "1.980"), ("06/02/2024", "95", "350", "2.210")):
        doc.row(_Cell(40, date), _Cell(140, g), _Cell(220, f), _Cell(300, t))
    doc.y -= 10
    _history_chart(doc, "Glucose Trend (mg/dL)", [("06/2024", 95), ("01/2025", 98), ("02/2026", 105)])
    pdf = doc.finish("Page 1 of 1")
    meta = {"lab_name": "Labcorp", "collected": "2026-02-03", "specimen": "123-456-7890-0", "fasting": "no"}
    return Report("labcorp", pdf, truth, meta)


def _history_chart(doc: _Doc, title: str, points: list[tuple[str, int]]) -> None:
    """A small line chart of earlier values: axis labels and point labels are numbers, none a result."""
    doc.text(40, title, bold=True, size=8)
    top, bottom, left = doc.y, doc.y - 80, 80
    c = doc.canvas
    c.line(left, bottom, left, top)
    c.line(left, bottom, left + 240, bottom)
    c.setFont(doc.font, 7)
    for value in (80, 100, 120):
        y = bottom + (value - 80) * 2
        c.drawString(left - 20, y - 2, str(value))
    previous = None
    for i, (label, value) in enumerate(points):
        x, y = left + 40 + i * 80, bottom + (value - 80) * 2
        c.circle(x, y, 2, fill=1)
        c.drawString(x - 4, y + 5, str(value))
        c.drawString(x - 12, bottom - 10, label)
        if previous:
            c.line(*previous, x, y)
        previous = (x, y)
    doc.y = bottom - 24


# --- international: one line per result, SI units, decimal commas -------------------------------------------


def international() -> Report:
    doc = _Doc(unicode_font=_DEJAVU.exists())
    doc.text(40, "Laboratoire Central d'Analyses", bold=True, size=12, gap=16)
    doc.text(40, "Patient: MÜLLER, ANNA    Date of birth: 02.05.1969")
    doc.text(40, "Sample no.: 2026-0115-0042    Sample taken: 15.01.2026 08:30    Report date: 16.01.2026", gap=20)
    lines = [
        ("Haemoglobin", "135", "g/L", "(130 - 170)", "", "hemoglobin"),
        ("Leukocytes", "7,2", "10^9/L", "(4,0 - 10,0)", "", "wbc"),
        ("Platelets", "210", "10^9/L", "(150 - 400)", "", "platelets"),
        ("Glucose", "5,9", "mmol/L", "(3,9 - 5,5)", "H", "glucose"),
        ("Creatinine", "88", f"{MICRO}mol/L", "(62 - 106)", "", "creatinine"),
        ("Cholesterol total", "5,2", "mmol/L", "(< 5,0)", "H", "cholesterol_total"),
        ("HDL cholesterol", "1,3", "mmol/L", "(> 1,0)", "", "hdl_cholesterol"),
        ("Triglycerides", "1,8", "mmol/L", "(< 1,7)", "H", "triglycerides"),
        # mU/L is what this lab prints for TSH; the dictionary lists mIU/L and uIU/mL, so it is flagged.
        ("TSH", "2,15", "mU/L", "(0,27 - 4,20)", "", "tsh"),
        ("Vitamin B12", "350", "pmol/L", "(145 - 569)", "", "vitamin_b12"),
        ("25-OH Vitamin D", "62", "nmol/L", "(50 - 175)", "", "vitamin_d_25oh_total"),
    ]
    doc.text(40, "HAEMATOLOGY / CLINICAL CHEMISTRY", bold=True)
    truth = []
    for name, value, unit, ref, flag, slug in lines:
        doc.text(40, " ".join(t for t in (name, value, unit, ref, flag) if t))
        truth.append(Truth(name, value.replace(",", "."), unit, flag or None, slug))
    doc.y -= 6
    # A value printed on a title line, in bold, with a colon.
    doc.text(40, "HbA1c (IFCC): 38 mmol/mol (20 - 42)", bold=True)
    truth.append(Truth("HbA1c (IFCC)", "38", "mmol/mol", None, "hba1c"))
    doc.y -= 6
    doc.text(40, "Validated by Dr. P. Martin, 16.01.2026 11:40. Reference intervals for adults 18 - 65 years.", size=7)
    pdf = doc.finish("1/1")
    meta = {"lab_name": "Laboratoire Central d'Analyses", "collected": "2026-01-15T08:30", "specimen": "2026-0115-0042"}
    return Report("international", pdf, truth, meta)


# --- advanced lipids and CBC: units before the value, abnormal only in bold, an interpretive table ----------

_ADV_COLS = (40, 230, 310, 400)
_ADV_HEAD = ("Analyte", "Units", "Result", "Reference Range")


def lipid_cbc() -> Report:
    doc = _Doc()
    doc.text(40, "Cardio Metabolic Laboratory", bold=True, size=12, gap=16)
    doc.text(40, "Accession: CM-88-2211    Collection Date: 03/02/2026 07:45    Report Date: 03/04/2026")
    doc.text(40, "Fasting: Yes", gap=20)
    doc.row(*(_Cell(x, t, bold=True) for x, t in zip(_ADV_COLS, _ADV_HEAD, strict=True)))
    truth = []

    def add(name: str, unit: str, value: str, ref: str, slug: str | None, *, bold: bool = False, flag=None) -> None:
        doc.row(_Cell(40, name), _Cell(230, unit), _Cell(310, value, bold=bold), _Cell(400, ref))
        truth.append(Truth(name, value, unit or None, flag, slug))

    doc.text(40, "ADVANCED LIPID PANEL", bold=True)
    add("LDL-P", "nmol/L", "1650", "<1138", "ldl_particle_number", bold=True, flag="H")
    add("Small LDL-P", "nmol/L", "720", "<=527", "ldl_small_nmr", bold=True, flag="H")
    add("LDL Size", "nm", "20.6", ">20.5", "ldl_particle_size")
    add("HDL-P (Total)", "umol/L", "31.2", ">=30.5", "hdl_particle_number")
    add("Apolipoprotein B", "mg/dL", "118", "<90", "apolipoprotein_b", bold=True, flag="H")
    add("Lipoprotein (a)", "nmol/L", "<75.0", "<75.0", "lipoprotein_a")
    add("LP-IR Score", "", "38", "<=45", "lp_ir_score")
    doc.y -= 6
    doc.text(40, "LDL-P Risk Categories (nmol/L)", bold=True, size=8)
    for label, cut in (("Low", "< 1000"), ("Moderate", "1000 - 1299"), ("Borderline-High", "1300 - 1599"),
                       ("High", "1600 - 2000"), ("Very High", "> 2000")):  # fmt: skip
        doc.row(_Cell(60, label, size=8), _Cell(160, cut, size=8), gap=11)
    doc.y -= 6
    doc.row(*(_Cell(x, t, bold=True) for x, t in zip(_ADV_COLS, _ADV_HEAD, strict=True)))
    doc.text(40, "CBC WITH DIFFERENTIAL", bold=True)
    add("WBC", "x10E3/uL", "6.8", "3.4-10.8", "wbc")
    add("RBC", "x10E6/uL", "4.62", "4.14-5.80", "rbc")
    add("Hemoglobin", "g/dL", "14.2", "13.0-17.7", "hemoglobin")
    # Out of range but not marked at all: in_range comes from the printed range.
    add("Hematocrit", "%", "52.3", "37.5-51.0", "hematocrit")
    add("MCV", "fL", "91", "79-97", "mcv")
    add("Platelets", "x10E3/uL", "148", "150-450", "platelets", bold=True, flag="L")
    # The same name twice: as a percentage, and (with a trailing dot or #) as an absolute count.
    add("Neutrophils", "%", "61", "", "neutrophils_pct")
    add("Neutrophils #", "x10E3/uL", "4.1", "1.4-7.0", "neutrophils_absolute")
    add("Basophils", "%", "1", "", "basophils_pct")
    add("Basophils.", "x10E3/uL", "0.1", "0.0-0.2", "basophils_absolute")
    pdf = doc.finish("Page 1 of 1")
    return Report("lipid_cbc", pdf, truth, {"collected": "2026-03-02T07:45", "specimen": "CM-88-2211"})


# --- two tables side by side ----------------------------------------------------------------------------------


def two_column() -> Report:
    doc = _Doc()
    doc.text(40, "Regional Hospital Laboratory", bold=True, size=12, gap=16)
    doc.text(40, "MRN: 00443322    Collected: 04/11/2026 09:15", gap=20)
    left = [("Iron", "88", "ug/dL", "38-169", "iron"), ("TIBC", "310", "ug/dL", "250-450", "tibc"),
            ("Ferritin", "95", "ng/mL", "30-400", "ferritin"), ("Transferrin Saturation", "28", "%", "15-55",
            "transferrin_saturation")]  # fmt: skip
    right = [("Magnesium", "2.1", "mg/dL", "1.6-2.3", "magnesium"), ("Zinc", "85", "ug/dL", "44-115", "zinc"),
             ("Copper", "102", "ug/dL", "70-175", "copper"), ("Folate", "12.4", "ng/mL", ">3.0", "folate")]  # fmt: skip
    head = ("Test", "Result", "Units", "Range")
    left_x, right_x = (40, 150, 190, 240), (320, 420, 460, 515)
    doc.row(*(_Cell(x, t, bold=True) for x, t in zip(left_x, head, strict=True)),
            *(_Cell(x, t, bold=True) for x, t in zip(right_x, head, strict=True)))  # fmt: skip
    truth = []
    for a, b in zip(left, right, strict=True):
        doc.row(*(_Cell(x, t) for x, t in zip(left_x, a[:4], strict=True)),
                *(_Cell(x, t) for x, t in zip(right_x, b[:4], strict=True)))  # fmt: skip
    truth = [Truth(n, v, u, None, s) for n, v, u, _, s in left + right]
    return Report("two_column", doc.finish(), truth, {"collected": "2026-04-11T09:15"})


# --- a patient-portal printout: the unit inside the value cell and repeated after the range -----------------


def portal() -> Report:
    doc = _Doc()
    doc.text(50, "MyChart - Test Results", bold=True, size=12, gap=16)
    doc.text(50, "Basic Metabolic Panel (BMP)", bold=True)
    doc.text(50, "Collected on Jun 3, 2026 8:12 AM", gap=18)
    cols = (50, 220, 330, 470)
    doc.row(*(_Cell(x, t, bold=True) for x, t in zip(cols, ("Component", "Your Value", "Standard Range", "Flag"),
                                                       strict=True)))  # fmt: skip
    rows = [
        ("Sodium", "141", "mmol/L", "136 - 145", "", None, "sodium"),
        ("Potassium", "3.3", "mmol/L", "3.5 - 5.1", "Low", "L", "potassium"),
        ("Glucose", "112", "mg/dL", "70 - 99", "High", "H", "glucose"),
        ("BUN", "16", "mg/dL", "7 - 20", "", None, "bun"),
        ("Creatinine", "0.9", "mg/dL", "0.6 - 1.2", "", None, "creatinine"),
    ]
    truth = []
    for name, value, unit, ref, printed_flag, flag, slug in rows:
        cells = (name, f"{value} {unit}", f"{ref} {unit}", printed_flag)
        doc.row(*(_Cell(x, t) for x, t in zip(cols, cells, strict=True) if t))
        truth.append(Truth(name, value, unit, flag, slug))
    return Report("portal", doc.finish(), truth, {"lab_name": "", "collected": ""})


# --- an image-only page: a generated report rendered to pixels and wrapped back into a PDF --------------------


def scanned() -> Report:
    import pypdfium2 as pdfium
    from reportlab.lib.utils import ImageReader

    doc = _Doc()
    doc.text(40, "Community Clinic Laboratory", bold=True, size=12, gap=16)
    doc.text(40, "Collected: 05/20/2026", gap=20)
    cols = (40, 230, 290, 350, 440)
    doc.row(
        *(
            _Cell(x, t, bold=True, size=10)
            for x, t in zip(cols, ("Test", "Result", "Flag", "Units", "Range"), strict=True)
        )
    )
    rows = [
        ("Glucose", "104", "H", "mg/dL", "65-99", "glucose"),
        ("Sodium", "139", "", "mmol/L", "135-146", "sodium"),
        ("Potassium", "4.2", "", "mmol/L", "3.5-5.3", "potassium"),
        ("Creatinine", "0.88", "", "mg/dL", "0.60-1.29", "creatinine"),
        ("Hemoglobin", "12.6", "L", "g/dL", "13.2-17.1", "hemoglobin"),
        ("TSH", "<0.5", "", "mIU/L", "0.40-4.50", "tsh"),
        ("Ferritin", "75", "", "ng/mL", "30-400", "ferritin"),
        ("Vitamin B12", "455", "", "pg/mL", "200-1100", "vitamin_b12"),
    ]
    truth = []
    for name, value, flag, unit, ref, slug in rows:
        doc.row(*(_Cell(x, t, size=10) for x, t in zip(cols, (name, value, flag, unit, ref), strict=True) if t),
                gap=16)  # fmt: skip
        truth.append(Truth(name, value, unit, flag or None, slug))
    text_pdf = doc.finish()
    pdf = pdfium.PdfDocument(text_pdf)
    image = pdf[0].render(scale=150 / 72).to_pil().convert("L")
    pdf.close()
    out = io.BytesIO()
    wrapper = canvas.Canvas(out, pagesize=letter, invariant=1)
    wrapper.drawImage(ImageReader(image), 0, 0, width=letter[0], height=letter[1])
    wrapper.save()
    return Report("scanned", out.getvalue(), truth, {"collected": "2026-05-20"}, ocr_pages=1)


TEXT_LAYOUTS = (quest, labcorp, international, lipid_cbc, two_column, portal)


def all_reports(*, with_scan: bool = True) -> list[Report]:
    reports = [make() for make in TEXT_LAYOUTS]
    if with_scan:
        reports.append(scanned())
    return reports


if __name__ == "__main__":  # write the reports out to look at them
    target = Path(os.environ.get("OUT", "generated-reports"))
    target.mkdir(exist_ok=True)
    for report in all_reports():
        (target / f"{report.name}.pdf").write_bytes(report.pdf)


# --- scoring a parse against the truth (the tests and benchmarks/labs.py) -------------------------------------

FIELDS = ("name", "value", "unit", "flag")


def _key(slug: str | None, name: str) -> str:
    return slug or " ".join(name.casefold().split())


def _value(number: Decimal | None, text: str | None) -> object:
    if text:
        return text.casefold()
    return number


def field_triples(rows: list[tuple[str, object, str | None, str | None]]) -> dict[str, set[tuple]]:
    """(key, value, unit, flag) rows as one set of (key, field value) pairs per field; absent fields left out."""
    out: dict[str, set[tuple]] = {f: set() for f in FIELDS}
    for key, value, unit, flag in rows:
        out["name"].add((key,))
        out["value"].add((key, value))
        if unit:
            out["unit"].add((key, unit))
        if flag:
            out["flag"].add((key, flag))
    return out


def truth_rows(report: Report) -> list[tuple]:
    rows = []
    for t in report.truth:
        text = None if t.number is not None and t.value[0] not in "<>" else t.value
        rows.append((_key(t.slug, t.name), _value(t.number, text), t.unit, t.flag))
    return rows


def parsed_rows(results) -> list[tuple]:
    return [(_key(r.slug, r.raw_name), _value(r.value_numeric, r.value_text), r.unit, r.flag) for r in results]


def score(report: Report, results) -> dict[str, tuple[int, int, int]]:
    """Per field: (correct, parsed, true) counts; precision = correct/parsed, recall = correct/true."""
    truth, parsed = field_triples(truth_rows(report)), field_triples(parsed_rows(results))
    return {f: (len(truth[f] & parsed[f]), len(parsed[f]), len(truth[f])) for f in FIELDS}
