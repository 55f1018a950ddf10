"""Writing lab markers: unknown markers are deduplicated too, and an unlisted unit is flagged, not guessed."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from db.engine import WORKER_ROLE, admin_scope, user_scope
from db.labs import LabResult, record_markers
from db.models import BloodMarker, BloodPanel
from parsers.vocabulary.dictionary import load_dictionary


@pytest.fixture(scope="module", autouse=True)
def _dictionary(engine) -> None:
    from db.reference import seed_reference_data

    with admin_scope() as session:
        seed_reference_data(session)


def _panel(user) -> object:
    with user_scope(user, role=WORKER_ROLE) as session:
        panel = BloodPanel(user_id=user, lab_name="Quest Diagnostics")
        session.add(panel)
        session.flush()
        return panel.panel_id


def _markers(user, panel) -> list[BloodMarker]:
    with user_scope(user) as session:
        return list(
            session.scalars(select(BloodMarker).where(BloodMarker.panel_id == panel).order_by(BloodMarker.raw_name))
        )


REPORT = [
    LabResult(raw_name="Glucose", value_numeric=Decimal("92"), unit="mg/dL", ref_range_low=65, ref_range_high=99),
    LabResult(raw_name="Zonulin, Serum", value_numeric=Decimal("41.2"), unit="ng/mL"),
    LabResult(raw_name="Galectin-3", value_numeric=Decimal("14.8"), unit="ng/mL"),
]


def test_re_importing_a_report_with_unknown_markers_changes_nothing(committed_users) -> None:
    vocabulary = load_dictionary()
    # The control: these two really are unknown to the dictionary, so their biomarker_id is NULL.
    assert [vocabulary.match(r.raw_name).biomarker for r in REPORT[1:]] == [None, None]
    user, _ = committed_users
    panel = _panel(user)
    with user_scope(user, role=WORKER_ROLE) as session:
        first = record_markers(session, user, panel, REPORT)
    with user_scope(user, role=WORKER_ROLE) as session:
        again = record_markers(session, user, panel, REPORT)
    # The same unknown marker as another print run spells it: still the same row.
    respelled = [*REPORT[:2], LabResult(raw_name="  GALECTIN-3 ", value_numeric=Decimal("14.8"), unit="ng/mL")]
    with user_scope(user, role=WORKER_ROLE) as session:
        third = record_markers(session, user, panel, respelled)

    assert first.as_dict() == {"inserted": 3, "updated": 0, "unchanged": 0}
    assert again.as_dict() == {"inserted": 0, "updated": 0, "unchanged": 3}
    assert third.inserted == 0
    stored = _markers(user, panel)
    assert len(stored) == 3
    assert sum(m.biomarker_id is None for m in stored) == 2


def test_a_unit_the_dictionary_does_not_list_is_flagged_and_left_unconverted(committed_users) -> None:
    user, _ = committed_users
    panel = _panel(user)
    with user_scope(user, role=WORKER_ROLE) as session:
        record_markers(
            session,
            user,
            panel,
            [
                # g/L is a mass concentration pint could convert, but no lab reports glucose in it:
                # a misread unit is far likelier than a real one, so it is flagged, not converted.
                LabResult(raw_name="Glucose", value_numeric=Decimal("0.99"), unit="g/L"),
                # mmol/L is listed: 5.5 mmol/L × 180.16 g/mol ÷ 10 = 99.09 mg/dL.
                LabResult(raw_name="Cholesterol, Total", value_numeric=Decimal("5.2"), unit="mmol/L"),
            ],
        )
    glucose, cholesterol = sorted(_markers(user, panel), key=lambda m: m.raw_name != "Glucose")
    assert glucose.needs_review is True
    assert glucose.value_canonical is None
    assert "'g/L' is not one of Glucose's accepted units (mg/dL, mmol/L)" in glucose.review_note
    # Total cholesterol: 1 mmol/L = 38.67 mg/dL (molar mass 386.65 g/mol), so 5.2 mmol/L is 201.1 mg/dL.
    assert cholesterol.needs_review is False
    assert cholesterol.value_canonical == pytest.approx(Decimal("201.1"), abs=Decimal("0.2"))


def test_the_converted_value_and_the_reference_range_verdict_are_stored(committed_users) -> None:
    user, _ = committed_users
    panel = _panel(user)
    with user_scope(user, role=WORKER_ROLE) as session:
        record_markers(
            session,
            user,
            panel,
            [
                LabResult(
                    raw_name="GLU", value_numeric=Decimal("5.5"), unit="mmol/L", ref_range_low=3.9, ref_range_high=5.4
                )
            ],
        )
    (glucose,) = _markers(user, panel)
    assert glucose.value_canonical == pytest.approx(Decimal("99.09"), abs=Decimal("0.01"))
    assert glucose.in_range is False
    assert (glucose.needs_review, glucose.review_note) == (False, None)
