"""`vitalis import lab`: what a person sees and what is stored, with --yes, at a real prompt, twice, and
for someone who does not exist."""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy import select as sql_select

from db.engine import admin_scope, user_scope
from db.models import BloodMarker, BloodPanel, Document, User
from db.models.enums import ParseStatus
from tests.parsers.labs import reports
from workers.cli import main


@pytest.fixture(scope="module", autouse=True)
def _dictionary(engine) -> None:
    from db.reference import seed_reference_data

    with admin_scope() as session:
        seed_reference_data(session)


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("VITALIS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("VITALIS_DOCUMENT_STORE", raising=False)
    monkeypatch.setenv("COLUMNS", "200")  # rich folds a wide table to the width it is given
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "home"


@pytest.fixture
def person(committed_users):
    user, _ = committed_users
    with admin_scope() as session:
        return user, session.get(User, user).email


@pytest.fixture(scope="module")
def quest(tmp_path_factory):
    report = reports.quest()
    path = tmp_path_factory.mktemp("reports") / "quest-2026-01.pdf"
    path.write_bytes(report.pdf)
    return path, report


def _counts(user) -> tuple[int, int, int]:
    with user_scope(user) as session:
        return tuple(
            session.scalar(sql_select(func.count()).select_from(table).where(table.user_id == user))
            for table in (Document, BloodPanel, BloodMarker)
        )


def _stored_files(home: Path) -> list[Path]:
    return [p for p in (home / "documents").rglob("*") if p.is_file()] if (home / "documents").exists() else []


def test_yes_shows_the_table_and_writes_the_panel_and_its_markers(person, quest, capsys) -> None:
    user, email = person
    path, report = quest

    assert main(["import", "lab", str(path), "--user", email, "--yes"]) == 0

    out = capsys.readouterr().out
    for heading in ("test", "value", "unit", "range", "flag", "canonical", "source", "page", "needs review"):
        assert heading in out
    assert "Quest Diagnostics" in out and "collected 2026-01-15" in out
    assert "3.456 10*3/uL" in out  # 3,456 cells/uL as stored: the canonical value beside the printed one
    assert "not in the biomarker dictionary" in out  # Immature Granulocytes
    assert f"{len(report.truth)} results on 2 pages; 3 to review; 2 lines not read" in out
    assert "stored blood panel" in out
    assert _counts(user) == (1, 1, len(report.truth))
    with user_scope(user) as session:
        document = session.scalars(sql_select(Document).where(Document.user_id == user)).one()
        assert (document.parse_status, document.confirmed_by, document.original_filename) == (
            ParseStatus.CONFIRMED,
            user,
            path.name,
        )
        blood_glucose = session.scalars(
            sql_select(BloodMarker).where(BloodMarker.raw_name == "Glucose", BloodMarker.unit == "mg/dL")
        ).one()  # the urinalysis prints its own Glucose, NEGATIVE
        assert (blood_glucose.value_numeric, blood_glucose.value_canonical) == (92, 92)


def test_the_same_file_imported_twice_is_one_document_and_changes_nothing(person, quest, capsys) -> None:
    user, email = person
    path, report = quest
    assert main(["import", "lab", str(path), "--user", email, "--yes"]) == 0
    with user_scope(user) as session:
        before = session.execute(sql_select(Document.document_id, Document.updated_at)).one()
    capsys.readouterr()

    assert main(["import", "lab", str(path), "--user", email, "--yes"]) == 0

    out = capsys.readouterr().out
    assert f"{path.name} is the same document as one imported before ({before.document_id}, confirmed" in out
    assert out.rstrip().endswith("nothing changed")
    assert _counts(user) == (1, 1, len(report.truth))
    with user_scope(user) as session:
        assert session.execute(sql_select(Document.document_id, Document.updated_at)).one() == before


def test_without_a_terminal_or_yes_it_refuses_in_one_line_and_stores_nothing(
    person, quest, capsys, monkeypatch, home
) -> None:
    user, email = person
    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))  # piped input is not a person confirming

    assert main(["import", "lab", str(quest[0]), "--user", email]) == 1

    err = capsys.readouterr().err
    assert err == "vitalis: no terminal to ask for confirmation: run again with --yes to store without asking\n"
    assert _counts(user) == (0, 0, 0)
    assert _stored_files(home) == []


def test_an_unknown_user_is_one_line_naming_the_command_that_adds_them(quest, capsys, home, engine) -> None:
    assert main(["import", "lab", str(quest[0]), "--user", "nobody@example.org", "--yes"]) == 1
    err = capsys.readouterr().err
    assert err == (
        "vitalis: no user with email nobody@example.org: add one with `vitalis users add nobody@example.org`\n"
    )
    assert _stored_files(home) == []


def test_a_broken_pdf_is_refused_with_its_reason(person, tmp_path, capsys) -> None:
    user, email = person
    path = tmp_path / "scan.pdf"
    path.write_bytes(b"PK\x03\x04 a zip file, not a pdf")

    assert main(["import", "lab", str(path), "--user", email, "--yes"]) == 1

    assert capsys.readouterr().err == "vitalis: scan.pdf: the file is not a PDF\n"
    assert _counts(user)[1:] == (0, 0)


def _at_a_terminal(argv: list[str], answer: str, home: Path, timeout: float = 60) -> tuple[int, str]:
    """Run `vitalis` on a pseudo-terminal, type `answer` at the first [y/n] prompt, return (code, output)."""
    leader, follower = pty.openpty()
    env = {**os.environ, "VITALIS_HOME": str(home), "COLUMNS": "200"}
    process = subprocess.Popen(
        [sys.executable, "-m", "workers.cli", *argv], stdin=follower, stdout=follower, stderr=follower, env=env
    )
    os.close(follower)
    output, answered, deadline = b"", False, time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(leader, 4096)
                except OSError:  # the command ended and closed its side
                    break
                output += chunk
                if not answered and b"[y/n]" in output:
                    os.write(leader, answer.encode() + b"\n")
                    answered = True
            elif process.poll() is not None:
                break
        return process.wait(timeout=10), output.decode(errors="replace")
    finally:
        if process.poll() is None:
            process.kill()
        os.close(leader)


def test_answering_no_at_the_prompt_stores_nothing(person, quest, home) -> None:
    user, email = person
    path, report = quest

    code, out = _at_a_terminal(["import", "lab", str(path), "--user", email], "n", home)

    assert code == 0, out
    assert f"Store these {len(report.truth)} results for {email}?" in out
    assert "Immature Granulocytes" in out
    assert out.rstrip().endswith("not stored")
    assert _counts(user) == (0, 0, 0)
    assert _stored_files(home) == []  # the file this import put in the store is gone too


def test_answering_yes_at_the_prompt_stores_the_report(person, quest, home) -> None:
    user, email = person
    path, report = quest

    code, out = _at_a_terminal(["import", "lab", str(path), "--user", email], "y", home)

    assert code == 0, out
    assert "stored blood panel" in out
    assert _counts(user) == (1, 1, len(report.truth))
