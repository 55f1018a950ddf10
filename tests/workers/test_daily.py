"""Daily-summary payloads: every wrong shape gets an error that says what is wrong and what was expected."""

from __future__ import annotations

from datetime import date

import pytest

from workers.daily import parse_payload


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([1, 2], 'the payload is a list; expected {"date": "YYYY-MM-DD", "metrics": {"steps": 8123, ...}}'),
        ("steps=1", 'the payload is a string; expected {"date": "YYYY-MM-DD", "metrics": {"steps": 8123, ...}}'),
        ({"date": "2026-11-20", "metrics": [8123]}, "payload.metrics is a list; expected an object of metric name"),
        ({"date": "2026-11-20", "metrics": "steps=8123"}, "payload.metrics is a string; expected an object of metric"),
        ({"date": "2026-11-20", "metrics": {}}, "payload.metrics is empty: nothing to record"),
        ({"date": "2026-11-20"}, "payload.metrics is empty: nothing to record"),
        ({"metrics": {"steps": 1}}, "payload.date is missing (expected YYYY-MM-DD)"),
        ({"date": 20261120, "metrics": {"steps": 1}}, "payload.date 20261120 is not a date (expected YYYY-MM-DD)"),
        ({"date": "2026-11-20", "metrics": {"steps": "8123"}}, "payload.metrics.steps is a string; expected a number"),
        ({"date": "2026-11-20", "metrics": {"steps": True}}, "payload.metrics.steps is true/false; expected a number"),
        ({"date": "2026-11-20", "metrics": {"steps": [1]}}, "payload.metrics.steps is a list; expected a number"),
        ({"date": "2026-11-20", "metrics": {"steps": 10.5}}, "payload.metrics.steps is 10.5; expected a whole number"),
        (
            {"date": "2026-11-20", "metrics": {"hrv_rmssd_ms": float("nan")}},
            "payload.metrics.hrv_rmssd_ms is nan; expected a finite number",
        ),
        ({"date": "2026-11-20", "metrics": {"step": 1}}, "unknown daily metric(s): step"),
        ({"date": "2026-11-20", "metrics": {"steps": 1}, "user_id": "x"}, "unknown payload field(s): user_id"),
    ],
)
def test_a_payload_of_the_wrong_shape_says_what_is_wrong(payload, message) -> None:
    with pytest.raises(ValueError) as caught:
        parse_payload(payload)
    assert str(caught.value).startswith(message)


def test_a_well_formed_payload_is_read_with_whole_numbers_for_integer_columns() -> None:
    day, metrics = parse_payload(
        {"date": "2026-11-20", "metrics": {"steps": 8123.0, "hrv_rmssd_ms": 48.5, "resting_hr_bpm": None}}
    )
    assert day == date(2026, 11, 20)
    assert metrics == {"steps": 8123, "hrv_rmssd_ms": 48.5, "resting_hr_bpm": None}
    assert type(metrics["steps"]) is int
