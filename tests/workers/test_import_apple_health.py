"""`vitalis import apple-health`: an export brought in at the terminal, as a person would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, text

from db.engine import admin_scope, user_scope, worker_scope
from db.models import Document, IngestionJob, User, WearableDaily
from db.models.enums import JobStatus, JobType, ParseStatus
from tests.db.test_apple_health import export
from tests.parsers.apple_health.exports import document, quantity, zipped
from workers.cli import main

BAD_DATE = quantity("StepCount", "2024-02-30 08:00:00 +0100", "2024-02-30 08:10:00 +0100", 10, "count")


@pytest.fixture
def person(committed_users, tmp_path, monkeypatch):
    monkeypatch.setenv("VITALIS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("VITALIS_DOCUMENT_STORE", raising=False)
    monkeypatch.setenv("COLUMNS", "200")  # rich's width off a terminal: no wrapped table cells
    user, _ = committed_users
    with admin_scope() as session:
        return user, session.get(User, user).email


def _table_rows(out: str) -> list[list[str]]:
    """The cells of every row of rich's tables in the output."""
    return [[c.strip() for c in line.strip("│ ").split("│")] for line in out.splitlines() if line.startswith("│")]


def _changes(user) -> int:
    with admin_scope() as session:
        return session.scalar(text("SELECT count(*) FROM audit_log WHERE user_id = :u"), {"u": user})


def _jobs(user) -> list[IngestionJob]:
    with worker_scope() as session:
        rows = session.scalars(select(IngestionJob).where(IngestionJob.user_id == user)).all()
        session.expunge_all()
        return list(rows)


def _documents(user) -> list[Document]:
    with user_scope(user) as session:
        rows = session.scalars(select(Document)).all()
        session.expunge_all()
        return list(rows)


def test_an_export_imported_at_the_terminal_is_stored_and_summed_up(person, tmp_path, capsys) -> None:
    user, email = person
    path = tmp_path / "export.zip"
    path.write_bytes(export(BAD_DATE))

    assert main(["import", "apple-health", str(path), "--user", email.upper(), "--workers", "2"]) == 0

    out = capsys.readouterr().out
    assert f"imported export.zip for {email.upper()}:" in out
    # One row per table written, with its counts; the skipped record's reason and line.
    rows = {cells[0]: cells[1:] for cells in _table_rows(out)}
    assert rows["wearable_daily"] == ["2", "0", "0"]
    assert rows["measurements"] == ["2", "0", "0"]
    assert "HKQuantityTypeIdentifierStepCount: invalid date" in out
    with user_scope(user) as session:
        steps = dict(session.execute(select(WearableDaily.date, WearableDaily.steps)).all())
    assert steps == {date(2024, 3, 10): 1700, date(2024, 3, 11): 700}
    (job,) = _jobs(user)
    (doc,) = _documents(user)
    assert (job.job_type, job.status, job.attempts, job.payload) == (
        JobType.APPLE_HEALTH_IMPORT,
        JobStatus.SUCCEEDED,
        1,
        {"document_id": str(doc.document_id)},
    )
    assert job.result["written"]["wearable_daily"] == {"inserted": 2, "updated": 0, "unchanged": 0}
    assert (doc.original_filename, doc.parse_status, doc.parse_result["job_id"]) == (
        "export.zip",
        ParseStatus.PARSED,
        str(job.job_id),
    )
    assert f"document {doc.document_id}, job {job.job_id}" in out


def test_the_same_file_twice_says_so_and_changes_nothing(person, tmp_path, capsys) -> None:
    user, email = person
    path = tmp_path / "export.zip"
    path.write_bytes(export())
    assert main(["import", "apple-health", str(path), "--user", email]) == 0
    capsys.readouterr()
    changes, jobs = _changes(user), _jobs(user)

    copy = tmp_path / "export (1).zip"
    copy.write_bytes(path.read_bytes())
    assert main(["import", "apple-health", str(copy), "--user", email]) == 0

    out = capsys.readouterr().out
    (doc,) = _documents(user)
    assert out.startswith(f"export (1).zip was imported already on {doc.parsed_at:%Y-%m-%d %H:%M} UTC")
    assert out.strip().endswith(f"(document {doc.document_id}): nothing changed")
    assert _changes(user) == changes
    assert [j.job_id for j in _jobs(user)] == [j.job_id for j in jobs]


def test_an_unknown_user_is_one_line_naming_the_command_that_adds_them(engine, tmp_path, capsys) -> None:
    path = tmp_path / "export.zip"
    path.write_bytes(export())
    assert main(["import", "apple-health", str(path), "--user", "nobody@example.org"]) == 1
    err = capsys.readouterr().err
    assert err == (
        "vitalis: no user with email nobody@example.org: add one with `vitalis users add nobody@example.org`\n"
    )


def test_a_truncated_export_is_one_line_and_the_document_and_job_say_why(person, tmp_path, capsys) -> None:
    user, email = person
    data = export()
    path = tmp_path / "export.zip"
    path.write_bytes(data[: len(data) // 2])
    assert main(["import", "apple-health", str(path), "--user", email]) == 1

    reason = "the zip archive is incomplete or damaged (no central directory); upload it again"
    assert capsys.readouterr().err == f"vitalis: export.zip was not imported: {reason}\n"
    (doc,) = _documents(user)
    (job,) = _jobs(user)
    assert (doc.parse_status, doc.error_message) == (ParseStatus.FAILED, reason)
    assert (job.status, job.error_message) == (JobStatus.FAILED, f"ExportError: {reason}")

    # A missing file is one line too, and touches nothing.
    assert main(["import", "apple-health", str(tmp_path / "nope.zip"), "--user", email]) == 1
    assert capsys.readouterr().err == f"vitalis: no file at {tmp_path / 'nope.zip'}\n"
    assert len(_documents(user)) == 1
    with user_scope(user) as session:
        assert session.scalar(select(func.count()).select_from(WearableDaily)) == 0


def test_ctrl_c_fails_the_import_with_a_note_and_running_again_finishes_it(person, tmp_path) -> None:
    user, email = person
    # A heart rate a minute for 120 days (63 MB, read on two processes by default): long enough to be
    # stopped midway however fast the import is.
    pulse = (
        quantity("HeartRate", f"{day:%Y-%m-%d} {minute // 60:02d}:{minute % 60:02d}:00 +0100", None, 61, "count/min")
        for day in (date(2024, 1, 1) + timedelta(days=n) for n in range(120))
        for minute in range(1440)
    )
    path = tmp_path / "export.zip"
    path.write_bytes(zipped(document(*pulse)))
    command = [sys.executable, "-m", "workers.cli", "import", "apple-health", str(path), "--user", email]
    env = {**os.environ, "VITALIS_PROGRESS_INTERVAL_SECONDS": "0"}
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not any(j.status == JobStatus.RUNNING and (j.result or {}).get("progress") for j in _jobs(user)):
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()

    note = "the import was stopped at the terminal before it finished; run the command again to finish it"
    assert (proc.returncode, err) == (1, f"vitalis: export.zip was not imported: {note}\n")
    (stopped,) = _jobs(user)
    (doc,) = _documents(user)
    assert (stopped.status, stopped.error_message) == (JobStatus.FAILED, f"ImportStopped: {note}")
    assert (doc.parse_status, doc.error_message) == (ParseStatus.FAILED, note)

    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0, again.stderr
    assert {j.status for j in _jobs(user)} == {JobStatus.FAILED, JobStatus.SUCCEEDED}
    (doc,) = _documents(user)
    assert doc.parse_status == ParseStatus.PARSED
    with user_scope(user) as session:
        assert session.scalar(select(func.count()).select_from(WearableDaily)) == 120
