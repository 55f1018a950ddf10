"""The Celery application. `celery -A workers.app worker` and `vitalis worker` both start from here."""

from __future__ import annotations

from celery import Celery


def make_app(broker_url: str | None = None, result_backend: str | None = None) -> Celery:
    """A configured app; with no broker in the environment, broker and results live in the database."""
    app = Celery("vitalis")
    app.config_from_object("celeryconfig")
    if broker_url:
        app.conf.broker_url = broker_url
    if result_backend:
        app.conf.result_backend = result_backend
    if not app.conf.broker_url:
        from db.engine import database_url

        url = database_url()
        app.conf.broker_url = f"sqla+{url}"
        app.conf.result_backend = app.conf.result_backend or f"db+{url}"
    if app.conf.broker_url.startswith("sqla+"):
        # This transport hands every transport option to create_engine(); Redis's would break it.
        app.conf.broker_transport_options = {}
    import workers.tasks  # noqa: F401  (registers the shared tasks)
    from workers.delivery import SweepStep

    app.steps["worker"].add(SweepStep)  # enabled per workers.delivery.sweep_in_worker

    return app


app = make_app()
# Shared tasks and AsyncResult in this process resolve to this app, not Celery's amqp default.
app.set_default()
