"""Alembic environment: the URL comes from the caller (db.migrate) or the same resolution the app uses."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from db.migrate import include_name, include_object
from db.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is None:
        from db.engine import database_url, make_engine

        engine = make_engine(config.get_main_option("sqlalchemy.url") or database_url())
        with engine.connect() as connection:
            _run(connection)
        engine.dispose()
    else:
        _run(connectable)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        include_name=include_name,
        include_object=include_object,
    )
    with context.begin_transaction():
        # Seed §4: never wait on a lock long enough to stall a production workload.
        connection.execute(text("SET LOCAL lock_timeout = '5s'"))
        # Serialize concurrent `db upgrade` runs (several containers starting at once).
        connection.execute(text("SELECT pg_advisory_xact_lock(7236150001)"))
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run `vitalis db upgrade`")
run_migrations_online()
