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
    # Two runs for one user at once (a retry overlapping a slow first attempt) take turns.
    session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended('insights:' || :u, 0))"), {"u": uid})
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
    for d in insights:
        if d.key in dismissed:
            counts["suppressed"] += 1
            continue
        if d.key in wanted:
            continue
        wanted.add(d.key)
        values = {
            "title": d.title, "body": d.body, "r": _r(d.correlation_r), "p": _p(d.p_value), "n": d.data_points,
        }  # fmt: skip
        row = live.get(d.key)
        if row is None:
            session.execute(
                text("""
                INSERT INTO insights (user_id, insight_type, title, body, metric_a, metric_b, correlation_r,
                                      p_value, data_points, valid_from, valid_until)
                VALUES (:u, CAST(:kind AS insight_type), :title, :body, :a, :b, :r, :p, :n, :today, :until)"""),
                {"u": uid, "kind": d.insight_type, "a": d.metric_a, "b": d.metric_b, "today": today, "until": until}
                | values,
            )
            counts["inserted"] += 1
            continue
        same = (row.title, row.body, row.correlation_r, row.p_value, row.data_points) == tuple(values.values())
        if same:  # only the expiry moves, and not even that when this night already ran
            sql = """UPDATE insights SET valid_until = :until
                     WHERE insight_id = :id AND valid_until IS DISTINCT FROM :until"""
        else:
            sql = """UPDATE insights SET title = :title, body = :body, correlation_r = :r, p_value = :p,
                     data_points = :n, valid_from = :today, valid_until = :until WHERE insight_id = :id"""
        session.execute(text(sql), {"id": row.insight_id, "until": until, "today": today} | values)
        counts["unchanged" if same else "updated"] += 1
    gone = [r.insight_id for k, r in live.items() if k not in wanted]
    if gone:
        session.execute(text("DELETE FROM insights WHERE insight_id = ANY(:ids)"), {"ids": gone})
        counts["deleted"] = len(gone)

    fired = 0
    for a in alerts:
        at = dt.datetime.combine(a.on, dt.time.min, tzinfo=dt.UTC)
        fired += session.execute(
            text("""
            INSERT INTO goal_alerts (goal_id, user_id, triggered_at, trigger_value, message)
            SELECT :g, :u, :at, :v, :m
            WHERE NOT EXISTS (SELECT 1 FROM goal_alerts
                              WHERE goal_id = :g AND triggered_at = :at AND message = :m)"""),
            {"g": a.goal_id, "u": uid, "at": at, "v": Decimal(f"{a.value:.4f}"), "m": a.message},
        ).rowcount
    session.flush()
    return StoreSummary(**counts, alerts=fired)
