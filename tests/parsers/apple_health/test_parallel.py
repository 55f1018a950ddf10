"""Reading on several cores gives exactly what the sequential pass gives."""

from __future__ import annotations

import io

import pytest

from parsers.apple_health import AppleHealthExport, ExportError
from tests.parsers.apple_health.exports import PHONE, document, quantity, sleep, zipped
from tests.parsers.apple_health.test_reader import BLOOD_PRESSURE


def export_of(days: int) -> bytes:
    body = []
    for d in range(1, days + 1):
        day = f"2024-03-{d:02d}"
        for h in range(7, 22):
            body.append(quantity("StepCount", f"{day} {h:02d}:00:00 +0100", f"{day} {h:02d}:10:00 +0100", 300, "count"))
            body.append(
                quantity(
                    "StepCount", f"{day} {h:02d}:05:00 +0100", f"{day} {h:02d}:15:00 +0100", 200, "count", source=PHONE
                )
            )
            body.append(quantity("HeartRate", f"{day} {h:02d}:30:00 +0100", None, 60 + h, "count/min"))
        body.append(sleep("AsleepCore", f"{day} 00:30:00 +0100", f"{day} 06:30:00 +0100"))
        body.append(BLOOD_PRESSURE.replace("2024-03-10", day))
        body.append(quantity("StepCount", f"{day} 23:00:00 +0100", "not a date", 5, "count"))
    return zipped(document(*body))


def read(data: bytes, **kw) -> tuple[list, dict]:
    export = AppleHealthExport(io.BytesIO(data), **kw)
    items = list(export)
    return items, export.report.as_dict()


def test_chunks_read_in_two_processes_give_the_sequential_result() -> None:
    data = export_of(28)
    sequential, report = read(data)
    parallel, parallel_report = read(data, workers=2, chunk_bytes=32 * 1024)
    assert parallel == sequential
    assert parallel_report == report
    # Line numbers of skipped records are the file's, not a chunk's.
    xml = document_lines(data)
    bad = [n for n, line in enumerate(xml, start=1) if "not a date" in line]
    assert report["skipped_lines"]["HKQuantityTypeIdentifierStepCount: invalid date"] == bad[:5]


def document_lines(data: bytes) -> list[str]:
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read("apple_health_export/export.xml").decode().splitlines()


def test_a_document_not_laid_out_as_apple_writes_it_is_refused_for_parallel_reading() -> None:
    data = document(*[quantity("HeartRate", "2024-03-01 10:00:00 +0100", None, 60, "count/min")] * 3000)
    flat = data.replace(b"\n ", b"")
    with pytest.raises(ExportError) as caught:
        read(flat, workers=2, chunk_bytes=4096)
    assert caught.value.code == "unexpected_layout"
    assert read(flat)[1]["records"] == 3000  # the sequential pass reads it
