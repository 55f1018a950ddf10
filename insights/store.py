"""Writing one user's nightly results: `insights` rows and `goal_alerts`, idempotently.

An insight is identified by what it is about (insight_type, metric_a, metric_b). Each run brings the
user's rows in line with the new drafts: an unchanged finding keeps its row (and id) and only has its
expiry moved; a changed one is updated in place; a new one is inserted; a finding that no longer holds
is deleted. A dismissed insight is never touched, and the same finding is not shown again. Running the
same night twice changes nothing the second time.

A goal alert carries the day of the reading that fired it (triggered_at = that day, 00:00 UTC), so a
repeated run recognises an alert it already wrote. The caller's session must be in the user's scope as
the worker role; this module flushes and never commits.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.orm import Session

from insights.nightly import GoalAlertDraft, InsightDraft

NIGHTLY_TYPES = ("correlation", "trend")  # the insight types the nightly run owns


@dataclass(frozen=True)
class StoreSummary:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    suppressed: int = 0  # drafts matching a dismissed insight
    alerts: int = 0


def _r(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(f"{max(-1.0, min(1.0, value)):.3f}")


def _p(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(f"{max(0.0, min(1.0, value)):.6f}")


def write_user(
    session: Session,
    user_id: uuid.UUID,
    insights: Iterable[InsightDraft],
    alerts: Iterable[GoalAlertDraft],
    today: dt.date,
    valid_days: int = 7,
) -> StoreSummary:
    uid = str(user_id)
    # Two runs for one user at once (a retry overlapping a slow first attempt) take turns. A commit
    # lost in a server crash would lose this night's results and the mark that says so together (one
    # transaction), leaving the user due again: waiting for the WAL flush buys nothing here.
    session.execute(
        text("""SELECT pg_advisory_xact_lock(hashtextextended('insights:' || :u, 0)),
                       set_config('synchronous_commit', 'off', true)"""),
        {"u": uid},
    )
    existing = session.execute(
        text("""
        SELECT insight_id, insight_type::text AS kind, metric_a, metric_b, title, body, correlation_r,
               p_value, data_points, is_dismissed
        FROM insights WHERE user_id = :u AND insight_type::text = ANY(:kinds)"""),
        {"u": uid, "kinds": list(NIGHTLY_TYPES)},
    ).all()
    dismissed = {(r.kind, r.metric_a, r.metric_b) for r in existing if r.is_dismissed}
    live = {(r.kind, r.metric_a, r.metric_b): r for r in existing if not r.is_dismissed}
    until = today + dt.timedelta(days=valid_days)
    counts = dict.fromkeys(("inserted", "updated", "unchanged", "deleted", "suppressed"), 0)
    wanted = set()
    new: list[InsightDraft] = []
    changed: list[tuple[uuid.UUID, InsightDraft]] = []
    kept: list[uuid.UUID] = []
    for d in insights:
        if d.key in dismissed:
            counts["suppressed"] += 1
            continue
        if d.key in wanted:
            continue
        wanted.add(d.key)
        row = live.get(d.key)
        if row is None:
            new.append(d)
        elif (row.title, row.body, row.correlation_r, row.p_value, row.data_points) == _stored(d):
            kept.append(row.insight_id)
        else:
            changed.append((row.insight_id, d))
    # One statement per kind of change, whatever the number of insights: each row-level change still
    # reaches the audit log, through one trigger call per statement.
    if new:
        session.execute(
            text("""
            INSERT INTO insights (user_id, insight_type, title, body, metric_a, metric_b, correlation_r,
                                  p_value, data_points, valid_from, valid_until)
            SELECT :u, CAST(d.kind AS insight_type), d.title, d.body, d.a, d.b, d.r, d.p, d.n, :today, :until
            FROM unnest(CAST(:kinds AS text[]), CAST(:titles AS text[]), CAST(:bodies AS text[]),
                        CAST(:metrics_a AS text[]), CAST(:metrics_b AS text[]), CAST(:rs AS numeric[]),
                        CAST(:ps AS numeric[]), CAST(:ns AS integer[]))
                 WITH ORDINALITY AS d(kind, title, body, a, b, r, p, n, i)
            ORDER BY d.i"""),
            {"u": uid, "today": today, "until": until, **_columns(new)},
        )
        counts["inserted"] = len(new)
    if changed:
        session.execute(
            text("""
            UPDATE insights i SET title = d.title, body = d.body, correlation_r = d.r, p_value = d.p,
                   data_points = d.n, valid_from = :today, valid_until = :until
            FROM unnest(CAST(:ids AS uuid[]), CAST(:titles AS text[]), CAST(:bodies AS text[]),
                        CAST(:rs AS numeric[]), CAST(:ps AS numeric[]), CAST(:ns AS integer[]))
                 AS d(id, title, body, r, p, n)
            WHERE i.insight_id = d.id"""),
            {"ids": [i for i, _ in changed], "today": today, "until": until, **_columns([d for _, d in changed])},
        )
        counts["updated"] = len(changed)
    if kept:  # only the expiry moves, and not even that when this night already ran
        session.execute(
            text("""UPDATE insights SET valid_until = :until
                    WHERE insight_id = ANY(:ids) AND valid_until IS DISTINCT FROM :until"""),
            {"ids": kept, "until": until},
        )
        counts["unchanged"] = len(kept)
    gone = [r.insight_id for k, r in live.items() if k not in wanted]
    if gone:
        session.execute(text("DELETE FROM insights WHERE insight_id = ANY(:ids)"), {"ids": gone})
        counts["deleted"] = len(gone)

    fired = 0
    # The same alert twice in one night is one alert (one statement cannot see its own inserts).
    events: dict[tuple, Decimal] = {}
    for a in alerts:
        at = dt.datetime.combine(a.on, dt.time.min, tzinfo=dt.UTC)
        events.setdefault((a.goal_id, at, a.message), Decimal(f"{a.value:.4f}"))
    if events:
        fired = len(
            session.execute(
                text("""
                INSERT INTO goal_alerts (goal_id, user_id, triggered_at, trigger_value, message)
                SELECT e.g, :u, e.at, e.v, e.m
                FROM unnest(CAST(:goals AS uuid[]), CAST(:ats AS timestamptz[]), CAST(:values AS numeric[]),
                            CAST(:messages AS text[])) WITH ORDINALITY AS e(g, at, v, m, i)
                WHERE NOT EXISTS (SELECT 1 FROM goal_alerts
                                  WHERE goal_id = e.g AND triggered_at = e.at AND message = e.m)
                ORDER BY e.i
                RETURNING 1"""),
                {
                    "u": uid,
                    "goals": [str(g) for g, _, _ in events],
                    "ats": [at for _, at, _ in events],
                    "values": list(events.values()),
                    "messages": [m for _, _, m in events],
                },
            ).all()
        )
    session.flush()
    return StoreSummary(**counts, alerts=fired)


def _stored(d: InsightDraft) -> tuple:
    """A draft's values as the row holds them (r and p rounded to the columns' scale)."""
    return (d.title, d.body, _r(d.correlation_r), _p(d.p_value), d.data_points)


def _columns(drafts: list[InsightDraft]) -> dict[str, list]:
    return {
        "kinds": [d.insight_type for d in drafts],
        "titles": [d.title for d in drafts],
        "bodies": [d.body for d in drafts],
        "metrics_a": [d.metric_a for d in drafts],
        "metrics_b": [d.metric_b for d in drafts],
        "rs": [_r(d.correlation_r) for d in drafts],
        "ps": [_p(d.p_value) for d in drafts],
        "ns": [d.data_points for d in drafts],
    }
