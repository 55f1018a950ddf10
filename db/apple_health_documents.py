"""An Apple Health export as an uploaded document: stored once, imported from the store, followed on its row.

The export is a `documents` row (type `apple_health_export`) like a lab PDF, so a person follows it the
same way: `parse_status` goes pending → processing → parsed, or failed with the reason in
`error_message`; `parse_result` holds the import report (counts per table, skipped records with their
reasons and line numbers, never a value). The import reads the stored object as a stream (a local file,
or an S3 object spooled to disk past a few MB), so the bytes never travel through memory whole nor
through the broker.

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

from db.apple_health import BATCH_SIZE, ImportResult, Progress, import_apple_health
from db.documents import store_document
from db.engine import WORKER_ROLE, user_scope
from db.models import Document
from db.models.enums import DocumentType, ParseStatus
from db.storage import DocumentStore, document_store
from parsers.apple_health import ExportError

EXPORT_TYPE = DocumentType.APPLE_HEALTH_EXPORT


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
    key = _start(user_id, document_id, job_id)
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


def _start(user_id: uuid.UUID, document_id: uuid.UUID, job_id: uuid.UUID | None) -> str:
    with user_scope(user_id, role=WORKER_ROLE, request_id=job_id) as session:
        document = _get(session, document_id)
        if document.document_type != EXPORT_TYPE:
            raise NotAnExportDocument(
                f"document {document_id} is a {document.document_type.value} document, not an Apple Health export"
            )
        document.parse_status = ParseStatus.PROCESSING
        document.error_message = None
        # Whoever looks at the document while it is imported finds the job and its progress.
        document.parse_result = _job(job_id) or None
        return document.s3_key


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
