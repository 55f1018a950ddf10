"""An Apple Health export as an uploaded document: stored once, imported from the store, followed on its row.

The export is a `documents` row (type `apple_health_export`) like a lab PDF, so a person follows it the
same way: `parse_status` goes pending → processing → parsed, or failed with the reason in
`error_message`; `parse_result` holds the import report (counts per table, skipped records with their
reasons and line numbers, never a value). The import reads the stored object as a stream (a local file,
or an S3 object spooled to disk past a few MB), so the bytes never travel through memory whole nor
through the broker.

A push from the iOS app Health Auto Export (its JSON body) is a document too (type
`apple_health_push`, `application/json`): the same body posted twice is one document, and it counts as
having arrived when it was first stored, which decides the days it holds whole
(parsers.apple_health.push).

Document bookkeeping runs in the person's scope as the worker role: a person may not set a document's
status or result themselves.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import func, update

from db.apple_health import BATCH_SIZE, ImportResult, Progress, import_apple_health, write_records
from db.documents import store_document
from db.engine import WORKER_ROLE, user_scope
from db.models import Document
from db.models.enums import DocumentType, ParseStatus
from db.storage import DocumentStore, document_store
from db.upsert import UpsertStats
from parsers.apple_health import ExportError
from parsers.apple_health.push import PushError, push_records

EXPORT_TYPE = DocumentType.APPLE_HEALTH_EXPORT
PUSH_TYPE = DocumentType.APPLE_HEALTH_PUSH


class NotAnExportDocument(LookupError):
    """The document does not exist for this person, or is not an Apple Health export."""


@dataclass(frozen=True, slots=True)
class ExportDocument:
    document_id: uuid.UUID
    filename: str | None
    status: ParseStatus
    parsed_at: datetime | None
    error: str | None
    created: bool  # False when these bytes were already this person's document


def store_export(
    user_id: uuid.UUID,
    source: str | Path | IO[bytes],
    *,
    filename: str | None = None,
    store: DocumentStore | None = None,
) -> ExportDocument:
    """Keep an export.zip (or a bare export.xml) as the person's document; the same bytes again are the same row."""
    store = store or document_store()
    if isinstance(source, str | Path):
        with open(source, "rb") as handle:
            return store_export(user_id, handle, filename=filename or Path(source).name, store=store)
    mime = "application/zip" if source.read(2) == b"PK" else "application/xml"
    source.seek(0)
    with user_scope(user_id, role=WORKER_ROLE) as session:
        stored = store_document(
            session, store, user_id, source, document_type=EXPORT_TYPE, filename=filename, mime_type=mime
        )
    return replace(export_document(user_id, stored.document_id), created=stored.created)


def store_push(user_id: uuid.UUID, body: bytes, *, store: DocumentStore | None = None) -> ExportDocument:
    """Keep a push's body (already checked to be one) as the person's document; the same body again is
    the same row, with its first arrival time."""
    store = store or document_store()
    with user_scope(user_id, role=WORKER_ROLE) as session:
        stored = store_document(
            session, store, user_id, body, document_type=PUSH_TYPE, filename=None, mime_type="application/json"
        )
    return replace(export_document(user_id, stored.document_id), created=stored.created)


def import_push_document(
    user_id: uuid.UUID,
    document_id: uuid.UUID,
    *,
    job_id: uuid.UUID | None = None,
    store: DocumentStore | None = None,
) -> dict[str, Any]:
    """Map a stored push into the person's tables as an export's records; the report goes on the document.

    A body that is not a push (`PushError`) marks the document failed and is raised again."""
    key, received_at = _start(user_id, document_id, job_id, PUSH_TYPE)
    store = store or document_store()
    with store.open(key) as handle:
        body = handle.read()
    try:
        records = push_records(body, received_at)
    except PushError as exc:
        mark_failed(user_id, document_id, str(exc), code="not_a_push", job_id=job_id)
        raise
    result = ImportResult(report=records.report)
    for items, omit in records.batches():
        part = write_records(items, user_id, records.report, omit=omit, role=WORKER_ROLE)
        for table, stats in part.written.items():
            total = result.written.setdefault(table, UpsertStats())
            total.inserted += stats.inserted
            total.updated += stats.updated
            total.unchanged += stats.unchanged
        result.pushed_workouts_already_exported += part.pushed_workouts_already_exported
        for column, count in part.dropped_values.items():
            result.dropped_values[column] = result.dropped_values.get(column, 0) + count
    report = {**result.as_dict(), **records.summary(), "received_at": received_at.isoformat()}
    _set(
        user_id,
        document_id,
        job_id,
        parse_status=ParseStatus.PARSED,
        parse_result={**report, **_job(job_id)},
        parsed_at=func.now(),
        error_message=None,
    )
    return report


def export_document(user_id: uuid.UUID, document_id: uuid.UUID) -> ExportDocument:
    with user_scope(user_id, role=WORKER_ROLE) as session:
        document = _get(session, document_id)
        return ExportDocument(
            document.document_id,
            document.original_filename,
            document.parse_status,
            document.parsed_at,
            document.error_message,
            created=False,
        )


def import_export_document(
    user_id: uuid.UUID,
    document_id: uuid.UUID,
    *,
    job_id: uuid.UUID | None = None,
    store: DocumentStore | None = None,
    progress: Progress | None = None,
    source_priority: Sequence[str] = (),
    workers: int | None = None,
    batch_size: int = BATCH_SIZE,
    progress_every: int = 50_000,
) -> ImportResult:
    """Import the stored export into the person's tables and record the outcome on the document.

    An export that cannot be read (`ExportError`) marks the document failed with its message and is
    raised again. Other failures are left to the caller, which knows whether they will be retried
    (`mark_failed` records a final one). Running it again over the same document changes nothing.
    """
    key, _ = _start(user_id, document_id, job_id, EXPORT_TYPE)
    store = store or document_store()
    with store.open(key) as handle:
        try:
            result = import_apple_health(
                handle,
                user_id,
                role=WORKER_ROLE,
                progress=progress,
                source_priority=source_priority,
                workers=workers,
                batch_size=batch_size,
                progress_every=progress_every,
            )
        except ExportError as exc:
            mark_failed(user_id, document_id, str(exc), code=exc.code, job_id=job_id)
            raise
    _set(
        user_id,
        document_id,
        job_id,
        parse_status=ParseStatus.PARSED,
        parse_result={**result.as_dict(), **_job(job_id)},
        parsed_at=func.now(),
        error_message=None,
    )
    return result


def mark_failed(
    user_id: uuid.UUID, document_id: uuid.UUID, message: str, *, code: str = "failed", job_id: uuid.UUID | None = None
) -> None:
    _set(
        user_id,
        document_id,
        job_id,
        parse_status=ParseStatus.FAILED,
        parse_result={"error": code, **_job(job_id)},
        error_message=message,
    )


def _start(
    user_id: uuid.UUID, document_id: uuid.UUID, job_id: uuid.UUID | None, kind: DocumentType
) -> tuple[str, datetime]:
    with user_scope(user_id, role=WORKER_ROLE, request_id=job_id) as session:
        document = _get(session, document_id)
        if document.document_type != kind:
            what = "an Apple Health export" if kind is EXPORT_TYPE else "an Apple Health push"
            raise NotAnExportDocument(
                f"document {document_id} is a {document.document_type.value} document, not {what}"
            )
        document.parse_status = ParseStatus.PROCESSING
        document.error_message = None
        # Whoever looks at the document while it is imported finds the job and its progress.
        document.parse_result = _job(job_id) or None
        return document.s3_key, document.created_at


def _get(session: Any, document_id: uuid.UUID) -> Document:
    document = session.get(Document, document_id)
    if document is None or document.deleted_at is not None:
        raise NotAnExportDocument(f"no document {document_id} for this person")
    return document


def _set(user_id: uuid.UUID, document_id: uuid.UUID, job_id: uuid.UUID | None, **values: Any) -> None:
    with user_scope(user_id, role=WORKER_ROLE, request_id=job_id) as session:
        session.execute(update(Document).where(Document.document_id == document_id).values(**values))


def _job(job_id: uuid.UUID | None) -> dict[str, str]:
    return {"job_id": str(job_id)} if job_id else {}
