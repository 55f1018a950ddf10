"""Lab reports through a real worker on both brokers: a stored document in, a parse for review and a job
summary out; a broken PDF fails the job and the document with its reason; a re-run re-uses the parse."""

from __future__ import annotations

import hashlib
import uuid

import pytest
from celery.contrib.testing.worker import start_worker
from celery.result import AsyncResult
from sqlalchemy import func, select

from db import jobs
from db.documents import store_document
from db.engine import WORKER_ROLE, admin_scope, user_scope, worker_scope
from db.models import BloodMarker, Document, IngestionJob, User
from db.models.enums import JobStatus, JobType, ParseStatus
from db.storage import document_store
from tests.helpers import TEST_DATABASE_URL
from tests.parsers.labs import reports
from workers.app import make_app
from workers.cli import main
from workers.job_progress import JobProgress
from workers.jobtask import JobFailed
from workers.lab_tasks import TASK_NAME, enqueue_lab_report, page_progress, parse_lab_document
from workers.tasks import create_job

TIMEOUT = 60


@pytest.fixture(scope="module", autouse=True)
def _dictionary(engine) -> None:
    from db.reference import seed_reference_data

    with admin_scope() as session:
        seed_reference_data(session)


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    # The document store of the worker (in this process) and of the test: a directory under VITALIS_HOME.
    monkeypatch.setenv("VITALIS_HOME", str(tmp_path))
    monkeypatch.delenv("VITALIS_DOCUMENT_STORE", raising=False)
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture(scope="module", params=["redis", "database"])
def app(request, engine, redis_url):
    if request.param == "redis":
        app = make_app(broker_url=redis_url, result_backend=redis_url)
    else:
        app = make_app(broker_url=f"sqla+{TEST_DATABASE_URL}", result_backend=f"db+{TEST_DATABASE_URL}")
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20, queues=["documents"]):
        yield app


def _upload(user, pdf: bytes) -> uuid.UUID:
    with user_scope(user, role=WORKER_ROLE) as session:
        return store_document(session, document_store(), user, pdf, filename="report.pdf").document_id


def _run(app, job_id):
    with worker_scope() as session:
        task_id = session.get(IngestionJob, job_id).task_id
    return AsyncResult(task_id, app=app).get(timeout=TIMEOUT)


def _job(job_id) -> jobs.JobSnapshot:
    with worker_scope() as session:
        return jobs.get(session, job_id)


def _document(user, document_id) -> Document:
    with user_scope(user) as session:
        return session.get(Document, document_id)


def _marker_count(user) -> int:
    with user_scope(user) as session:
        return session.scalar(select(func.count()).select_from(BloodMarker).where(BloodMarker.user_id == user))


def test_a_report_is_parsed_for_review_on_the_documents_queue_and_a_rerun_reuses_the_parse(
    app, committed_users, home
) -> None:
    user, _ = committed_users
    report = reports.quest()
    document_id = _upload(user, report.pdf)

    job_id = enqueue_lab_report(user, document_id, app=app)
    summary = _run(app, job_id)

    assert summary == {
        "document_id": str(document_id),
        "status": "needs_review",
        "pages": 2,
        "ocr_pages": 0,
        "results": len(report.truth),
        "unresolved": 2,  # the two sentences of the lipid footnote
        "needs_review": 3,  # a marker the dictionary does not know, two urine values printed without a unit
        "llm_calls": 0,
        "llm_rejected": 0,
    }
    job = _job(job_id)
    assert (job.status, job.job_type, job.attempts, job.result) == (
        JobStatus.SUCCEEDED,
        JobType.DOCUMENT_PARSE,
        1,
        summary,
    )
    assert job.payload == {"document_id": str(document_id), "llm": None, "ask_llm": False}  # an id, no bytes
    with worker_scope() as session:
        assert session.get(IngestionJob, job_id).task_name == TASK_NAME
    document = _document(user, document_id)
    assert document.parse_status == ParseStatus.NEEDS_REVIEW
    assert len(document.parse_result["markers"]) == len(report.truth)
    assert _marker_count(user) == 0  # nothing counts before a person confirms

    # With the file gone from the store, a new job still parses: the stored extraction is re-used.
    (home / "documents" / "users" / str(user) / hashlib.sha256(report.pdf).hexdigest()).unlink()
    again = enqueue_lab_report(user, document_id, app=app)
    assert _run(app, again) == summary
    assert _job(again).status == JobStatus.SUCCEEDED


def test_a_broken_pdf_fails_the_job_and_the_document_with_its_reason(app, committed_users) -> None:
    user, _ = committed_users
    document_id = _upload(user, b"%PDF-1.4\n" + b"\0" * 500)
    job_id = enqueue_lab_report(user, document_id, app=app)

    with pytest.raises(JobFailed, match=r"failed \(UnreadableReport\); the job record holds the details") as caught:
        _run(app, job_id)
    assert "incomplete" not in str(caught.value)  # the reason stays on the rows, off the broker

    reason = "the PDF is incomplete (its end is missing): upload the whole file again"
    job = _job(job_id)
    assert (job.status, job.attempts, job.error_message) == (JobStatus.FAILED, 1, f"UnreadableReport: {reason}")
    document = _document(user, document_id)
    assert (document.parse_status, document.error_message) == (ParseStatus.FAILED, reason)


def test_the_llm_path_reports_its_calls_and_rejections_and_a_rerun_does_not_call_again(
    app, committed_users, monkeypatch
) -> None:
    from tests.parsers.labs.fake_llm import answer, fake_llm, result
    from tests.parsers.labs.test_llm import narrative_pdf

    user, _ = committed_users
    document_id = _upload(user, narrative_pdf())
    with fake_llm() as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)  # read by the worker, in this process
        monkeypatch.setenv("OPENAI_API_KEY", "test")
        # One grounded answer and one the page does not contain: the second is rejected, never stored.
        server.script = [answer(result("Ferritin", "45", "ng/mL", "30-400"), result("Vitamin D", "33", "ng/mL"))]
        first = _run(app, enqueue_lab_report(user, document_id, app=app))
        second = _run(app, enqueue_lab_report(user, document_id, app=app))
        assert len(server.requests) == 1
    assert (first["results"], first["llm_calls"], first["llm_rejected"], first["needs_review"]) == (1, 1, 1, 1)
    assert (second["results"], second["llm_calls"]) == (1, 0)  # the stored answers were used


def test_a_payload_without_a_document_fails_in_plain_words(app, committed_users) -> None:
    from workers.tasks import enqueue

    user, _ = committed_users
    job_id = enqueue(app.tasks[TASK_NAME], JobType.DOCUMENT_PARSE, user_id=user, payload={"document_id": "report.pdf"})
    with pytest.raises(JobFailed):
        _run(app, job_id)
    assert _job(job_id).error_message == "ValueError: payload.document_id 'report.pdf' is not a document id"


class _Watched(JobProgress):
    """Reads the job row back after each progress write, as `vitalis jobs` would see it."""

    seen: list

    def update(self, progress, **kwargs) -> bool:
        written = super().update(progress, **kwargs)
        if written:
            with worker_scope() as session:
                self.seen.append(session.get(IngestionJob, self.job_id).result)
        return written


def test_a_multi_page_report_writes_its_progress_per_page_on_the_job_row(engine, committed_users, capsys) -> None:
    user, _ = committed_users
    document_id = _upload(user, reports.quest().pdf)
    job_id = create_job(JobType.DOCUMENT_PARSE, user_id=user, payload={"document_id": str(document_id)})
    with worker_scope() as session:
        claim = jobs.claim(session, job_id, task_id=None, lease_seconds=30)  # running, as a worker holds it
    progress = _Watched(claim.job, interval=0)
    progress.seen = []

    summary = parse_lab_document(user, document_id, progress=page_progress(progress))

    assert summary["pages"] == 2
    assert progress.seen == [
        {"progress": {"stage": "reading pages", "done": 1, "total": 2}},
        {"progress": {"stage": "reading pages", "done": 2, "total": 2}},
    ]
    with admin_scope() as session:
        email = session.get(User, user).email
    assert main(["jobs", "-u", email]) == 0
    assert "└ reading pages: 2 of 2" in capsys.readouterr().out  # what `vitalis jobs` shows while it runs

    # At a slower rate the pages in between are skipped; the first and the last are written.
    slow = _Watched(claim.job, interval=60)
    slow.seen = []
    report = page_progress(slow)
    for page in (1, 2, 3):
        report(page, 3)
    assert slow.seen == [
        {"progress": {"stage": "reading pages", "done": 1, "total": 3}},
        {"progress": {"stage": "reading pages", "done": 3, "total": 3}},
    ]
