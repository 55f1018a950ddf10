"""Hostile and broken exports: each is refused with a clear, specific error or recovered and counted."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import pytest

from parsers.apple_health import AppleHealthExport, DailySummary, ExportError, Limits, Workout
from tests.parsers.apple_health.exports import DTD, document, quantity, zipped

STEPS = (
    quantity("StepCount", "2024-03-10 08:00:00 +0100", "2024-03-10 08:10:00 +0100", 1000, "count"),
    quantity("StepCount", "2024-03-10 09:00:00 +0100", "2024-03-10 09:10:00 +0100", 234, "count"),
)

# Export Version 12 (iOS 16): VisionPrescription's attribute list is never closed.
IOS16_DTD = """<!DOCTYPE HealthData [
<!-- HealthKit Export Version: 12 -->
<!ELEMENT HealthData (ExportDate,Me,(Record|Correlation|Workout|ActivitySummary|VisionPrescription)*)>
<!ATTLIST HealthData
  locale CDATA #REQUIRED
>
<!ELEMENT VisionPrescription EMPTY>
<!ATTLIST VisionPrescription
  type             CDATA #REQUIRED
  dateIssued       CDATA #REQUIRED
  expirationDate   CDATA #IMPLIED
  brand            CDATA #IMPLIED

<!ELEMENT RightEye EMPTY>
<!ATTLIST RightEye
  sphere CDATA #IMPLIED
>
]>
"""


def read(data: bytes, **kw) -> tuple[list, AppleHealthExport]:
    export = AppleHealthExport(io.BytesIO(data), **kw)
    return list(export), export


def steps(items: list) -> int | None:
    return {i.day: i for i in items if isinstance(i, DailySummary)}[date(2024, 3, 10)].steps


def code_of(data: bytes, **kw) -> tuple[str, str]:
    with pytest.raises(ExportError) as caught:
        read(data, **kw)
    return caught.value.code, str(caught.value)


def test_a_truncated_zip_is_refused_as_incomplete() -> None:
    data = zipped(document(*STEPS))
    code, message = code_of(data[: len(data) // 2])
    assert code == "truncated_zip" and "upload it again" in message


def test_a_zip_whose_data_is_cut_inside_the_member_is_refused() -> None:
    # Central directory intact, compressed bytes damaged: the member fails its checks while streaming.
    data = bytearray(zipped(document(*STEPS * 50)))
    start = data.find(b"export.xml") + len(b"export.xml")
    for i in range(start + 40, start + 140):
        data[i] = 0
    code, _ = code_of(bytes(data))
    assert code == "corrupt_zip"


def test_a_zip_without_export_xml_names_what_it_holds() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("apple_health_export/export_cda.xml", "<ClinicalDocument/>")
    code, message = code_of(buffer.getvalue())
    assert code == "no_export_xml" and "export_cda.xml" in message


def test_a_localised_top_folder_is_found() -> None:
    items, _ = read(zipped(document(*STEPS), name="exportación_de_apple_health/export.xml"))
    assert steps(items) == 1234


def test_a_zip_bomb_is_refused_before_it_expands() -> None:
    padding = b"<!-- " + b" " * 5_000_000 + b" -->\n"
    bomb = zipped(document(*STEPS).replace(b"<HealthData", padding + b"<HealthData", 1))
    code, message = code_of(bomb, limits=Limits(max_ratio=100))
    assert code == "zip_bomb" and "100-fold" in message
    code, _ = code_of(bomb, limits=Limits(max_bytes=1_000_000))
    assert code == "zip_bomb"


def test_a_zip_that_lies_about_its_size_is_refused() -> None:
    data = bytearray(zipped(document(*STEPS * 2000)))
    real = zipfile.ZipFile(io.BytesIO(bytes(data))).infolist()[0]
    # Rewrite the declared size in both headers to something harmless.
    for offset, field in ((0, 22), (data.rfind(b"PK\x01\x02"), 24)):
        data[offset + field : offset + field + 4] = (real.compress_size * 2).to_bytes(4, "little")
    # zipfile stops at the declared size and the checksum then refuses the member.
    code, _ = code_of(bytes(data), limits=Limits(max_ratio=3))
    assert code == "corrupt_zip"


def test_external_entities_and_entity_expansion_are_never_resolved(tmp_path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    hostile_dtd = (
        "<!DOCTYPE HealthData [\n"
        f'<!ENTITY xxe SYSTEM "file://{secret}">\n'
        '<!ENTITY lol "lol">\n'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">\n'
        '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">\n'
        "]>\n"
    )
    body = quantity(
        "StepCount",
        "2024-03-10 10:00:00 +0100",
        "2024-03-10 10:10:00 +0100",
        1,
        "count",
        source={"sourceName": "&xxe;&lol3;"},
    ).replace("&amp;", "&")
    items, export = read(zipped(document(*STEPS, body, dtd=hostile_dtd)))
    assert steps(items) == 1235  # every record imported
    assert "TOP-SECRET" not in repr(items) and "lollol" not in repr(export._source_list)
    assert export.report.dtd_removed
    assert export.report.xml_problems["entity_not_resolved"] >= 1


def test_the_ios16_malformed_dtd_is_got_past_and_everything_imported() -> None:
    workout = (
        ' <Workout workoutActivityType="HKWorkoutActivityTypeWalking" duration="20" durationUnit="min" sourceName="W" '
        'startDate="2024-03-10 12:00:00 +0100" endDate="2024-03-10 12:20:00 +0100"/>\n'
    )
    items, export = read(zipped(document(*STEPS, workout, dtd=IOS16_DTD)))
    assert steps(items) == 1234
    assert len([i for i in items if isinstance(i, Workout)]) == 1
    assert export.report.export_version == "12" and export.report.dtd_removed
    assert export.report.records == 3


def test_a_repeated_attribute_is_recovered_and_the_rest_imported() -> None:
    broken = (
        ' <Workout workoutActivityType="HKWorkoutActivityTypeRunning" duration="30" durationUnit="min" sourceName="W" '
        'startDate="2024-03-10 18:00:00 +0100" endDate="2024-03-10 18:30:00 +0100">\n'
        '  <WorkoutStatistics type="HKQuantityTypeIdentifierActiveEnergyBurned" startDate="2024-03-10 18:00:00 +0100" '
        'startDate="2024-03-10 18:30:00 +0100" sum="300" unit="kcal"/>\n'
        " </Workout>\n"
    )
    items, export = read(zipped(document(STEPS[0], broken, STEPS[1])))
    (workout,) = [i for i in items if isinstance(i, Workout)]
    assert workout.calories_kcal == 300
    assert steps(items) == 1234
    assert export.report.xml_problems["repeated_attribute"] == 1


def test_a_byte_that_is_not_utf8_is_counted_and_the_rest_imported() -> None:
    xml = document(*STEPS, quantity("StepCount", "2024-03-10 11:00:00 +0100", "2024-03-10 11:05:00 +0100", 6, "count"))
    xml = xml.replace("Ann’s Apple Watch".encode(), b"Ann\xe9s Apple Watch", 1)
    items, export = read(zipped(xml))
    assert steps(items) == 1240
    assert export.report.xml_problems["invalid_utf8"] >= 1


def test_a_stray_control_character_is_counted_and_the_rest_imported() -> None:
    xml = document(*STEPS).replace("Ann’s Apple Watch".encode(), b"Ann\x0bs Apple Watch", 1)
    items, export = read(zipped(xml))
    assert steps(items) == 1234
    assert export.report.xml_problems["invalid_character"] >= 1


def test_an_export_cut_short_inside_a_good_zip_is_refused_before_any_daily_total() -> None:
    xml = document(*STEPS * 20)
    export = AppleHealthExport(io.BytesIO(zipped(xml[: len(xml) - 300])))
    produced = []
    with pytest.raises(ExportError) as caught:
        for item in export:
            produced.append(item)
    assert caught.value.code == "truncated_xml" and "export it again" in str(caught.value)
    assert not any(isinstance(i, DailySummary) for i in produced)


def test_something_that_is_not_an_export_is_refused() -> None:
    assert code_of(b"%PDF-1.7 not a zip")[0] == "not_health_export"
    assert code_of(zipped(b'<?xml version="1.0"?>\n<Other/>\n'))[0] == "not_health_export"


def test_the_standard_dtd_is_removed_too() -> None:
    _, export = read(zipped(document(*STEPS, dtd=DTD)))
    assert export.report.dtd_removed and export.report.export_version == "14"
