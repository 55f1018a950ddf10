"""Partition upkeep: yearly wearable partitions and quarterly audit partitions.

Creating a partition takes an ACCESS EXCLUSIVE lock on the partitioned table until the creating
transaction ends. Done inside a long import, that would stall every user's reads of the table for the
whole import, so writers never create partitions in their own transaction: a missing year is created
first, in a short transaction of its own as the worker role, and the writer goes on once it exists.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.orm import Session

from db.models import PARTITIONED_BY_YEAR


def _engine(bind: Session | Connection | Engine) -> Engine:
    if isinstance(bind, Session):
        bind = bind.get_bind()
    return bind.engine if isinstance(bind, Connection) else bind


def _create(conn: Connection | Session, years: Iterable[int]) -> None:
    for year in sorted(set(years)):
        conn.execute(text("SELECT vitalis_ensure_year_partitions(:year)"), {"year": year})


def missing(session: Session | Connection, table: str, years: Iterable[int]) -> list[int]:
    """The years of `table` that have no partition yet (a catalog lookup: no lock taken)."""
    wanted = sorted(set(years))
    found = session.execute(
        text("SELECT y FROM unnest(CAST(:years AS integer[])) AS y WHERE to_regclass(:table || '_' || y) IS NULL"),
        {"years": wanted, "table": f"public.{table}"},
    ).scalars()
    return list(found)


def ensure_years(bind: Session | Connection | Engine, years: Iterable[int]) -> None:
    """Make sure the wearable tables have a partition for every year in `years`.

    Runs in its own short transaction as the worker role (the api role may not create partitions) and
    commits before returning, whatever transaction `bind` is in. Years outside what validation accepts
    are refused by the database function.
    """
    years = sorted(set(years))
    if not years:
        return
    with _engine(bind).connect() as conn, conn.begin():
        conn.execute(text("SET LOCAL ROLE vitalis_worker"))
        _create(conn, years)


def ensure_for_rows(session: Session, table: str, rows: Iterable[Mapping[str, Any]]) -> None:
    """Create, outside `session`'s transaction, any partition the rows of `table` need and lack."""
    column = PARTITIONED_BY_YEAR.get(table)
    if column is None:
        return
    years = {row[column].year for row in rows if isinstance(row.get(column), date)}
    if years and (needed := missing(session, table, years)):
        ensure_years(session, needed)


@event.listens_for(Session, "before_flush")
def _partitions_for_new_objects(session: Session, flush_context: Any, instances: Any) -> None:
    """ORM inserts get the same treatment as batch upserts."""
    by_table: dict[str, list[dict[str, Any]]] = {}
    for obj in session.new:
        table = getattr(obj, "__tablename__", None)
        if table in PARTITIONED_BY_YEAR:
            column = PARTITIONED_BY_YEAR[table]
            by_table.setdefault(table, []).append({column: getattr(obj, column, None)})
    for table, rows in by_table.items():
        ensure_for_rows(session, table, rows)


def ensure_ahead(session: Session, now: datetime | None = None) -> dict[str, int]:
    """Create next year's wearable partitions and the next four quarters of audit_log ahead of need.

    Runs in its own (nightly) transaction, so it may create partitions there directly.
    """
    now = now or datetime.now(UTC)
    _create(session, (now.year, now.year + 1))
    for quarter in range(5):
        session.execute(text("SELECT vitalis_ensure_audit_partition(:at)"), {"at": now + timedelta(days=92 * quarter)})
    return {"years_ensured": 2, "audit_quarters_ensured": 5}
