"""Running Alembic from code, so `vitalis db upgrade` works from an installed package with no ini file."""

from __future__ import annotations

import re
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).with_name("migrations")

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
