"""Running Alembic from code, so `vitalis db upgrade` works from an installed package with no ini file."""

from __future__ import annotations

import re
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

MIGRATIONS = Path(__file__).with_name("migrations")
# Held while one process migrates and seeds, so processes starting together take turns.
SETUP_LOCK = 7236150002

# Partitions are made at run time by vitalis_ensure_*_partition(s); the broker's and result backend's
# tables belong to Celery. None of them is part of the models, so autogenerate must not drop them.
_NOT_MODELLED = re.compile(r"(_\d{4}|_\d{4}q[1-4])$|^(kombu_|celery_)")


def include_name(name, type_, parent_names) -> bool:
    return not (type_ == "table" and name and _NOT_MODELLED.search(name))


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    if type_ == "index" and reflected and compare_to is None:
        return not _NOT_MODELLED.search(obj.table.name)
    return True


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def schema_lag(engine: Engine) -> str | None:
    """None when the database is at the newest revision, else what is wrong and the command that fixes it."""
    current, head = current_revision(engine), head_revision()
    if current is None:
        return "the database is empty: run `vitalis db upgrade`"
    if current != head:
        return f"the database schema is at {current}, this version needs {head}: run `vitalis db upgrade`"
    return None


def prepare(engine: Engine | None = None) -> dict[str, int]:
    """Migrate to the newest schema and load reference data, as `vitalis run`, `worker` and `beat` do on
    the embedded default. Several processes starting at once take turns; the later ones change nothing.
    Returns the reference data's figures."""
    from db.engine import admin_scope, get_engine
    from db.reference import seed_reference_data

    engine = engine or get_engine()
    with engine.connect() as lock:
        lock.execute(text("SELECT pg_advisory_lock(:key)"), {"key": SETUP_LOCK})
        lock.commit()
        try:
            upgrade(engine.url.render_as_string(hide_password=False))
            with admin_scope(engine) as session:
                return seed_reference_data(session)
        finally:
            lock.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SETUP_LOCK})
            lock.commit()
