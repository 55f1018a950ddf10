"""Writing an Apple Health export: the parser's records, upserted in batches on their natural keys.

Each batch is its own transaction in the person's scope, so an import that fails midway leaves whole
rows behind (never half a batch) and running it again finishes the job: every write is an idempotent
upsert, an unchanged row is not touched, and importing the same file twice changes nothing.

A value the schema refuses (out of its range, too large for its column) is dropped from its row and
counted; a measurement whose value is refused is skipped. Neither stops the import.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import Engine, text, update
from sqlalchemy.orm import Session

from db import partitions
from db.engine import WORKER_ROLE, user_scope
from db.models import Measurement as MeasurementRow
from db.models import User, WearableActivity, WearableDaily, WearableSleep
from db.models.base import Base
from db.models.enums import ActivityType, DataSource, MeasurementMetric
from db.upsert import UpsertStats, upsert
from db.validation import ValidationError, validate_row
from parsers.apple_health import (
    AppleHealthExport,
    DailySummary,
    ImportReport,
    Limits,
    Measurement,
    Profile,
    SleepNight,
    Workout,
)

SOURCE = DataSource.APPLE_HEALTH
BATCH_SIZE = 2000
# When reading in parallel, a table's pending rows are written once the oldest has waited this long.
FLUSH_AFTER_SECONDS = 0.5


@dataclass(frozen=True, slots=True)
class ImportProgress:
    """Where an import is: enough for a terminal bar (bytes) and a job record (records, rows)."""

    records_read: int
    rows_written: int
    bytes_read: int
    bytes_total: int  # export.xml's size as the zip declares it

    @property
    def fraction(self) -> float:
        return min(1.0, self.bytes_read / self.bytes_total) if self.bytes_total else 0.0


Progress = Callable[[ImportProgress], None]


@dataclass(slots=True)
class ImportResult:
    report: ImportReport
    written: dict[str, UpsertStats] = field(default_factory=dict)
    dropped_values: dict[str, int] = field(default_factory=dict)
    profile_updated: list[str] = field(default_factory=list)
    workers: int = 1  # parsing processes the export was read on
    pushed_workouts_already_exported: int = 0  # a push's workouts left out: an export's row has them

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.report.as_dict(),
            "written": {table: stats.as_dict() for table, stats in self.written.items()},
            "dropped_values": self.dropped_values,
            "profile_updated": self.profile_updated,
        } | ({"workouts_already_exported": n} if (n := self.pushed_workouts_already_exported) else {})


def import_apple_health(
    source: str | Path | BinaryIO,
    user_id: uuid.UUID | str,
    *,
    role: str = WORKER_ROLE,
    engine: Engine | None = None,
    limits: Limits | None = None,
    source_priority: Sequence[str] = (),
    progress: Progress | None = None,
    batch_size: int = BATCH_SIZE,
    progress_every: int = 50_000,
    workers: int | None = None,
) -> ImportResult:
    """Import the export at `source` for `user_id`; raises `ExportError` for a file that cannot be read.

    Runs as the worker role by default: an import is work the system does for the person, still
    confined to their rows by the user scope. `progress` is called every `progress_every` records read
    and after every batch written. `workers` > 1 parses on that many processes (not from inside a
    daemonic process such as a Celery prefork worker, where it reads alone); None lets the reader
    choose (two for a large export where it may). `ImportResult.workers` says how many it used.
    """
    read = {"records": 0, "bytes": 0, "total": 0}

    def report() -> None:
        if progress is not None:
            progress(ImportProgress(read["records"], writer.items, read["bytes"], read["total"]))

    def parsed(records: int, bytes_read: int, total: int) -> None:
        read.update(records=records, bytes=bytes_read, total=total)
        report()

    export = AppleHealthExport(
        source,
        limits=limits,
        source_priority=source_priority,
        progress=parsed,
        progress_every=progress_every,
        workers=workers,
    )
    result = ImportResult(report=export.report)
    writer = _Writer(user_id, role=role, engine=engine, result=result, batch_size=batch_size)
    writer.on_write = report
    for item in export:
        if writer.flush_after is None and export.workers > 1:
            # Parsing processes keep working while this one writes: rows written as they come cost
            # no time, where rows left for the end are written while nothing else happens.
            writer.flush_after = FLUSH_AFTER_SECONDS
        writer.add(item)
    writer.flush()
    result.workers = export.workers
    return result


def write_records(
    items: Iterable[Any],
    user_id: uuid.UUID | str,
    report: ImportReport,
    *,
    omit: Mapping[str, frozenset[str]] | None = None,
    role: str = WORKER_ROLE,
    engine: Engine | None = None,
    batch_size: int = BATCH_SIZE,
) -> ImportResult:
    """Write records mapped elsewhere (the push endpoint's) as an import writes them; `omit` names, per
    table, columns to leave as they are stored."""
    result = ImportResult(report=report)
    writer = _Writer(user_id, role=role, engine=engine, result=result, batch_size=batch_size)
    writer.omit = omit or {}
    for item in items:
        writer.add(item)
    writer.flush()
    return result


class _Writer:
    def __init__(
        self, user_id: uuid.UUID | str, *, role: str, engine: Engine | None, result: ImportResult, batch_size: int
    ) -> None:
        self._user_id = uuid.UUID(str(user_id))
        self._role = role
        self._engine = engine
        self._result = result
        self._batch_size = batch_size
        self._pending: dict[type[Base], list[dict[str, Any]]] = {}
        self._since: dict[type[Base], float] = {}
        self.flush_after: float | None = None
        self.items = 0
        self.on_write: Callable[[], None] | None = None
        self.omit: Mapping[str, frozenset[str]] = {}  # table -> columns left as stored (a push's unknowns)

    def add(self, item: Any) -> None:
        if isinstance(item, Profile):
            self._profile(item)
            return
        model, row = _row(item, self._user_id)
        omitted = self.omit.get(model.__tablename__)
        if omitted:
            row = {column: value for column, value in row.items() if column not in omitted}
        row = self._valid(model.__tablename__, row)
        if row is None:
            return
        rows = self._pending.setdefault(model, [])
        rows.append(row)
        if len(rows) == 1:
            self._since[model] = time.monotonic()
        if len(rows) >= self._batch_size or (
            self.flush_after is not None and time.monotonic() - self._since[model] >= self.flush_after
        ):
            self._write(model)

    def flush(self) -> None:
        for model in list(self._pending):
            self._write(model)

    def _write(self, model: type[Base]) -> None:
        rows = self._pending.pop(model, [])
        if not rows:
            return
        with user_scope(self._user_id, role=self._role, engine=self._engine) as session:
            if model is WearableActivity:
                rows = self._one_row_per_workout(session, rows)
            stats = upsert(session, model, rows) if rows else UpsertStats()
        total = self._result.written.setdefault(model.__tablename__, UpsertStats())
        total.inserted += stats.inserted
        total.updated += stats.updated
        total.unchanged += stats.unchanged
        self.items += len(rows)
        if self.on_write is not None:
            self.on_write()

    def _one_row_per_workout(self, session: Session, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One row per workout whether it came in an export, a push, or both.

        A push names a workout by the app's id and no source, an export by its source and no id, so the
        two keys never meet: the same run would be two rows. A workout is the same when its HealthKit type
        and start second are. The export's row is the one kept (it knows the source, the statistics, the
        route): an export's workout replaces a push's row of it, and a push's workout already stored from
        an export is left out.
        """
        # New years' partitions first: created later, they would wait on this transaction's locks.
        partitions.ensure_for_rows(session, WearableActivity.__tablename__, rows)
        pushed = [r for r in rows if _from_push(r)]
        exported = [r for r in rows if not _from_push(r)]
        if exported:
            session.execute(
                text("""
                    DELETE FROM wearable_activities w
                    USING unnest(CAST(:types AS text[]), CAST(:starts AS timestamptz[])) AS e(type, start_time)
                    WHERE w.user_id = :user AND w.source = :source AND w.raw_data ? 'push_id'
                      AND w.raw_data ->> 'type' = e.type AND w.start_time = e.start_time"""),
                {
                    "user": self._user_id,
                    "source": SOURCE.value,
                    "types": [r["raw_data"].get("type") for r in exported],
                    "starts": [r["start_time"] for r in exported],
                },
            )
        if pushed:
            known = set(
                tuple(row)
                for row in session.execute(
                    text("""
                        SELECT w.raw_data ->> 'type', w.start_time FROM wearable_activities w
                        JOIN unnest(CAST(:types AS text[]), CAST(:starts AS timestamptz[])) AS p(type, start_time)
                          ON w.raw_data ->> 'type' = p.type AND w.start_time = p.start_time
                        WHERE w.user_id = :user AND w.source = :source AND NOT w.raw_data ? 'push_id'"""),
                    {
                        "user": self._user_id,
                        "source": SOURCE.value,
                        "types": [r["raw_data"].get("type") for r in pushed],
                        "starts": [r["start_time"] for r in pushed],
                    },
                )
            )
            exported_here = {(r["raw_data"].get("type"), r["start_time"]) for r in exported}
            kept = [r for r in pushed if not _same_workout(r, known | exported_here)]
            self._result.pushed_workouts_already_exported += len(pushed) - len(kept)
            pushed = kept
        return exported + pushed

    def _valid(self, table: str, row: dict[str, Any]) -> dict[str, Any] | None:
        """The row with every value the schema refuses set to None; None if a required value is refused."""
        for _ in range(len(row)):
            try:
                validate_row(table, row)
                return row
            except ValidationError as error:
                column = error.field.rsplit(".", 1)[-1]
                self._result.dropped_values[error.field] = self._result.dropped_values.get(error.field, 0) + 1
                if column in _REQUIRED.get(table, ()) or column not in row or row[column] is None:
                    return None
                row[column] = None
        return None

    def _profile(self, profile: Profile) -> None:
        """Date of birth and sex from the export, only where the person has not given their own."""
        values = {"date_of_birth": profile.date_of_birth, "biological_sex": profile.biological_sex}
        with user_scope(self._user_id, role=self._role, engine=self._engine) as session:
            user = session.get(User, self._user_id)
            if user is None:
                return
            missing = {k: v for k, v in values.items() if v is not None and getattr(user, k) is None}
            if "date_of_birth" in missing:
                try:
                    validate_row("users", {"date_of_birth": missing["date_of_birth"]})
                except ValidationError:
                    self._result.dropped_values["users.date_of_birth"] = 1
                    del missing["date_of_birth"]
            if missing:
                session.execute(update(User).where(User.user_id == self._user_id).values(**missing))
                self._result.profile_updated = sorted(missing)


_REQUIRED = {
    "measurements": ("value", "unit", "measured_at", "metric"),
    "wearable_daily": ("date",),
    "wearable_sleep": ("sleep_date",),
    "wearable_activities": ("activity_date",),
}


def _from_push(row: Mapping[str, Any]) -> bool:
    return isinstance(row.get("raw_data"), dict) and "push_id" in row["raw_data"]


def _same_workout(row: Mapping[str, Any], known: set[tuple[Any, Any]]) -> bool:
    # Aware datetimes hash by their instant, so an offset of the export's and UTC from the database meet.
    return (row["raw_data"].get("type"), row["start_time"]) in known


def _row(item: Any, user_id: uuid.UUID) -> tuple[type[Base], dict[str, Any]]:
    base = {"user_id": user_id, "source": SOURCE}
    if isinstance(item, DailySummary):
        return WearableDaily, {
            **base,
            "date": item.day,
            "steps": item.steps,
            "distance_m": item.distance_m,
            "active_calories_kcal": item.active_calories_kcal,
            "total_calories_kcal": item.total_calories_kcal,
            "active_minutes": item.active_minutes,
            "floors_climbed": item.floors_climbed,
            "resting_hr_bpm": item.resting_hr_bpm,
            "max_hr_bpm": item.max_hr_bpm,
            "hrv_sdnn_ms": item.hrv_sdnn_ms,
            "spo2_avg_pct": item.spo2_avg_pct,
            "spo2_min_pct": item.spo2_min_pct,
            "respiratory_rate_avg": item.respiratory_rate_avg,
            "vo2_max_ml_kg_min": item.vo2_max_ml_kg_min,
            "raw_data": item.raw or None,
        }
    if isinstance(item, SleepNight):
        return WearableSleep, {
            **base,
            "sleep_date": item.sleep_date,
            "sleep_start": item.sleep_start,
            "sleep_end": item.sleep_end,
            "total_sleep_minutes": item.total_sleep_minutes,
            "rem_minutes": item.rem_minutes,
            "deep_minutes": item.deep_minutes,
            "light_minutes": item.light_minutes,
            "awake_minutes": item.awake_minutes,
            "interruptions": item.interruptions,
            "sleep_efficiency_pct": item.sleep_efficiency_pct,
            "hypnogram": item.hypnogram,
            "raw_data": {"source_name": item.source_name},
        }
    if isinstance(item, Workout):
        return WearableActivity, {
            **base,
            "source_activity_id": item.source_activity_id,
            "activity_date": item.activity_date,
            "activity_type": ActivityType(item.activity_type),
            "activity_name": item.activity_name,
            "start_time": item.start_time,
            "end_time": item.end_time,
            "duration_seconds": item.duration_seconds,
            "distance_m": item.distance_m,
            "calories_kcal": item.calories_kcal,
            "avg_hr_bpm": item.avg_hr_bpm,
            "max_hr_bpm": item.max_hr_bpm,
            "avg_speed_kmh": item.avg_speed_kmh,
            "avg_pace_sec_per_km": item.avg_pace_sec_per_km,
            "elevation_gain_m": item.elevation_gain_m,
            "raw_data": item.raw,
        }
    if isinstance(item, Measurement):
        return MeasurementRow, {
            **base,
            "metric": MeasurementMetric(item.metric),
            "value": item.value,
            "unit": item.unit,
            "measured_at": item.measured_at,
        }
    raise TypeError(f"no table for {type(item).__name__}")
