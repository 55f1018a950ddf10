"""Syncing one person's connection: a date range (backfill) or onwards from the stored cursor.

Every endpoint goes through the one pagination loop. Each page's rows are upserted in a transaction
of their own, so a failure on page 3 keeps pages 1 and 2; the resource's cursor moves only with the
last page of a chunk, in the same transaction as that page's rows, and never backwards. The cursor is
the last day that had data, so the next incremental sync starts there (that day may still be filling
in) and a sync with nothing new leaves both the rows and the cursor as they were.

The result says, per resource, the range asked for, the range actually fetched and the days that had
data. Silence is reported, not swallowed: a resource falling behind the one it should keep up with
(daily data flows, sleep does not), a 404 from a list route, a 403, or no data at all are warnings on
the connection and in the result.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from db.engine import WORKER_ROLE, user_scope
from db.models import Measurement, WearableActivity, WearableDaily, WearableSleep
from db.upsert import upsert
from integrations import connections
from integrations.apps import ProviderApp, app_from_env
from integrations.client import AccessDenied, ConnectionClient, EndpointMissing, connection_client
from integrations.errors import MalformedResponse
from integrations.pacing import Bucket, default_bucket
from integrations.pagination import pages
from integrations.provider import Endpoint, Provider, Record

MODELS = {
    "wearable_daily": WearableDaily,
    "wearable_sleep": WearableSleep,
    "wearable_activities": WearableActivity,
    "measurements": Measurement,
}
# Tables that several resources fill: each resource keeps its payload under its own raw_data key.
MERGED_RAW = {"wearable_daily", "wearable_sleep"}


@dataclass
class ResourceReport:
    resource: str
    requested: tuple[str, str] | None = None
    fetched: tuple[str, str] | None = None
    days_with_data: int = 0
    first_day: str | None = None
    last_day: str | None = None
    pages: int = 0
    documents: int = 0
    rows: dict[str, dict[str, int]] = field(default_factory=dict)
    refused: dict[str, int] = field(default_factory=dict)
    warning: str | None = None
    _days: set[date] = field(default_factory=set, repr=False)

    def add_days(self, days: Iterable[date]) -> None:
        self._days.update(days)
        if self._days:
            self.days_with_data = len(self._days)
            self.first_day, self.last_day = min(self._days).isoformat(), max(self._days).isoformat()

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("_days")
        return data


@dataclass
class SyncReport:
    provider: str
    mode: str
    resources: list[ResourceReport] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    requests: int = 0
    refreshes: int = 0

    def inserted(self) -> int:
        return sum(r["inserted"] for res in self.resources for r in res.rows.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "mode": self.mode,
            "resources": [r.as_dict() for r in self.resources],
            "warnings": self.warnings,
            "requests": self.requests,
            "refreshes": self.refreshes,
        }


def sync(
    user_id: uuid.UUID | str,
    provider: str | Provider,
    *,
    start: date | None = None,
    end: date | None = None,
    resources: Iterable[str] | None = None,
    app: ProviderApp | None = None,
    bucket: Bucket | None = None,
    engine: Engine | None = None,
    today: date | None = None,
    on_page: Callable[[SyncReport], None] | None = None,
    **client_options: Any,
) -> SyncReport:
    """Sync `user_id`'s connection: [start, end] when `start` is given (a backfill), else from the cursor.

    Raises TransientError subclasses (retry later), AuthorizationRevoked (the connection is now marked
    error), ConnectionUnusable, MalformedResponse or ProviderError. Rows written before a failure stay;
    the exception carries the partial report as `.report`. `on_page` sees the report after every page
    written (progress for a long backfill).
    """
    app = app or app_from_env(provider)
    declared = app.provider
    today = today or datetime.now(UTC).date()
    client = connection_client(app, user_id, bucket=bucket or default_bucket(), engine=engine, **client_options)
    report = SyncReport(declared.name, "backfill" if start else "incremental")
    wanted = list(resources) if resources is not None else [e.name for e in declared.endpoints]
    with client:
        try:
            cursors = _cursors(user_id, declared, engine)
            for endpoint in (declared.endpoint(name) for name in wanted):
                resource = ResourceReport(endpoint.name)
                report.resources.append(resource)
                try:
                    _sync_resource(
                        client,
                        user_id,
                        endpoint,
                        cursors.get(endpoint.name, {}),
                        resource,
                        start,
                        end,
                        today,
                        (lambda: on_page(report)) if on_page else None,
                    )
                except (EndpointMissing, AccessDenied) as exc:
                    resource.warning = str(exc)
            report.warnings += [r.warning for r in report.resources if r.warning]
            report.warnings += _silences(declared, report, _cursors(user_id, declared, engine))
            _finish(user_id, declared, engine, report.warnings)
        except Exception as exc:
            _record_failure(user_id, declared, engine, exc)
            exc.report = report  # type: ignore[attr-defined]
            raise
        finally:
            report.requests, report.refreshes = client.requests, client.refreshes
    return report


def _cursors(user_id: uuid.UUID | str, provider: Provider, engine: Engine | None) -> dict[str, dict[str, Any]]:
    with user_scope(user_id, role=WORKER_ROLE, engine=engine) as session:
        row = connections.find(session, user_id, provider)
        return dict((row.sync_cursor or {}).get("resources") or {}) if row is not None else {}


def _window(
    provider: Provider, cursor: Mapping[str, Any], start: date | None, end: date | None, today: date
) -> tuple[date, date]:
    if start is None:
        last = cursor.get("last_day")
        start = date.fromisoformat(last) if last else today - timedelta(days=provider.initial_sync_days)
    end = min(end or today, today)
    if provider.history_days is not None:
        start = max(start, today - timedelta(days=provider.history_days))
    return start, end


def _chunks(start: date, end: date, days: int) -> Iterable[tuple[date, date]]:
    while start <= end:
        stop = min(end, start + timedelta(days=days - 1))
        yield start, stop
        start = stop + timedelta(days=1)


def _params(endpoint: Endpoint, first: date, last: date) -> dict[str, Any]:
    spec = endpoint.range
    assert spec is not None
    pad = timedelta(days=spec.pad_days)
    stop = last + pad + (timedelta(days=0) if spec.end_inclusive else timedelta(days=1))
    if spec.kind == "date":
        return {spec.start: (first - pad).isoformat(), spec.end: stop.isoformat()}
    return {
        spec.start: datetime.combine(first - pad, time(), tzinfo=UTC).isoformat(),
        spec.end: datetime.combine(stop, time(), tzinfo=UTC).isoformat(),
    }


def _sync_resource(
    client: ConnectionClient,
    user_id: uuid.UUID | str,
    endpoint: Endpoint,
    cursor: Mapping[str, Any],
    report: ResourceReport,
    start: date | None,
    end: date | None,
    today: date,
    written: Callable[[], None] | None = None,
) -> None:
    provider = client.app.provider
    as_of = datetime.now(UTC)

    def get(params: dict[str, Any]) -> Any:
        return client.get_json(endpoint.path, params, what=endpoint.name)

    if endpoint.range is None:
        for page in pages(get, endpoint, {}):
            report.pages += 1
            report.documents += len(page.items)
            records = provider.normalize(endpoint.name, page.items, as_of=as_of)
            report.add_days(r.day for r in records if r.values)
            _write(client, user_id, endpoint, records, report, identity=page.items)
            if written:
                written()
        return

    first, last = _window(provider, cursor, start, end, today)
    report.requested = (first.isoformat(), last.isoformat())
    for chunk_first, chunk_last in _chunks(first, last, endpoint.range.max_days):
        held: list[Mapping[str, Any]] = []
        for page in pages(get, endpoint, _params(endpoint, chunk_first, chunk_last)):
            report.pages += 1
            report.documents += len(page.items)
            if endpoint.commit == "chunk":
                held += page.items
                if not page.last:
                    continue
                items = held
            else:
                items = page.items
            records = [
                r for r in provider.normalize(endpoint.name, items, as_of=as_of) if chunk_first <= r.day <= chunk_last
            ]
            report.add_days(r.day for r in records)
            _write(client, user_id, endpoint, records, report, advance=page.last)
            if written:
                written()
        report.fetched = (first.isoformat(), chunk_last.isoformat())


def _write(
    client: ConnectionClient,
    user_id: uuid.UUID | str,
    endpoint: Endpoint,
    records: list[Record],
    report: ResourceReport,
    *,
    advance: bool = False,
    identity: list[Mapping[str, Any]] | None = None,
) -> None:
    """Upsert one page's rows; with `advance`, move the resource's cursor in the same transaction."""
    provider = client.app.provider
    with user_scope(user_id, role=WORKER_ROLE, engine=client.engine) as session:
        for table, rows in _batches(records, user_id, provider).items():
            stats = upsert(session, MODELS[table[0]], rows, merge=("raw_data",) if table[0] in MERGED_RAW else ())
            totals = report.rows.setdefault(table[0], {"inserted": 0, "updated": 0, "unchanged": 0})
            for k, v in stats.as_dict().items():
                totals[k] += v
        refused = Counter(f"{r.table}.{name}" for r in records for name in r.refused)
        for name, count in refused.items():
            report.refused[name] = report.refused.get(name, 0) + count
        if advance or identity:
            row = connections.find(session, user_id, provider, lock=True)
            if row is None:
                return
            if identity and provider.identity and provider.identity[0] == endpoint.name:
                found = identity[0].get(provider.identity[1]) if identity else None
                if found and row.external_user_id != str(found):
                    row.external_user_id = str(found)
            if advance and report.last_day:
                _advance(session, row, endpoint.name, report.last_day)


def _advance(session: Session, row: Any, resource: str, last_day: str) -> None:
    cursor = connections.resource_cursor(row, resource)
    if cursor.get("last_day") and cursor["last_day"] >= last_day:
        return  # never backwards, and unchanged when nothing is newer
    connections.set_resource_cursor(row, resource, {**cursor, "last_day": last_day})
    session.flush()


def _batches(
    records: list[Record], user_id: uuid.UUID | str, provider: Provider
) -> dict[tuple[str, frozenset[str]], list[dict[str, Any]]]:
    """Rows grouped by table and column set (a batch upsert needs one column set)."""
    batches: dict[tuple[str, frozenset[str]], list[dict[str, Any]]] = {}
    for record in records:
        if not record.values:
            continue
        row = {**record.values, "user_id": user_id, "source": provider.source}
        batches.setdefault((record.table, frozenset(row)), []).append(row)
    return batches


def _silences(
    provider: Provider,
    report: SyncReport,
    cursors: Mapping[str, Mapping[str, Any]],
) -> list[str]:
    """Warnings for data that should be there and is not."""
    warnings = []
    synced = {r.resource: r for r in report.resources}
    for watch in provider.watches:
        if watch.resource not in synced or watch.reference not in synced:
            continue
        reference = cursors.get(watch.reference, {}).get("last_day")
        if not reference:
            continue
        resource = cursors.get(watch.resource, {}).get("last_day")
        gap_hours = (
            (date.fromisoformat(reference) - date.fromisoformat(resource)).days * 24 if resource else float("inf")
        )
        if gap_hours > watch.max_gap_hours:
            since = f"since {resource}" if resource else "at all"
            warnings.append(
                f"{provider.name}: no {watch.resource} {since} while {watch.reference} arrived through {reference}"
            )
    ranged = [r for r in report.resources if r.requested and not r.warning]
    if ranged and not any(r.days_with_data for r in ranged):
        warnings.append(f"{provider.name}: no data at all for {ranged[0].requested[0]}..{ranged[0].requested[1]}")
    return warnings


def _finish(user_id: uuid.UUID | str, provider: Provider, engine: Engine | None, warnings: list[str]) -> None:
    with user_scope(user_id, role=WORKER_ROLE, engine=engine) as session:
        row = connections.find(session, user_id, provider, lock=True)
        if row is None or not row.is_active:
            return  # disconnected or revoked meanwhile: its own status says so
        row.last_sync_at = datetime.now(UTC)
        row.last_sync_status = "partial" if warnings else "success"
        row.last_sync_error = "; ".join(warnings) if warnings else None


def _record_failure(user_id: uuid.UUID | str, provider: Provider, engine: Engine | None, exc: Exception) -> None:
    """Say on the connection why the last sync stopped (a revoked one is already marked)."""
    from integrations.errors import AuthorizationRevoked, ConnectionUnusable
    from workers.jobtask import TransientError

    if isinstance(exc, AuthorizationRevoked | ConnectionUnusable | TransientError):
        return  # already marked, or not a failure of the connection (it retries)
    try:
        with user_scope(user_id, role=WORKER_ROLE, engine=engine) as session:
            row = connections.find(session, user_id, provider, lock=True)
            if row is not None and row.is_active:
                row.last_sync_status = "error"
                row.last_sync_error = f"{type(exc).__name__}: {exc}"
    except Exception:  # noqa: S110 (the original failure is the one to report)
        pass


def sync_document(
    user_id: uuid.UUID | str,
    provider: str | Provider,
    resource: str,
    object_id: str | None,
    *,
    app: ProviderApp | None = None,
    bucket: Bucket | None = None,
    engine: Engine | None = None,
    today: date | None = None,
) -> SyncReport:
    """The targeted sync a webhook asks for: fetch the one document it names and upsert its rows.

    Without a document route or an id, the resource is synced from its cursor instead. A document that
    answers 404 (deleted, or not yet visible) is a warning, not a failure: the next sync reconciles.
    """
    app = app or app_from_env(provider)
    endpoint = app.provider.endpoint(resource)
    if endpoint.document_path is None or not object_id:
        return sync(user_id, app.provider, resources=[resource], app=app, bucket=bucket, engine=engine, today=today)
    report = SyncReport(app.provider.name, "document")
    resource_report = ResourceReport(resource)
    report.resources.append(resource_report)
    with connection_client(app, user_id, bucket=bucket or default_bucket(), engine=engine) as client:
        try:
            document = client.get_json(f"{endpoint.document_path}/{object_id}", what=resource)
            if not isinstance(document, Mapping):
                raise MalformedResponse(f"{app.provider.name} {resource}: expected one JSON object")
            resource_report.pages = resource_report.documents = 1
            records = app.provider.normalize(resource, [document])
            resource_report.add_days(r.day for r in records)
            _write(client, user_id, endpoint, records, resource_report)
        except EndpointMissing as exc:
            resource_report.warning = str(exc)
            report.warnings.append(str(exc))
        finally:
            report.requests, report.refreshes = client.requests, client.refreshes
    return report
