"""A long job's progress on its row (`result.progress`), written at a bounded rate so `vitalis jobs` shows it.

Each write is its own short transaction: a job polled by a person or a screen never waits on the
work's own transactions, and the work never waits on more than one small update per interval.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError

from db.engine import worker_scope
from db.jobs import JobSnapshot
from db.models import IngestionJob
from db.models.enums import JobStatus

log = logging.getLogger(__name__)


def progress_interval() -> float:
    return float(os.environ.get("VITALIS_PROGRESS_INTERVAL_SECONDS", 1))


class JobProgress:
    """Writes this attempt's progress at most once per `interval` seconds (the first update at once)."""

    def __init__(
        self,
        job: JobSnapshot,
        *,
        interval: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.job_id = job.job_id
        self.attempt = job.attempts
        self.interval = progress_interval() if interval is None else interval
        self._clock = clock
        self._last: float | None = None

    def update(self, progress: dict[str, Any], *, force: bool = False, **extra: Any) -> bool:
        """Record `progress` (and `extra` beside it) unless the last write was too recent and `force` is
        not set (a last step); True if written. False too when this attempt no longer runs the job, or
        the write failed: progress is a courtesy, the work goes on and its rows are the truth."""
        now = self._clock()
        if not force and self._last is not None and now - self._last < self.interval:
            return False
        self._last = now
        try:
            with worker_scope() as session:
                # Only while this attempt runs: a stale attempt never overwrites its successor's result.
                written = session.execute(
                    update(IngestionJob)
                    .where(
                        IngestionJob.job_id == self.job_id,
                        IngestionJob.status == JobStatus.RUNNING,
                        IngestionJob.attempts == self.attempt,
                    )
                    .values(result={**extra, "progress": progress})
                    .returning(IngestionJob.job_id)
                ).first()
        except SQLAlchemyError as exc:
            log.warning("job %s: progress not recorded (%s)", self.job_id, type(exc).__name__)
            return False
        return written is not None
