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

# A task is acknowledged only after it finishes, and a worker takes one task at a time: long tasks do
# not hoard short ones. A crash mid-task may redeliver the message, but what brings the job back is its
# lease running out (workers.delivery): a redelivery while another attempt's lease is live does nothing.
task_acks_late = True
task_reject_on_worker_lost = True
worker_prefetch_multiplier = 1

# Hard and soft limits: a runaway parse is stopped, and the soft limit lets it record why.
task_soft_time_limit = int(os.environ.get("VITALIS_TASK_SOFT_TIME_LIMIT", 25 * 60))
task_time_limit = int(os.environ.get("VITALIS_TASK_TIME_LIMIT", 30 * 60))

# A stopped or frozen Redis must give a clear error within seconds, not a hang: bounded connect and
# socket timeouts on the broker and the result store, and a short bounded retry of a publish (the job
# row is the truth: a send that fails leaves the job queued for the sweeper, see workers.delivery).
# Redis redelivers an unacknowledged task after the visibility timeout; it must exceed the time limit.
# These are Redis options; workers.app drops them for the database transport.
_broker_timeout = float(os.environ.get("VITALIS_BROKER_TIMEOUT_SECONDS", 2))
broker_connection_timeout = _broker_timeout
broker_transport_options = {
    "visibility_timeout": task_time_limit + 5 * 60,
    "socket_connect_timeout": _broker_timeout,
    # Longer than kombu's 1 s BRPOP wait, so an idle consumer is not mistaken for a dead connection.
    "socket_timeout": _broker_timeout + 1,
}
task_publish_retry_policy = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5, "interval_max": 0.5}
redis_socket_connect_timeout = _broker_timeout
redis_socket_timeout = _broker_timeout
result_backend_transport_options = {"retry_policy": {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}}

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

# Job leases and the sweeper (workers.delivery): a running job's lease is renewed every third of its
# length, so a dead worker's job is taken up again within lease + sweep interval; a queued job whose
# message nobody took is sent again after `resend_after`. The sweeper runs from beat, and inside each
# worker when VITALIS_SWEEP_IN_WORKER is on (default: on for the database broker, which has no beat).
vitalis_job_lease_seconds = float(os.environ.get("VITALIS_JOB_LEASE_SECONDS", 30))
vitalis_sweep_interval_seconds = float(os.environ.get("VITALIS_SWEEP_INTERVAL_SECONDS", 15))
vitalis_resend_after_seconds = float(os.environ.get("VITALIS_RESEND_AFTER_SECONDS", 300))
vitalis_sweep_in_worker = os.environ.get("VITALIS_SWEEP_IN_WORKER") or None

# The nightly insights run queues one job per this many users (workers.nightly_insights): a batch is
# loaded in a handful of queries whatever its size, and holds ~0.7 MB per user of 5-year arrays. A job
# costs little beyond its users, so a bigger batch only holds more memory: benchmarks/insights.py
# measured 50 at ~240 MiB and ~7 % less CPU per user than 100 at ~330 MiB per worker process.
vitalis_insights_batch_size = int(os.environ.get("VITALIS_INSIGHTS_BATCH_SIZE", 50))

# The polling fallback (workers.sync_tasks): connections not synced for this many hours (their
# webhooks went quiet) get an incremental sync; beat looks every VITALIS_SYNC_POLL_SECONDS.
vitalis_sync_quiet_hours = float(os.environ.get("VITALIS_SYNC_QUIET_HOURS", 6))
vitalis_sync_poll_seconds = float(os.environ.get("VITALIS_SYNC_POLL_SECONDS", 3600))

beat_schedule = {
    "nightly": {
        "task": "vitalis.nightly",
        "schedule": crontab(hour=2, minute=30),
        "options": {"queue": "insights"},
    },
    "sweep-jobs": {
        "task": "vitalis.jobs.sweep",
        "schedule": vitalis_sweep_interval_seconds,
        # A sweep nobody ran in time is replaced by the next one, not queued behind it.
        "options": {"queue": "default", "expires": vitalis_sweep_interval_seconds},
    },
    "poll-quiet-connections": {
        "task": "vitalis.sync.poll",
        "schedule": vitalis_sync_poll_seconds,
        "options": {"queue": "sync", "expires": vitalis_sync_poll_seconds},
    },
}
