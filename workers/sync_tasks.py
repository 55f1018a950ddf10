"""Syncing a wearable connection as a job: one task for every provider, the provider named in the payload.

The job's payload says what to sync (see `describe_payload`):

    {"provider": "oura", "start": "2026-01-01", "end": "2026-11-23"}   a backfill of that date range
    {"provider": "oura"}                                                incremental, from the stored cursor
    {"provider": "oura", "resource": "sleep", "object_id": "..."}      the targeted sync a webhook asked for

The work is `integrations.sync`; this module only maps it onto the job machinery: a provider's 429/5xx
is a TransientError carrying the provider's delay, which JobTask turns into the Celery retry's
countdown; the per-resource report (range requested, range fetched, days with data) is the job's
result, with a one-line `summary` that `vitalis jobs` prints; warnings go into the result too.
Follow-up jobs (the backfill after a connect, the sync a webhook asks for) are enqueued only after the
transaction that stored the connection has committed, so a worker never looks for a row that is not
there yet.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from celery import Celery, Task, shared_task
from sqlalchemy import func, or_, select

from db import jobs
from db.engine import worker_scope
from db.models import ConnectedDevice, IngestionJob
from db.models.enums import JobStatus, JobType
from integrations.errors import ProviderError
from integrations.oauth import Connected, finish_connect
from integrations.registry import PROVIDERS, get_provider
from integrations.sync import SyncReport, sync, sync_document
from integrations.webhooks import WebhookSync
from workers.job_progress import JobProgress
from workers.jobtask import JobTask, TransientError
from workers.tasks import enqueue

log = logging.getLogger(__name__)

TASK = "vitalis.sync.provider"
POLL_TASK = "vitalis.sync.poll"


@shared_task(bind=True, base=JobTask, name=TASK, max_retries=8)
def sync_provider(self: JobTask, job_id: str) -> dict[str, Any]:
    """Sync one person's connection as its job's payload says. More tries than other jobs: under a
    shared quota a paced sync may be sent back to the queue a few times before its turn comes."""

    def work(job: jobs.JobSnapshot) -> dict[str, Any]:
        if job.user_id is None:
            raise ValueError("a sync job needs a user")
        payload = job.payload or {}
        return run_sync(job.user_id, payload, progress=Progress(JobProgress(job), _resource_count(payload)))

    return self.run_job(job_id, work)


def describe_payload(payload: dict[str, Any]) -> str:
    """What a payload asks for, in words (for errors and the command line)."""
    provider = payload.get("provider", "?")
    if payload.get("resource"):
        return f"{provider} {payload['resource']} (webhook)"
    if payload.get("start"):
        return f"{provider} {payload['start']}..{payload.get('end') or 'today'}"
    return f"{provider} from the stored cursor"


class Progress:
    """How far a sync has got, on its running job's row (through workers.job_progress, so at most once
    per interval), for `vitalis jobs` and `vitalis sync --wait` while a long backfill runs."""

    def __init__(self, recorder: JobProgress, resources: int) -> None:
        self.recorder, self.resources = recorder, resources

    def __call__(self, report: SyncReport) -> None:
        current = report.resources[-1] if report.resources else None
        # stage/done/total is the shape every job's progress takes; the rest is this job's own.
        progress = {
            "stage": f"resources (now {current.resource})" if current else "resources",
            "done": max(0, len(report.resources) - 1),
            "total": self.resources,
            "through": current.fetched[1] if current and current.fetched else None,
            "pages": sum(r.pages for r in report.resources),
            "inserted": report.inserted(),
        }
        summary = progress["stage"] + (f" through {progress['through']}" if progress["through"] else "")
        self.recorder.update(progress, summary=f"{summary}; {progress['inserted']} new row(s)")


def _resource_count(payload: dict[str, Any]) -> int:
    if payload.get("resource"):
        return 1
    if payload.get("resources"):
        return len(payload["resources"])
    try:
        return len(get_provider(str(payload.get("provider"))).endpoints)
    except KeyError:
        return 0


def run_sync(
    user_id: uuid.UUID | str, payload: dict[str, Any], *, progress: Callable[[SyncReport], None] | None = None
) -> dict[str, Any]:
    """The job's work, callable without Celery. Returns the report as the job's result."""
    provider = payload.get("provider")
    if not isinstance(provider, str):
        raise ValueError("the sync job's payload names no provider")
    try:
        get_provider(provider)
    except KeyError as exc:  # a plain sentence on the job, not a KeyError from deep inside
        raise ValueError(exc.args[0]) from None
    try:
        if payload.get("resource"):
            report = sync_document(user_id, provider, str(payload["resource"]), payload.get("object_id"))
        else:
            start = date.fromisoformat(payload["start"]) if payload.get("start") else None
            end = date.fromisoformat(payload["end"]) if payload.get("end") else None
            report = sync(user_id, provider, start=start, end=end, resources=payload.get("resources"), on_page=progress)
    except TransientError:
        raise
    except ProviderError as exc:
        # Say on the job what was kept: a failure on page 3 leaves pages 1 and 2 stored.
        partial: SyncReport | None = getattr(exc, "report", None)
        kept = partial.inserted() if partial is not None else 0
        raise type(exc)(f"{exc}; {kept} row(s) stored before it are kept") from None
    return result_of(report)


def result_of(report: SyncReport) -> dict[str, Any]:
    result = report.as_dict()
    result["inserted"] = report.inserted()
    result["summary"] = summarize(report)
    return result


def summarize(report: SyncReport) -> str:
    """One line per job for `vitalis jobs`: per resource, the range fetched (of the range asked for) and
    the days that had data; then the warnings."""
    parts = []
    for r in report.resources:
        if r.requested and r.fetched != r.requested:
            fetched = f"{r.fetched[0]}..{r.fetched[1]}" if r.fetched else "nothing"
            span = f" fetched {fetched} of {r.requested[0]}..{r.requested[1]}"
        elif r.requested:
            span = f" {r.requested[0]}..{r.requested[1]}"
        else:
            span = ""
        parts.append(f"{r.resource}{span} {r.days_with_data}d")
    text = f"{report.mode}: " + ", ".join(parts) + f"; {report.inserted()} new row(s)"
    if report.warnings:
        text += "; warnings: " + "; ".join(report.warnings)
    return text


def _job_user(user_id: uuid.UUID | str) -> uuid.UUID:
    return user_id if isinstance(user_id, uuid.UUID) else uuid.UUID(str(user_id))


def _task(celery_app: Celery | None) -> Task | str:
    """The sync task on `celery_app` (another app than the process's own, e.g. one on a given broker)."""
    return celery_app.tasks[TASK] if celery_app is not None else TASK


def enqueue_sync(
    user_id: uuid.UUID | str,
    provider: str,
    *,
    start: date | None = None,
    end: date | None = None,
    resources: list[str] | None = None,
    celery_app: Celery | None = None,
) -> uuid.UUID:
    """Queue a sync: a backfill of [start, end] when `start` is given, else incremental from the cursor."""
    declared = get_provider(provider)
    payload: dict[str, Any] = {"provider": declared.name}
    if start is not None:
        payload["start"] = start.isoformat()
        if end is not None:
            payload["end"] = end.isoformat()
    if resources:
        payload["resources"] = list(resources)
    job_type = JobType.BACKFILL if start is not None else JobType.DAILY_SYNC
    return enqueue(_task(celery_app), job_type, user_id=_job_user(user_id), source=declared.source, payload=payload)


def enqueue_backfill(connected: Connected, *, celery_app: Celery | None = None) -> uuid.UUID:
    """Queue the backfill `finish_connect` asked for (it has committed the connection already)."""
    spec = connected.enqueue
    return enqueue(
        _task(celery_app),
        spec["job_type"],
        user_id=_job_user(spec["user_id"]),
        source=spec["source"],
        payload=spec["payload"],
    )


def connect_and_backfill(
    state: str, code: str | None, *, celery_app: Celery | None = None, **options: Any
) -> tuple[Connected, uuid.UUID]:
    """Finish an authorization (see integrations.oauth.finish_connect) and queue its backfill."""
    connected = finish_connect(state, code, **options)
    return connected, enqueue_backfill(connected, celery_app=celery_app)


def enqueue_webhook_sync(event: WebhookSync, *, celery_app: Celery | None = None) -> uuid.UUID:
    declared = get_provider(event.provider)
    payload = {"provider": declared.name, "resource": event.resource, "object_id": event.object_id}
    if event.event_type:
        payload["event_type"] = event.event_type
    return enqueue(
        _task(celery_app), JobType.WEBHOOK, user_id=_job_user(event.user_id), source=declared.source, payload=payload
    )


@shared_task(bind=True, name=POLL_TASK, ignore_result=True)
def poll_quiet_connections(self: Any, quiet_hours: float | None = None) -> dict[str, int]:
    """The polling fallback: an incremental sync for every active connection not synced for `quiet_hours`.

    Webhooks can stop (a lapsed subscription, a provider outage) without telling anyone; the cursor
    makes a poll cheap when nothing is new, so polling the quiet ones costs little and loses nothing.
    """
    hours = float(quiet_hours if quiet_hours is not None else self.app.conf.get("vitalis_sync_quiet_hours", 6))
    return {"queued": len(enqueue_quiet(timedelta(hours=hours), celery_app=self.app))}


def enqueue_quiet(quiet: timedelta, *, celery_app: Celery | None = None) -> list[uuid.UUID]:
    """Queue an incremental sync for each active connection not synced within `quiet`, unless one waits."""
    by_source = {p.source: p.name for p in PROVIDERS.values()}
    with worker_scope() as session:
        cutoff = session.scalar(select(func.now())) - quiet
        due = session.execute(
            select(ConnectedDevice.user_id, ConnectedDevice.source).where(
                ConnectedDevice.is_active.is_(True),
                ConnectedDevice.source.in_(list(by_source)),
                or_(ConnectedDevice.last_sync_at.is_(None), ConnectedDevice.last_sync_at < cutoff),
            )
        ).all()
        # A connection with a sync already waiting gets no second one.
        pending = set(
            session.execute(
                select(IngestionJob.user_id, IngestionJob.source).where(
                    IngestionJob.status.in_((JobStatus.QUEUED, JobStatus.RUNNING)),
                    IngestionJob.task_name == TASK,
                )
            ).all()
        )
    queued = []
    for user_id, source in due:
        if (user_id, source) in pending:
            continue
        try:
            queued.append(enqueue_sync(user_id, by_source[source], celery_app=celery_app))
        except Exception as exc:  # one person's failed send must not stop the others' polls
            log.warning("poll: could not queue a sync (%s)", type(exc).__name__)
    return queued
