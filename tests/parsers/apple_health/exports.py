"""Small Apple Health exports written by hand for tests: the XML Apple writes, one element a line."""

from __future__ import annotations

import io
import zipfile
from xml.sax.saxutils import quoteattr

WATCH_DEVICE = (
    "<<HKDevice: 0x283336ee0>, name:Apple Watch, manufacturer:Apple Inc., model:Watch, hardware:Watch6,12, "
    "software:10.1, creation date:2024-01-15 22:56:09 +0000>"
)
PHONE_DEVICE = (
    "<<HKDevice: 0x66aaba640>, name:iPhone, manufacturer:Apple Inc., model:iPhone, hardware:iPhone14,2, software:17.1>"
)
WATCH = {"sourceName": "Ann’s Apple Watch", "device": WATCH_DEVICE}
PHONE = {"sourceName": "Ann’s iPhone", "device": PHONE_DEVICE}

ME = (
    ' <Me HKCharacteristicTypeIdentifierDateOfBirth="1985-06-02" '
    'HKCharacteristicTypeIdentifierBiologicalSex="HKBiologicalSexFemale" '
    'HKCharacteristicTypeIdentifierBloodType="HKBloodTypeNotSet"/>\n'
)
DTD = """<!DOCTYPE HealthData [
<!-- HealthKit Export Version: 14 -->
<!ELEMENT HealthData (ExportDate,Me,(Record|Correlation|Workout|ActivitySummary)*)>
<!ATTLIST HealthData
  locale CDATA #REQUIRED
>
<!ELEMENT Record ((MetadataEntry|HeartRateVariabilityMetadataList)*)>
<!ATTLIST Record
  type          CDATA #REQUIRED
  value         CDATA #IMPLIED
>
]>
"""


def attrs(**values: str) -> str:
    return " ".join(f"{k}={quoteattr(str(v))}" for k, v in values.items())


def record(
    kind: str, start: str, end: str | None = None, *, source: dict | None = None, children: str = "", **more
) -> str:
    values = {"type": kind, **(source or WATCH), **more, "startDate": start, "endDate": end or start}
    if children:
        return f" <Record {attrs(**values)}>\n{children} </Record>\n"
    return f" <Record {attrs(**values)}/>\n"


def quantity(name: str, start: str, end: str | None, value: float | str, unit: str, **kw) -> str:
    return record(f"HKQuantityTypeIdentifier{name}", start, end, value=str(value), unit=unit, **kw)


def sleep(stage: str, start: str, end: str, **kw) -> str:
    return record(
        "HKCategoryTypeIdentifierSleepAnalysis", start, end, value=f"HKCategoryValueSleepAnalysis{stage}", **kw
    )


def document(*body: str, dtd: str = DTD, me: str | None = None) -> bytes:
    me = me or ME
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        + dtd
        + '<HealthData locale="en_GB">\n <ExportDate value="2024-06-01 09:00:00 +0200"/>\n'
        + me
        + "".join(body)
        + "</HealthData>\n"
    )
    return text.encode()


def zipped(xml: bytes, name: str = "apple_health_export/export.xml", **more: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, xml)
        for extra, data in more.items():
            archive.writestr(extra, data)
    return buffer.getvalue()
