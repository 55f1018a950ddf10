"""Lab-report PDFs end to end: stored, parsed, confirmed, and written to blood_panels / blood_markers."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from db.documents import store_document
from db.engine import WORKER_ROLE, admin_scope, user_scope
from db.lab_reports import DocumentError, confirm_document, parse_document
from db.models import BiomarkerDictionary, BloodMarker, BloodPanel, Document
from db.models.enums import ParseStatus
from db.storage import LocalStore
from tests.parsers.labs import reports


@pytest.fixture(scope="module", autouse=True)
def _dictionary(engine) -> None:
    from db.reference import seed_reference_data

    with admin_scope() as session:
        seed_reference_data(session)


@pytest.fixture
def store(tmp_path) -> LocalStore:
    return LocalStore(tmp_path / "documents")


def _import(user, store, pdf: bytes, *, confirm: bool = True):
    with user_scope(user, role=WORKER_ROLE) as session:
        document = store_document(session, store, user, pdf, filename="report.pdf")
    with user_scope(user, role=WORKER_ROLE) as session:
        parse_document(session, store, document.document_id)
    panel = None
    if confirm:
        with user_scope(user, role=WORKER_ROLE) as session:
            panel = confirm_document(session, user, document.document_id)
    return document.document_id, panel


def _markers(user, panel) -> list[BloodMarker]:
    with user_scope(user) as session:
        return list(session.scalars(select(BloodMarker).where(BloodMarker.panel_id == panel)))


def _slugs(user) -> dict:
    with user_scope(user) as session:
        return dict(session.execute(select(BiomarkerDictionary.biomarker_id, BiomarkerDictionary.canonical_name)).all())


@pytest.mark.parametrize(
    "layout", ["quest", "labcorp", "international", "lipid_cbc", "two_column", "portal", "scanned"]
)
def test_each_layout_lands_in_the_tables_after_confirmation(committed_users, store, layout) -> None:
    user, _ = committed_users
    report = getattr(reports, layout)()
    document_id, _ = _import(user, store, report.pdf, confirm=False)
    with user_scope(user) as session:
        document = session.get(Document, document_id)
        assert document.parse_status in {ParseStatus.PARSED, ParseStatus.NEEDS_REVIEW}
        assert len(document.parse_result["markers"]) == len(report.truth)
        first = document.parse_result["markers"][0]["source"]
        assert first["page"] == 1 and first["line"] > 0
        # Nothing counts before confirmation.
        assert session.scalar(select(func.count()).select_from(BloodMarker).where(BloodMarker.user_id == user)) == 0

    with user_scope(user, role=WORKER_ROLE) as session:
        panel = confirm_document(session, user, document_id)
    stored = _markers(user, panel)
    names = _slugs(user)
    expected = {t.slug or t.name for t in report.truth}
    assert {names.get(m.biomarker_id) or m.raw_name for m in stored} == expected
    for truth in report.truth:
        (row,) = [m for m in stored if (names.get(m.biomarker_id) or m.raw_name) == (truth.slug or truth.name)]
        if truth.number is not None:
            assert row.value_numeric == truth.number, truth.name
        else:
            assert row.value_text == truth.value, truth.name
    with user_scope(user) as session:
        assert session.get(Document, document_id).parse_status == ParseStatus.CONFIRMED
        panel_row = session.get(BloodPanel, panel)
        assert panel_row.document_id == document_id
        if report.meta.get("collected"):
            assert panel_row.collected_at.date().isoformat() == report.meta["collected"][:10]


def test_values_are_converted_and_unknown_and_bounded_values_are_kept(committed_users, store) -> None:
    user, _ = committed_users
    _, panel = _import(user, store, reports.quest().pdf)
    by_name = {m.raw_name: m for m in _markers(user, panel) if "URINALYSIS" not in (m.sub_panel or "")}
    # Quest prints mg/dL, the canonical unit: unchanged. 3,456 cells/uL is 3.456 thousand/uL.
    assert by_name["Glucose"].value_canonical == Decimal("92")
    assert by_name["Absolute Neutrophils"].value_canonical == Decimal("3.456")
    unknown = by_name["Immature Granulocytes"]
    assert (unknown.biomarker_id, unknown.value_numeric, unknown.unit) == (None, Decimal("0.3"), "%")
    # "<0.5": the bound is the number (and is converted), the comparator stays in value_text.
    crp = by_name["hs-CRP"]
    assert (crp.value_text, crp.value_numeric, crp.value_canonical) == ("<0.5", Decimal("0.5"), Decimal("0.5"))
    assert by_name["Hemoglobin"].in_range is False and by_name["Hemoglobin"].flag == "L"


def test_si_units_convert_and_an_unlisted_unit_is_flagged_not_guessed(committed_users, store) -> None:
    user, _ = committed_users
    _, panel = _import(user, store, reports.international().pdf)
    by_name = {m.raw_name: m for m in _markers(user, panel)}
    # 5.2 mmol/L total cholesterol is 201 mg/dL; 88 umol/L creatinine is 0.995 mg/dL.
    assert by_name["Cholesterol total"].value_canonical == pytest.approx(Decimal("201.1"), abs=Decimal("0.2"))
    assert by_name["Creatinine"].value_canonical == pytest.approx(Decimal("0.995"), abs=Decimal("0.002"))
    assert by_name["Haemoglobin"].value_canonical == Decimal("13.5")
    tsh = by_name["TSH"]
    assert (tsh.needs_review, tsh.value_canonical) == (True, None)
    assert "'mU/L' is not one of TSH's accepted units" in tsh.review_note


def test_an_ocr_misread_unit_is_flagged_for_review(committed_users, store) -> None:
    user, _ = committed_users
    _, panel = _import(user, store, reports.scanned().pdf)
    stored = _markers(user, panel)
    assert all(m.parse_confidence < 1 for m in stored)  # read by OCR: never full confidence
    converted = [m for m in stored if m.value_canonical is not None]
    flagged = [m for m in stored if m.needs_review]
    # Every marker is either converted from an accepted unit or flagged with the reason; none guessed.
    assert len(converted) + len(flagged) == len(stored)
    assert all("accepted units" in m.review_note or "no unit" in m.review_note for m in flagged)


def test_uploading_and_confirming_the_same_pdf_twice_stores_it_once(committed_users, store) -> None:
    user, _ = committed_users
    pdf = reports.labcorp().pdf
    first_doc, first_panel = _import(user, store, pdf)
    with user_scope(user, role=WORKER_ROLE) as session:
        repeat = store_document(session, store, user, pdf)
    assert repeat.document_id == first_doc and repeat.created is False
    with user_scope(user, role=WORKER_ROLE) as session:
        again_panel = confirm_document(session, user, first_doc)
    assert again_panel == first_panel
    with user_scope(user) as session:
        assert session.scalar(select(func.count()).select_from(Document).where(Document.user_id == user)) == 1
        assert session.scalar(select(func.count()).select_from(BloodPanel).where(BloodPanel.user_id == user)) == 1
    assert len(_markers(user, first_panel)) == len(reports.labcorp().truth)
    with user_scope(user, role=WORKER_ROLE) as session, pytest.raises(DocumentError, match="already confirmed"):
        parse_document(session, store, first_doc)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"%PDF-1.4\n" + b"\0" * 500, "incomplete"),
        (b"PK\x03\x04 a zip file, not a pdf", "not a PDF"),
    ],
)
def test_a_broken_pdf_fails_on_the_document_and_stores_nothing(committed_users, store, data, message) -> None:
    user, _ = committed_users
    document_id, _ = _import(user, store, data, confirm=False)
    with user_scope(user) as session:
        document = session.get(Document, document_id)
        assert document.parse_status == ParseStatus.FAILED
        assert message in document.error_message
    with user_scope(user, role=WORKER_ROLE) as session, pytest.raises(DocumentError, match="no parse result"):
        confirm_document(session, user, document_id)


def test_re_processing_reuses_the_extraction_and_the_llm_answers(committed_users, store) -> None:
    from parsers.labs.llm import LlmReader, LlmSettings
    from tests.parsers.labs.fake_llm import answer, fake_llm, result
    from tests.parsers.labs.test_llm import narrative_pdf

    user, _ = committed_users
    pdf = narrative_pdf()
    document_id, _ = _import(user, store, pdf, confirm=False)
    with fake_llm() as server:
        # No transport retries here: a 503 would otherwise be asked again by the client itself.
        reader = LlmReader(LlmSettings(server.base_url, "test", "scripted", timeout=5.0, transport_retries=0))
        server.script = [answer(result("Ferritin", "45", "ng/mL", "30-400"), result("Vitamin D", "33", "ng/mL"))]
        for _ in range(2):
            with user_scope(user, role=WORKER_ROLE) as session:
                report = parse_document(session, store, document_id, llm=reader)
            assert [m.result.raw_name for m in report.markers] == ["Ferritin"]
            assert report.llm_rejected == 1
        assert len(server.requests) == 1  # the second parse used the stored answers
        # The stored extraction is used too: with the file gone, re-processing still works.
        store.delete(f"users/{user}/{hashlib.sha256(pdf).hexdigest()}")
        # Asked explicitly, the model is called again; its failure is recorded, the stored answers stand.
        server.script = [("status", 503)]
        with user_scope(user, role=WORKER_ROLE) as session:
            report = parse_document(session, store, document_id, llm=reader, ask_llm=True)
        assert len(server.requests) == 2
    assert [m.result.raw_name for m in report.markers] == ["Ferritin"]
    with user_scope(user) as session:
        document = session.get(Document, document_id)
        assert document.error_message == "LLM: the model endpoint refused the request (HTTP 503)"
        assert document.parse_status == ParseStatus.NEEDS_REVIEW
        assert document.parse_result["markers"][0]["how"] == "llm"
    with user_scope(user, role=WORKER_ROLE) as session:
        panel = confirm_document(session, user, document_id)
    (ferritin,) = _markers(user, panel)
    assert (ferritin.value_numeric, ferritin.value_canonical, ferritin.unit) == (Decimal("45"), Decimal("45"), "ng/mL")
    assert ferritin.parse_confidence == Decimal("0.70")
