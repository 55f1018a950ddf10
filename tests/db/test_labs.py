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


def test_a_bounded_value_is_judged_in_range_only_when_every_value_it_allows_is(committed_users) -> None:
    user, _ = committed_users
    panel = _panel(user)
    bounded = [
        # "<0.5" with "<1.0": whatever the value is, it is in range.
        LabResult(raw_name="hs-CRP", value_numeric=Decimal("0.5"), value_text="<0.5", unit="mg/L", ref_range_high=1),
        # "<0.5" with 0.40-4.50: it may be 0.45 (in range) or 0.1 (below): unknown, not "in range".
        LabResult(
            raw_name="TSH", value_numeric=Decimal("0.5"), value_text="<0.5", unit="mIU/L", ref_range_low=Decimal("0.4"),
            ref_range_high=Decimal("4.5"),
        ),
        # "<10" with a range starting at 10: below it, whatever it is.
        LabResult(raw_name="Ferritin", value_numeric=Decimal("10"), value_text="<10", unit="ng/mL", ref_range_low=10),
        # ">90" with ">59": in range.
        LabResult(raw_name="eGFR", value_numeric=Decimal("90"), value_text=">90", unit="mL/min/1.73m2",
                  ref_range_low=59),
    ]  # fmt: skip
    with user_scope(user, role=WORKER_ROLE) as session:
        record_markers(session, user, panel, bounded)
    verdicts = {m.raw_name: m.in_range for m in _markers(user, panel)}
    assert verdicts == {"hs-CRP": True, "TSH": None, "Ferritin": False, "eGFR": True}
    stored = {m.raw_name: (m.value_numeric, m.value_text) for m in _markers(user, panel)}
    assert stored["hs-CRP"] == (Decimal("0.5"), "<0.5")
