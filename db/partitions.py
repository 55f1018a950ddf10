"""Partition upkeep: yearly wearable partitions and quarterly audit partitions, created on demand."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session


def ensure_years(session: Session, years: Iterable[int]) -> None:
    """Make sure the wearable tables have a partition for every year in `years` (idempotent)."""
    for year in sorted(set(years)):
        session.execute(text("SELECT vitalis_ensure_year_partitions(:year)"), {"year": year})


def ensure_for_dates(session: Session, dates: Iterable[date]) -> None:
    ensure_years(session, (d.year for d in dates))


def ensure_ahead(session: Session, now: datetime | None = None) -> dict[str, int]:
    """Create next year's wearable partitions and the next four quarters of audit_log ahead of need.

    Writers create missing partitions themselves; doing it ahead keeps that rare path off the hot one.
    """
    now = now or datetime.now(UTC)
    ensure_years(session, (now.year, now.year + 1))
    for quarter in range(5):
        session.execute(text("SELECT vitalis_ensure_audit_partition(:at)"), {"at": now + timedelta(days=92 * quarter)})
    return {"years_ensured": 2, "audit_quarters_ensured": 5}
