"""Generated history for tests of the nightly run: HRV and mood that move together, ending yesterday."""

from __future__ import annotations

import datetime as dt
import uuid

import numpy as np
from sqlalchemy import insert

from db.engine import admin_scope
from db.models import MoodJournal, WearableDaily

DAYS = 120


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def add_linked_history(user: uuid.UUID, seed: int = 1, days: int = DAYS) -> None:
    rng = np.random.default_rng(seed)
    dates = [today() - dt.timedelta(days=days - i) for i in range(days)]
    hrv = rng.normal(55, 8, days)
    mood = np.clip(np.round(3 + (hrv - 55) / 6 + rng.normal(0, 0.5, days)), 1, 5)
    with admin_scope() as s:
        s.execute(insert(WearableDaily), [
            {"user_id": user, "date": d, "source": "oura", "hrv_rmssd_ms": round(float(h), 2)}
            for d, h in zip(dates, hrv, strict=True)
        ])  # fmt: skip
        s.execute(insert(MoodJournal), [
            {"user_id": user, "journal_date": d, "mood_score": int(m)} for d, m in zip(dates, mood, strict=True)
        ])  # fmt: skip
