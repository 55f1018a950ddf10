"""Uploaded files: the bytes go to the document store, a `documents` row records where, how big, which hash.

The same bytes uploaded twice by one person are one object and one row. The object key carries the
SHA-256 (`users/<user_id>/<sha256>`), so the row's `s3_key` is also its content hash until the schema
has a column of its own for it. Rows are written by the system (worker role): a person may not choose
a storage key.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Any

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from db.models import Document
from db.models.enums import DocumentType, JobStatus, ParseStatus
from db.storage import DocumentStore, StoredObject, put_content


@dataclass(frozen=True, slots=True)
class StoredDocument:
    document_id: uuid.UUID
    key: str
    size: int
    sha256: str
    created: bool  # False when these bytes were already this user's document


def document_prefix(user_id: uuid.UUID) -> str:
    return f"users/{user_id}"


def store_document(
    session: Session,
    store: DocumentStore,
    user_id: uuid.UUID,
    source: bytes | IO[bytes],
    *,
    document_type: DocumentType = DocumentType.BLOOD_WORK,
    filename: str | None = None,
    mime_type: str = "application/pdf",
) -> StoredDocument:
    """Put the bytes in the store and record them for the user once; a repeat returns the existing row.

    The bytes are stored before the row is written: a row never points at a missing object, and an
    object whose transaction rolled back is simply picked up by the next upload of the same bytes.
    """
    stored = put_content(store, document_prefix(user_id), source)
    return record_document(session, user_id, stored, document_type=document_type, filename=filename, mime=mime_type)


def record_document(
    session: Session,
    user_id: uuid.UUID,
    stored: StoredObject,
    *,
    document_type: DocumentType = DocumentType.BLOOD_WORK,
    filename: str | None = None,
    mime: str = "application/pdf",
) -> StoredDocument:
    # Two uploads of the same bytes at once would both miss the lookup below; a transaction-level lock
    # on the key makes the second wait for the first and then find its row (no unique index exists yet).
    session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 16))"), {"key": stored.key})
    existing = session.scalar(
        select(Document.document_id)
        .where(Document.user_id == user_id, Document.s3_key == stored.key, Document.deleted_at.is_(None))
        .order_by(Document.created_at)
        .limit(1)
    )
    if existing is not None:
        return StoredDocument(existing, stored.key, stored.size, stored.sha256, created=False)
    document = Document(
        user_id=user_id,
        document_type=document_type,
        original_filename=filename,
        s3_key=stored.key,
        file_size_bytes=stored.size,
        mime_type=mime,
    )
    session.add(document)
    session.flush()
    return StoredDocument(document.document_id, stored.key, stored.size, stored.sha256, created=True)


def fail_documents_of(failed_jobs: Iterable[Any]) -> int:
    """Fail the documents that jobs failed elsewhere (the sweeper, a last attempt's lost worker) were
    working on, with the job's reason: a job whose payload names a `document_id` (an Apple Health import
    or push, a lab report) would otherwise leave its document `processing` for good.

    Each job is a `db.jobs.JobSnapshot`. Only a document still pending or processing is changed, in its
    owner's scope (worker role); one that was parsed or confirmed meanwhile keeps its state. Returns the
    number of documents failed.
    """
    from db.engine import WORKER_ROLE, user_scope

    failed = 0
    for job in failed_jobs:
        raw = job.payload.get("document_id") if isinstance(job.payload, dict) else None
        if job.user_id is None or raw is None or job.status is not JobStatus.FAILED:
            continue
        try:
            document_id = uuid.UUID(str(raw))
        except ValueError:
            continue
        with user_scope(job.user_id, role=WORKER_ROLE, request_id=job.job_id) as session:
            done = session.execute(
                update(Document)
                .where(
                    Document.document_id == document_id,
                    Document.parse_status.in_((ParseStatus.PENDING, ParseStatus.PROCESSING)),
                )
                .values(
                    parse_status=ParseStatus.FAILED,
                    error_message=job.error_message,
                    parse_result=func.coalesce(Document.parse_result, text("'{}'::jsonb")).op("||")(
                        func.jsonb_build_object("error", "job_failed", "job_id", str(job.job_id))
                    ),
                )
                .returning(Document.document_id)
            ).first()
        failed += done is not None
    return failed
