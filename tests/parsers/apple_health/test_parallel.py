"""Reading on several cores gives exactly what the sequential pass gives."""

from __future__ import annotations

import io
import os

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


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="two processes need two cores")
def test_by_default_a_large_export_is_read_on_two_processes(monkeypatch) -> None:
    from parsers.apple_health import parallel

    data = export_of(28)
    sequential, report = read(data, workers=1)
    monkeypatch.setattr(parallel, "PARALLEL_FROM_BYTES", 16 * 1024)  # "large": this small test export
    export = AppleHealthExport(io.BytesIO(data), chunk_bytes=32 * 1024)
    assert list(export) == sequential
    assert export.workers == 2
    assert export.report.as_dict() == report


def test_by_default_a_small_export_is_read_in_the_importing_process() -> None:
    export = AppleHealthExport(io.BytesIO(export_of(2)))
    list(export)
    assert export.workers == 1


def test_by_default_a_document_that_cannot_be_chunked_is_read_sequentially(monkeypatch) -> None:
    from parsers.apple_health import parallel

    monkeypatch.setattr(parallel, "PARALLEL_FROM_BYTES", 1024)
    data = document(*[quantity("HeartRate", "2024-03-01 10:00:00 +0100", None, 60, "count/min")] * 3000)
    export = AppleHealthExport(io.BytesIO(data.replace(b"\n ", b"")))
    list(export)
    assert export.workers == 1
    assert export.report.records == 3000
