"""Recording a daily summary from a job payload: check its shape, validate, upsert on (user, date, source)."""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from db.models import WearableDaily
from db.models.enums import DataSource
from db.upsert import upsert

# Metric columns a daily summary may carry; identity and bookkeeping columns are not the caller's to set.
DAILY_METRICS = frozenset(
    c.name
    for c in WearableDaily.__table__.columns
    if c.name not in {"daily_id", "user_id", "date", "source", "raw_data", "created_at", "updated_at"}
)
WHOLE_NUMBER_METRICS = frozenset(
    c.name for c in WearableDaily.__table__.columns if c.name in DAILY_METRICS and c.type.python_type is int
)
PAYLOAD_FIELDS = ("date", "metrics")
SHAPE = 'expected {"date": "YYYY-MM-DD", "metrics": {"steps": 8123, ...}}'


def _kind(value: Any) -> str:
    return {list: "a list", str: "a string", bool: "true/false", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def parse_payload(payload: Any) -> tuple[date, dict[str, int | float | None]]:
    """The payload's date and metrics, or a ValueError that says what is wrong in plain words."""
    if not isinstance(payload, Mapping):
        raise ValueError(f"the payload is {_kind(payload)}; {SHAPE}")
    unknown_fields = sorted(set(payload) - set(PAYLOAD_FIELDS))
    if unknown_fields:
        raise ValueError(f"unknown payload field(s): {', '.join(map(str, unknown_fields))}; {SHAPE}")
    if "date" not in payload:
        raise ValueError("payload.date is missing (expected YYYY-MM-DD)")
    try:
        day = date.fromisoformat(payload["date"]) if isinstance(payload["date"], str) else None
    except ValueError:
        day = None
    if day is None:
        raise ValueError(f"payload.date {payload['date']!r} is not a date (expected YYYY-MM-DD)")
    metrics = payload.get("metrics")
    if metrics is None or metrics == {}:
        raise ValueError("payload.metrics is empty: nothing to record")
    if not isinstance(metrics, Mapping):
        raise ValueError(f"payload.metrics is {_kind(metrics)}; expected an object of metric name → number")
    unknown = sorted(set(metrics) - DAILY_METRICS)
    if unknown:
        raise ValueError(f"unknown daily metric(s): {', '.join(map(str, unknown))}")
    checked: dict[str, int | float | None] = {}
    for name, value in metrics.items():
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"payload.metrics.{name} is {_kind(value)}; expected a number")
            if not math.isfinite(value):
                raise ValueError(f"payload.metrics.{name} is {value}; expected a finite number")
            if name in WHOLE_NUMBER_METRICS:
                if not float(value).is_integer():
                    raise ValueError(f"payload.metrics.{name} is {value}; expected a whole number")
                value = int(value)
        checked[name] = value
    return day, checked


def record_daily(session: Session, user_id: uuid.UUID, source: DataSource, payload: Any) -> dict[str, Any]:
    day, metrics = parse_payload(payload)
    row = {"user_id": user_id, "date": day, "source": source, **metrics}
    stats = upsert(session, WearableDaily, [row])
    return {"date": day.isoformat(), "metrics": len(metrics), **stats.as_dict()}
