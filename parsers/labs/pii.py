"""Masking personal identifiers before report text leaves the machine (for the LLM path).

Lab reports print identifiers as labelled fields ("Patient: DOE, JOHN", "DOB: 03/14/1975", "MRN:
00443322", "Specimen ID: ...") plus phone numbers, e-mail addresses and postal addresses. The value of
every such field is replaced by a placeholder; collection and report dates stay, since results need
them. What cannot be told apart from a result is left alone: masking is a safety net over the
labelled fields, not a promise that free text carries no identifier.
"""

from __future__ import annotations

import re

MASK = "[REDACTED]"

_LABELS = (
    r"patient(?:\s+name)?", r"name", r"dob", r"d\.o\.b\.", r"date\s+of\s+birth", r"birth\s*date", r"mrn",
    r"medical\s+record(?:\s+(?:no\.?|number))?", r"patient\s+id", r"account(?:\s+(?:no\.?|number))?",
    r"accession(?:\s+(?:no\.?|number))?", r"specimen(?:\s+id)?", r"requisition", r"sample\s+no\.?",
    r"phone", r"tel\.?", r"address", r"ssn", r"insurance(?:\s+id)?", r"member\s+id",
)  # fmt: skip
_OTHER_LABELS = (
    r"sex", r"gender", r"age", r"collected", r"received", r"reported", r"date(?:\s+\w+)?", r"sample\s+taken",
    r"report\s+date", r"fasting", r"collection\s+date", r"physician", r"ordering\s+\w+",
)  # fmt: skip
# A labelled value runs to the end of the line, or to the next "Label:" on the same line.
_FIELD = re.compile(
    r"(?P<label>\b(?:" + "|".join(_LABELS) + r"))\s*[:#]\s*(?P<value>.+?)"
    r"(?=\s{2,}|\s+(?:" + "|".join(_LABELS + _OTHER_LABELS) + r")\s*[:#]|$)",
    re.IGNORECASE | re.MULTILINE,
)
_PHONE = re.compile(r"(?<!\d)(?:\+?\d{1,2}[\s.-]?)?\(?\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}(?!\d)")
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b")
_STREET = re.compile(
    r"\b\d{1,6}\s+(?:[A-Z][\w.]*\s+){1,4}(?:st|street|ave|avenue|rd|road|blvd|dr|drive|ln|lane|way|ct|court)\b"
    r"[^\n]*",
    re.IGNORECASE,
)


def mask_identifiers(text: str) -> str:
    text = _FIELD.sub(lambda m: f"{m.group('label')}: {MASK}", text)
    text = _EMAIL.sub(MASK, text)
    text = _PHONE.sub(MASK, text)
    return _STREET.sub(MASK, text)
