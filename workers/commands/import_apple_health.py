"""`vitalis import apple-health PATH.zip --user EMAIL [--workers N]`: an export imported at the terminal.

The file becomes the person's document, as an upload would, and the import runs here as a recorded
job (the same work and the same job row as on a worker, so `vitalis jobs` lists it), with a progress
bar instead of progress polled from the row. `--workers` parses on that many processes (by default
two for a large export). The same file twice is one document: the second time says so and changes nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import time
import uuid
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table


class ImportFailed(RuntimeError):
    pass


def register(kinds: argparse._SubParsersAction) -> None:
    parser = kinds.add_parser(
        "apple-health",
        help="an Apple Health export.zip (Health app: profile picture, Export All Health Data)",
    )
    parser.add_argument("path", type=Path, metavar="PATH.zip", help="the export.zip (or its export.xml)")
    parser.add_argument("--user", required=True, metavar="EMAIL", help="whose data this is")
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="parse on N processes (default: 2 for an export of 32 MB or more on a machine with 2 cores or more)",
    )
    parser.set_defaults(func=_import)


def _import(args: argparse.Namespace) -> int:
    from db.apple_health_documents import store_export
    from db.models.enums import ParseStatus
    from workers.apple_tasks import active_import
    from workers.commands.users import find_user

    user_id = find_user(args.user)
    path: Path = args.path
    if not path.is_file():
        raise ImportFailed(f"no file at {path}")
    if args.workers is not None and args.workers < 1:
        raise ImportFailed("--workers must be 1 or more")
    document = store_export(user_id, path)
    if document.status is ParseStatus.PARSED:
        when = f" on {document.parsed_at:%Y-%m-%d %H:%M} UTC" if document.parsed_at else ""
        print(f"{path.name} was imported already{when} (document {document.document_id}): nothing changed")
        return 0
    running = active_import(user_id, document.document_id)
    if running is not None:
        raise ImportFailed(f"{path.name} is being imported already by job {running}: follow it with `vitalis jobs`")
    started = time.monotonic()
    with contextlib.nullcontext() if args.verbose else _quiet("workers.jobtask"):
        job_id, result = _run(user_id, document.document_id, path, args.workers)
    _summarize(path, args.user, job_id, document.document_id, result, time.monotonic() - started)
    return 0


def _run(
    user_id: uuid.UUID, document_id: uuid.UUID, path: Path, workers: int | None
) -> tuple[uuid.UUID, dict[str, Any]]:
    from celery.exceptions import Ignore

    from db.apple_health import ImportProgress
    from db.apple_health_documents import export_document
    from db.models.enums import DataSource, JobType
    from workers.app import app
    from workers.apple_tasks import TASK_NAME
    from workers.jobtask import JobFailed, TransientError
    from workers.tasks import create_job

    task = app.tasks[TASK_NAME]
    # The same job a worker would run, run here: should this process die, its lease runs out and a
    # worker's sweeper takes the job up, so the import is finished either way.
    job_id = create_job(
        JobType.APPLE_HEALTH_IMPORT,
        user_id=user_id,
        source=DataSource.APPLE_HEALTH,
        payload={"document_id": str(document_id)},
        max_attempts=task.max_retries + 1,
        task_id=str(uuid.uuid4()),
        task_name=TASK_NAME,
    )
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
    )
    terminal = Console(stderr=True)
    # Off a terminal (a log, a pipe) the bar would only leave blank lines behind.
    with Progress(*columns, console=terminal, transient=True, disable=not terminal.is_terminal) as bar:
        reading = bar.add_task("reading export.xml", total=None)

        def shown(step: ImportProgress) -> None:
            bar.update(
                reading,
                completed=step.bytes_read,
                total=step.bytes_total or None,
                description=f"{step.records_read:,} records read, {step.rows_written:,} rows written",
            )

        try:
            result = task.run_job(str(job_id), partial(_stoppable, document_id, shown, workers))
        except JobFailed:
            document = export_document(user_id, document_id)
            reason = _one_line(document.error or "see `vitalis jobs`")
            raise ImportFailed(f"{path.name} was not imported: {reason}") from None
        except TransientError as exc:
            raise ImportFailed(f"{exc}: a worker takes the import up again (`vitalis worker`)") from None
        except Ignore:
            raise ImportFailed(
                f"the import's job {job_id} could not be recorded (the database did not answer); "
                "a worker takes it up again once it does"
            ) from None
    return job_id, result


class ImportStopped(Exception):
    """Ctrl-C at the terminal: the job and the document fail saying so; running again finishes the import."""


def _stoppable(document_id: uuid.UUID, shown: Any, workers: int | None, job: Any) -> dict[str, Any]:
    from db.apple_health_documents import mark_failed
    from workers.apple_tasks import import_job

    try:
        return import_job(job, on_progress=shown, workers=workers)
    except KeyboardInterrupt:
        message = "the import was stopped at the terminal before it finished; run the command again to finish it"
        mark_failed(job.user_id, document_id, message, code="stopped", job_id=job.job_id)
        raise ImportStopped(message) from None


@contextlib.contextmanager
def _quiet(logger: str) -> Iterator[None]:
    # The job machinery logs a failure for operators; here the one line below says it to the person.
    log = logging.getLogger(logger)
    level = log.level
    log.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        log.setLevel(level)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _summarize(
    path: Path, email: str, job_id: uuid.UUID, document_id: uuid.UUID, result: dict[str, Any], seconds: float
) -> None:
    console = Console()
    size = result.get("bytes_read", 0)
    size_text = f"{size / 1e6:,.1f} MB" if size >= 1e6 else f"{size / 1e3:,.0f} kB"
    console.print(
        f"imported {path.name} for {email.strip()}: {result.get('records', 0):,} records "
        f"({size_text} of export.xml) in {seconds:,.1f} s"
    )
    written = Table("table", title="rows written")
    for name in ("inserted", "updated", "unchanged"):
        written.add_column(name, justify="right")
    for table, stats in sorted(result.get("written", {}).items()):
        written.add_row(table, *(f"{stats[k]:,}" for k in ("inserted", "updated", "unchanged")))
    console.print(written)
    skipped = result.get("skipped") or {}
    if skipped:
        lines = result.get("skipped_lines") or {}
        table = Table("reason", title="records skipped")
        table.add_column("records", justify="right")
        table.add_column("first lines in export.xml")
        for reason, count in sorted(skipped.items(), key=lambda kv: (-kv[1], kv[0])):
            table.add_row(reason, f"{count:,}", ", ".join(str(n) for n in lines.get(reason, [])))
        console.print(table)
    else:
        console.print("no record was skipped")
    problems = result.get("xml_problems") or {}
    if problems:
        listed = ", ".join(f"{kind} ×{count}" for kind, count in sorted(problems.items()))
        console.print(f"damage in the XML recovered: {listed}")
    dropped = result.get("dropped_values") or {}
    if dropped:
        listed = ", ".join(f"{field} ×{count}" for field, count in sorted(dropped.items()))
        console.print(f"values outside their allowed range left out: {listed}")
    if result.get("profile_updated"):
        console.print(f"taken from the export (you had none): {', '.join(result['profile_updated'])}")
    console.print(f"document {document_id}, job {job_id}", style="dim")
