"""Which users the nightly run must compute, and marking a user computed (table insight_runs).

A user needs a run when never computed, when their data changed after the last run (triggers on every
table the run reads move `data_changed_at`, migration 0006), or when the last run's insights expire.
A run reads `data_changed_at` in the same snapshot as the data (`changes_seen`) and marks the user
computed only if it is still that value (`mark_computed`): a change committed while the run worked
leaves the user stale for the next run, so no change is ever lost. Takes a Session, flushes, never commits.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.orm import Session

NEEDS_RUN = """(r.computed_at IS NULL OR r.data_changed_at > r.computed_at OR r.valid_until <= :today)"""


def users_needing_run(session: Session, today: dt.date) -> list[uuid.UUID]:
    """Every active user whose insights are stale, never computed or expired (a scope with no user)."""
    return list(
        session.scalars(
            text(f"""
            SELECT u.user_id FROM users u LEFT JOIN insight_runs r ON r.user_id = u.user_id
            WHERE u.deleted_at IS NULL AND {NEEDS_RUN} ORDER BY u.user_id"""),
            {"today": today},
        )
    )


def still_needing_run(session: Session, user_ids: Sequence[uuid.UUID], today: dt.date) -> list[uuid.UUID]:
    """Those of `user_ids` that still need a run (a retried batch skips the users it already did)."""
    found = set(
        session.scalars(
            text(f"""
            SELECT u.user_id FROM users u LEFT JOIN insight_runs r ON r.user_id = u.user_id
            WHERE u.user_id = ANY(:ids) AND u.deleted_at IS NULL AND {NEEDS_RUN}"""),
            {"ids": list(user_ids), "today": today},
        )
    )
    return [u for u in user_ids if u in found]


def changes_seen(session: Session, user_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dt.datetime | None]:
    """`data_changed_at` per user as this snapshot sees it (None: no change recorded)."""
    seen: dict[uuid.UUID, dt.datetime | None] = dict.fromkeys(user_ids)
    rows = session.execute(
        text("SELECT user_id, data_changed_at FROM insight_runs WHERE user_id = ANY(:ids)"), {"ids": list(user_ids)}
    )
    seen.update({row.user_id: row.data_changed_at for row in rows})
    return seen


def mark_computed(
    session: Session, user_id: uuid.UUID, seen: dt.datetime | None, today: dt.date, valid_days: int = 7
) -> bool:
    """Record the run in the user's scope (worker role). False when the data changed since it was loaded:
    the user then stays stale. A writer still holding the row makes this wait for its commit."""
    return bool(
        session.execute(
            text("""
            INSERT INTO insight_runs AS r (user_id, computed_at, valid_until) VALUES (:u, now(), :until)
            ON CONFLICT (user_id) DO UPDATE SET computed_at = excluded.computed_at, valid_until = excluded.valid_until
            WHERE r.data_changed_at IS NOT DISTINCT FROM :seen
            RETURNING 1"""),
            {"u": user_id, "until": today + dt.timedelta(days=valid_days), "seen": seen},
        ).first()
    )
