"""Celery settings. Broker and result backend come from the environment.

REDIS_URL set → Redis for both. Unset → workers.app puts both on the database (kombu's SQLAlchemy
transport and Celery's database backend), so the embedded default needs no server of its own.
"""

from __future__ import annotations

import os

from celery.schedules import crontab
from kombu import Queue

_redis_url = os.environ.get("REDIS_URL") or None

broker_url = os.environ.get("CELERY_BROKER_URL") or _redis_url
result_backend = os.environ.get("CELERY_RESULT_BACKEND") or _redis_url
broker_connection_retry_on_startup = True

# One queue per workload, so a backlog of PDF parses never delays syncs, and workers can be scaled per
# queue (`vitalis worker -Q documents`).
task_default_queue = "default"
task_queues = (Queue("default"), Queue("sync"), Queue("documents"), Queue("insights"))
task_routes = {
    "vitalis.sync.*": {"queue": "sync"},
    "vitalis.documents.*": {"queue": "documents"},
    "vitalis.insights.*": {"queue": "insights"},
    "vitalis.nightly": {"queue": "insights"},
}

# A task is acknowledged only after it finishes, and a worker takes one task at a time: a crash
# mid-task redelivers it instead of losing it, and long tasks do not hoard short ones.
task_acks_late = True
task_reject_on_worker_lost = True
worker_prefetch_multiplier = 1

# Hard and soft limits: a runaway parse is stopped, and the soft limit lets it record why.
task_soft_time_limit = int(os.environ.get("VITALIS_TASK_SOFT_TIME_LIMIT", 25 * 60))
task_time_limit = int(os.environ.get("VITALIS_TASK_TIME_LIMIT", 30 * 60))

# Redis redelivers an unacknowledged task after the visibility timeout; it must exceed the time limit.
broker_transport_options = {"visibility_timeout": task_time_limit + 5 * 60} if _redis_url else {}

task_serializer = "json"
result_serializer = "json"
accept_content = ["json"]
result_expires = 7 * 24 * 3600
timezone = "UTC"
enable_utc = True
worker_hijack_root_logger = False

# Bounded retries with exponential backoff (seconds): base × 2^attempt, capped, with jitter.
vitalis_retry_base_seconds = float(os.environ.get("VITALIS_RETRY_BASE_SECONDS", 30))
vitalis_retry_max_seconds = float(os.environ.get("VITALIS_RETRY_MAX_SECONDS", 3600))

beat_schedule = {
    "nightly": {
        "task": "vitalis.nightly",
        "schedule": crontab(hour=2, minute=30),
        "options": {"queue": "insights"},
    },
}
