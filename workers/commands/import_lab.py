"""`vitalis import lab PATH.pdf --user EMAIL [--yes] [--llm/--no-llm]`: a lab report, reviewed at the terminal.

The file goes to the document store, is parsed here (the same `parse_lab_document` the worker's task
runs, so no worker needs to be running and the page progress shows as it happens), and what was found
is shown as a table. Only after the person confirms (or passes --yes) are the panel and its markers
written. Declining leaves nothing behind that this command created. The same file imported again is
the same document: once confirmed, a second import says so and changes nothing.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import func, select


class NothingToConfirm(RuntimeError):
    pass


def register(kinds: argparse._SubParsersAction) -> None:
    lab = kinds.add_parser("lab", help="a lab-report PDF: parse it, show what was found, store it once confirmed")
    lab.add_argument("path", type=Path, metavar="PATH.pdf")
    lab.add_argument("--user", required=True, metavar="EMAIL", help="whose report it is")
    lab.add_argument("-y", "--yes", action="store_true", help="store what was found without asking")
    lab.add_argument(
        "--llm",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="ask the model (OPENAI_BASE_URL) about lines the rules cannot read (default: when one is configured)",
    )
    lab.set_defaults(func=import_lab)


def import_lab(args: argparse.Namespace) -> int:
    from rich.console import Console

    from db.documents import store_document
    from db.engine import WORKER_ROLE, user_scope
    from db.models import Document
    from db.storage import document_store
    from workers.commands.users import find_user
    from workers.lab_tasks import llm_reader

    console = Console()
    if not args.yes and not sys.stdin.isatty():
        raise NothingToConfirm("no terminal to ask for confirmation: run again with --yes to store without asking")
    user_id = find_user(args.user)
    path: Path = args.path
    if not path.is_file():
        raise FileNotFoundError(f"no file at {path}")
    llm_reader(args.llm)  # --llm without an endpoint stops here, before anything is stored
    store = document_store()
    with path.open("rb") as source, user_scope(user_id, role=WORKER_ROLE) as session:
        stored = store_document(session, store, user_id, source, filename=path.name)
        confirmed_at = session.get(Document, stored.document_id).confirmed_at
    if confirmed_at is not None:
        console.print(
            f"{path.name} is the same document as one imported before ({stored.document_id}, confirmed "
            f"{confirmed_at:%Y-%m-%d %H:%M} UTC): nothing changed",
            soft_wrap=True,
        )
        return 0
    if not stored.created:
        console.print(
            f"{path.name} is the same document as one uploaded before ({stored.document_id}), not yet confirmed",
            soft_wrap=True,
        )

    summary, parse_result = _parse(console, user_id, stored.document_id, path, args.llm)
    _show(console, path, summary, parse_result)
    if not summary["results"]:
        raise NothingToConfirm(f"no results were recognized in {path.name}: nothing to store")
    if not args.yes and not _ask(console, summary["results"], args.user):
        if stored.created:
            _forget(user_id, stored.document_id, store)
        console.print("not stored")
        return 0

    from db.lab_reports import confirm_document

    with user_scope(user_id, role=WORKER_ROLE) as session:
        panel_id = confirm_document(session, user_id, stored.document_id)
    markers, review = _stored_counts(user_id, panel_id)
    console.print(f"stored blood panel {panel_id}: {markers} markers ({review} flagged for review)", soft_wrap=True)
    return 0


def _parse(
    console: Any, user_id: uuid.UUID, document_id: uuid.UUID, path: Path, use_llm: bool | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from db.engine import user_scope
    from db.models import Document
    from workers.lab_tasks import UnreadableReport, parse_lab_document

    with Progress(
        TextColumn("reading pages"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as bar:
        task = bar.add_task("pages", total=None)
        try:
            summary = parse_lab_document(
                user_id,
                document_id,
                use_llm=use_llm,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
        except UnreadableReport as exc:
            raise UnreadableReport(f"{path.name}: {exc}") from None
    with user_scope(user_id) as session:
        parse_result = session.get(Document, document_id).parse_result or {}
    return summary, parse_result


def _show(console: Any, path: Path, summary: dict[str, Any], parse_result: dict[str, Any]) -> None:
    from rich.table import Table

    from db.lab_review import review_rows

    heading = [path.name, parse_result.get("lab_name"), _collected(parse_result.get("collected_at"))]
    table = Table(title=" · ".join(h for h in heading if h), title_justify="left")
    for column in ("test", "value", "unit", "range", "flag", "canonical", "source", "page", "needs review"):
        table.add_column(column, overflow="fold", justify="right" if column in {"value", "page"} else "left")
    for row in review_rows(parse_result):
        canonical = "" if row.canonical_value is None else f"{row.canonical_value.normalize():f} {row.canonical_unit}"
        table.add_row(
            row.name,
            row.value,
            row.unit or "",
            row.range or "",
            row.flag or "",
            canonical,
            row.source,
            str(row.page),
            row.review or "",
            style="yellow" if row.review else None,
        )
    console.print(table)
    ocr = f" ({summary['ocr_pages']} read by OCR)" if summary["ocr_pages"] else ""
    console.print(
        f"{summary['results']} results on {_count(summary['pages'], 'page')}{ocr}; "
        f"{summary['needs_review']} to review; "
        f"{summary['unresolved']} lines not read; LLM: {summary['llm_calls']} calls, {summary['llm_rejected']} "
        "answers rejected as not found in the report",
        soft_wrap=True,
    )
    for item in parse_result.get("unresolved", []):
        source = item["source"]
        console.print(
            f"  not read, page {source['page']} line {source['line']}: {source['text']}", markup=False, soft_wrap=True
        )
    if summary.get("problem"):
        console.print(f"note: {summary['problem']}", markup=False, soft_wrap=True)


def _ask(console: Any, results: int, email: str) -> bool:
    from rich.prompt import Confirm

    try:
        return Confirm.ask(f"Store these {results} results for {email}?", console=console, default=False)
    except EOFError:  # the terminal closed: nothing was agreed to
        return False


def _forget(user_id: uuid.UUID, document_id: uuid.UUID, store: Any) -> None:
    """The person declined a document this command created: remove its row, and its file if nothing else
    of theirs refers to it (the store is content-addressed, so an older, deleted row may)."""
    from db.engine import user_scope
    from db.models import Document

    with user_scope(user_id) as session:  # the person's own choice, in their own role
        document = session.get(Document, document_id)
        key = document.s3_key
        session.delete(document)
        session.flush()
        others = session.scalar(select(func.count()).select_from(Document).where(Document.s3_key == key))
    if not others:
        store.delete(key)


def _stored_counts(user_id: uuid.UUID, panel_id: uuid.UUID) -> tuple[int, int]:
    from db.engine import user_scope
    from db.models import BloodMarker

    with user_scope(user_id) as session:
        total, review = session.execute(
            select(func.count(), func.count().filter(BloodMarker.needs_review)).where(BloodMarker.panel_id == panel_id)
        ).one()
    return total, review


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _collected(text: str | None) -> str | None:
    return f"collected {text[:10]}" if text else None
