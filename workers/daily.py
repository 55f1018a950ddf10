"""Recording a daily summary from a job payload: parse, validate, upsert on (user, date, source)."""

from __future__ import annotations

import uuid
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


def record_daily(session: Session, user_id: uuid.UUID, source: DataSource, payload: dict[str, Any]) -> dict[str, Any]:
    try:
        day = date.fromisoformat(str(payload["date"]))
    except KeyError:
        raise ValueError("payload.date is missing (expected YYYY-MM-DD)") from None
    except ValueError:
        raise ValueError(f"payload.date {payload['date']!r} is not a date (expected YYYY-MM-DD)") from None
    metrics = payload.get("metrics") or {}
    unknown = sorted(set(metrics) - DAILY_METRICS)
    if unknown:
        raise ValueError(f"unknown daily metric(s): {', '.join(unknown)}")
    if not metrics:
        raise ValueError("payload.metrics is empty: nothing to record")
    row = {"user_id": user_id, "date": day, "source": source, **metrics}
    stats = upsert(session, WearableDaily, [row])
    return {"date": day.isoformat(), "metrics": len(metrics), **stats.as_dict()}
