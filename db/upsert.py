"""Validated, idempotent batch writes: INSERT … ON CONFLICT on the natural keys of seed 003 §6."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, func, literal_column, or_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from db import partitions
from db.models import Base
from db.models.labs import marker_key
from db.validation import validate_row

BATCH_SIZE = 1000


@dataclass(slots=True)
class UpsertStats:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"inserted": self.inserted, "updated": self.updated, "unchanged": self.unchanged}


def upsert(
    session: Session,
    model: type[Base],
    rows: Iterable[Mapping[str, Any]],
    key: Sequence[str] | None = None,
    merge: Sequence[str] = (),
) -> UpsertStats:
    """Insert `rows` or update the existing row with the same `key`; identical rows are left untouched.

    `key` defaults to the table's natural key (NATURAL_KEYS). `merge` names JSONB columns whose objects
    are merged into the stored one instead of replacing it: several provider resources fill one daily
    row, and each keeps its own payload under its own key of raw_data.

    Every row is validated first, so one bad value refuses the whole batch before anything is written.
    Duplicates inside the batch are folded (the last one wins), as PostgreSQL refuses to update one row
    twice in a statement. Rows must all carry the same columns: a missing column is not a NULL.
    """
    table = model.__table__
    key = key or NATURAL_KEYS[table.name]
    derived = {k: DERIVED_KEYS[(table.name, k)] for k in key if (table.name, k) in DERIVED_KEYS}
    folded: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        validate_row(table.name, row)
        natural = tuple(derived[k](row) if k in derived else row[k] for k in key)
        row = dict(row)
        if merge and natural in folded:
            for column in merge:
                row[column] = {**(folded[natural].get(column) or {}), **(row.get(column) or {})}
        folded[natural] = row
    stats = UpsertStats()
    if not folded:
        return stats
    batch = list(folded.values())
    columns = set(batch[0])
    if any(set(r) != columns for r in batch):
        raise ValueError(f"{table.name}: every row of a batch must carry the same columns")
    partitions.ensure_for_rows(session, table.name, batch)

    update_columns = sorted(columns - set(key) - {c.name for c in table.primary_key.columns})
    stmt = pg_insert(table)
    if update_columns:
        new = {
            c: func.coalesce(table.c[c], literal_column("'{}'::jsonb")).op("||")(stmt.excluded[c])
            if c in merge
            else stmt.excluded[c]
            for c in update_columns
        }
        stmt = stmt.on_conflict_do_update(
            index_elements=list(key),
            set_=new,
            where=or_(*(table.c[c].is_distinct_from(new[c]) for c in update_columns)),
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(key))
    stmt = stmt.returning(_inserted_flag(table))
    for start in range(0, len(batch), BATCH_SIZE):
        chunk = batch[start : start + BATCH_SIZE]
        # One statement compiled once, executed as multi-row VALUES pages (SQLAlchemy's insertmanyvalues).
        flags = session.execute(stmt, chunk).scalars().all()
        inserted = sum(flags)
        stats.inserted += inserted
        stats.updated += len(flags) - inserted
        stats.unchanged += len(chunk) - len(flags)
    return stats


def _inserted_flag(table: Table) -> Any:
    """True for a row this statement inserted, false for one it updated.

    xmax, the usual tell, cannot be read from a partitioned table. An update stamps updated_at with the
    wall clock (set_updated_at), so a row whose two stamps are still equal was just inserted. A table
    without updated_at falls back to created_at being this transaction's start.
    """
    if "updated_at" in table.c:
        return literal_column("created_at = updated_at")
    return literal_column("created_at = transaction_timestamp()")


# The dedup keys of seed 003 §6 (and of the tables whose uniques imply one).
NATURAL_KEYS: dict[str, Sequence[str]] = {
    "wearable_daily": ("user_id", "date", "source"),
    "wearable_sleep": ("user_id", "sleep_date", "source"),
    "wearable_activities": ("user_id", "source", "source_activity_id", "activity_date"),
    "blood_markers": ("panel_id", "marker_key"),
    "measurements": ("user_id", "metric", "measured_at", "source"),
    "mood_journal": ("user_id", "journal_date"),
    "menstrual_cycles": ("user_id", "cycle_date"),
}

# Key columns the database generates from others: the same rule in Python folds a batch's duplicates.
DERIVED_KEYS: dict[tuple[str, str], Callable[[Mapping[str, Any]], Any]] = {
    ("blood_markers", "marker_key"): lambda row: marker_key(row.get("biomarker_id"), row["raw_name"]),
}
