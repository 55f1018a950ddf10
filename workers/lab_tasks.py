"""Lab reports on the `documents` queue: a job names a stored document, never carries its bytes.

The task re-reads the document, parses it (`db.lab_reports.parse_document`, which keeps the parse on the
document for review) and records a summary on the job row: results found, lines left unread, results
that need review, LLM calls and rejections. A PDF that cannot be read fails the job and the document
with the same specific reason. A job run again re-uses the stored extraction and LLM answers.

`parse_lab_document` is the plain function behind the task; `vitalis import lab` calls it too.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from celery import Celery, shared_task

from db import jobs
from db.engine import WORKER_ROLE, user_scope
from db.models import Document
from db.models.enums import DataSource, JobType, ParseStatus
from db.storage import StoreError
from parsers.labs.extract import Progress
from workers.job_progress import JobProgress
from workers.jobtask import JobTask, TransientError

if TYPE_CHECKING:  # the openai client is imported only when an endpoint is configured
    from parsers.labs.llm import LlmReader

log = logging.getLogger(__name__)

TASK_NAME = "vitalis.documents.parse_lab_report"


class UnreadableReport(ValueError):
    """The PDF could not be read; the message is the reason recorded on the document."""


@shared_task(bind=True, base=JobTask, name=TASK_NAME)
def parse_lab_report(self: JobTask, job_id: str) -> dict[str, Any]:
    """Parse a stored lab report for review (payload: document_id; llm true/false; ask_llm)."""

    def work(job: jobs.JobSnapshot) -> dict[str, Any]:
        if job.user_id is None:
            raise ValueError("a lab report job needs a user")
        document_id, use_llm, ask_llm = _read_payload(job.payload)
        return parse_lab_document(
            job.user_id,
            document_id,
            use_llm=use_llm,
            ask_llm=ask_llm,
            progress=page_progress(JobProgress(job)),
            request_id=job.job_id,
        )

    return self.run_job(job_id, work)


def enqueue_lab_report(
    user_id: uuid.UUID, document_id: uuid.UUID, *, use_llm: bool | None = None, app: Celery | None = None
) -> uuid.UUID:
    """Queue the parse of a stored document (on `app`, default workers.app); returns the job id."""
    from workers.tasks import enqueue

    task = app.tasks[TASK_NAME] if app is not None else TASK_NAME
    payload = {"document_id": str(document_id), "llm": use_llm, "ask_llm": False}
    return enqueue(task, JobType.DOCUMENT_PARSE, user_id=user_id, source=DataSource.LAB_REPORT, payload=payload)


def parse_lab_document(
    user_id: uuid.UUID,
    document_id: uuid.UUID,
    *,
    use_llm: bool | None = None,
    ask_llm: bool = False,
    progress: Progress | None = None,
    request_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """Parse one stored document of the user and return its summary; UnreadableReport if the PDF is broken.

    `use_llm`: None asks the model when an endpoint is configured, True insists on one, False never asks.
    A confirmed document is not parsed again: its summary is returned as it stands.
    """
    from db.lab_reports import DocumentError, parse_document
    from db.lab_review import summary
    from db.storage import document_store

    reader = llm_reader(use_llm)
    store = document_store()
    with user_scope(user_id, role=WORKER_ROLE, request_id=request_id) as session:
        # Locked, as parse_document locks it: a parse and a confirmation of one document take turns.
        document = session.get(Document, document_id, with_for_update=True)
        if document is None:
            raise DocumentError(f"no document {document_id} for this user")
        if document.confirmed_at is None:
            try:
                parse_document(session, store, document_id, llm=reader, ask_llm=ask_llm, progress=progress)
            except KeyError:  # the store's "no object under this key"
                raise DocumentError(f"the file of document {document_id} is missing from the document store") from None
            except StoreError as exc:
                raise TransientError(str(exc)) from None
        outcome = summary(document)
    # Raised after the scope committed, so the document keeps its failed status and reason.
    if document.parse_status is ParseStatus.FAILED:
        raise UnreadableReport(document.error_message or "the PDF could not be read")
    return outcome


def llm_reader(use_llm: bool | None) -> LlmReader | None:
    from parsers.labs.llm import LlmReader, LlmSettings

    if use_llm is False:
        return None
    settings = LlmSettings.from_env()
    if settings is None:
        if use_llm:
            raise ValueError("no LLM endpoint is configured: set OPENAI_BASE_URL (and OPENAI_API_KEY)")
        return None
    return LlmReader(settings)


def page_progress(recorder: JobProgress) -> Callable[[int, int], None]:
    """Pages read so far, on the job row, for reports of more than one page; the last page always."""

    def report(done: int, total: int) -> None:
        if total >= 2:
            recorder.update({"stage": "reading pages", "done": done, "total": total}, force=done == total)

    return report


def _read_payload(payload: Any) -> tuple[uuid.UUID, bool | None, bool]:
    if not isinstance(payload, dict):
        raise ValueError("payload must be an object with a document_id")
    raw = payload.get("document_id")
    try:
        document_id = uuid.UUID(str(raw))
    except ValueError:
        raise ValueError(f"payload.document_id {raw!r} is not a document id") from None
    use_llm = payload.get("llm")
    if use_llm not in (None, True, False):
        raise ValueError("payload.llm must be true, false or null")
    return document_id, use_llm, bool(payload.get("ask_llm", False))
