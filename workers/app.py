"""The Celery application. `celery -A workers.app worker` and `vitalis worker` both start from here.

Importing this module starts nothing: with no broker in the environment, the database broker's URL is
resolved when Celery first reads its configuration (which, on the embedded default, starts the database).
"""

from __future__ import annotations

import importlib
import warnings

from celery import Celery, signals
from celery.exceptions import CPendingDeprecationWarning

from workers import dbtransport

# Modules whose shared tasks every app registers: one per area.
TASK_MODULES = (
    "workers.tasks",
    "workers.lab_tasks",
    "workers.insights_tasks",
    "workers.apple_tasks",
    "workers.sync_tasks",
)


def make_app(broker_url: str | None = None, result_backend: str | None = None) -> Celery:
    """A configured app; with no broker in the environment, broker and results live in the database."""
    app = Celery("vitalis")
    app.config_from_object("celeryconfig")
    # Written into the pending configuration, these do not load it.
    if broker_url:
        app.conf.broker_url = broker_url
    if result_backend:
        app.conf.result_backend = result_backend
    app.on_after_configure.connect(_resolve_broker, sender=app, weak=False)
    for module in TASK_MODULES:  # registers the shared tasks
        importlib.import_module(module)
    from workers.delivery import SweepStep

    app.steps["worker"].add(SweepStep)  # enabled per workers.delivery.sweep_in_worker

    return app


def _resolve_broker(sender: Celery, source, **kwargs) -> None:
    if not source.broker_url:
        from db.engine import database_url

        url = database_url()
        source.broker_url = dbtransport.broker_url(url)
        source.result_backend = source.result_backend or f"db+{url}"
    source.broker_url = dbtransport.use_this_transport(source.broker_url)
    if str(source.result_backend or "").startswith("db+"):
        # Celery's database backend otherwise creates its tables when the worker prints its banner, and
        # a database that is down at that moment kills the worker instead of being waited for.
        source.database_create_tables_at_setup = False


@signals.celeryd_after_setup.connect
def _quiet_connection_loss(**kwargs) -> None:
    # At every lost broker connection Celery warns (8 lines) that a later version will cancel running
    # late-ack tasks. A running job keeps going and records its outcome on its row, which is the truth.
    # Added after Celery's own logging setup, which turns its deprecation warnings to "always".
    warnings.filterwarnings("ignore", message=r"\s*In Celery 5.1 we introduced", category=CPendingDeprecationWarning)


@signals.worker_process_init.connect
def _fresh_pool_after_fork(**kwargs) -> None:
    # A pool child inherits the parent's engine (the parent migrates on start); its sockets are the
    # parent's, so the child drops them without closing and opens its own.
    from db.engine import get_engine

    if get_engine.cache_info().currsize:
        get_engine().dispose(close=False)


app = make_app()
# Shared tasks and AsyncResult in this process resolve to this app, not Celery's amqp default.
app.set_default()
