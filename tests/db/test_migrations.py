"""Migrations: the schema builds and unbuilds cleanly, and matches the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from db import migrate
from db.engine import ROLES
from db.migrate import include_name, include_object
from db.models import Base
from tests.helpers import recreate_database, scratch_database_url

SCRATCH_URL = scratch_database_url("migrations")


@pytest.fixture(scope="module")
def scratch():
    recreate_database(SCRATCH_URL)
    engine = create_engine(SCRATCH_URL)
    yield engine
    engine.dispose()


def _tables(engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def test_upgrade_to_head_and_downgrade_to_base_twice(scratch) -> None:
    model_tables = set(Base.metadata.tables)
    for _ in range(2):
        migrate.upgrade(SCRATCH_URL)
        tables = _tables(scratch)
        assert model_tables <= tables
        assert {"wearable_daily_2026", "wearable_sleep_2026", "wearable_activities_2026"} <= tables
        assert migrate.current_revision(scratch) == migrate.head_revision()

        migrate.downgrade(SCRATCH_URL)
        assert _tables(scratch) <= {"alembic_version"}
        with scratch.connect() as conn:
            leftover_types = (
                conn.execute(
                    text("SELECT typname FROM pg_type WHERE typnamespace = 'public'::regnamespace AND typtype = 'e'")
                )
                .scalars()
                .all()
            )
            leftover_functions = (
                conn.execute(text("SELECT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace"))
                .scalars()
                .all()
            )
        assert leftover_types == []
        assert leftover_functions == []


def test_models_and_migrations_describe_the_same_schema(engine) -> None:
    """A model changed without a migration (or the reverse) shows up here, not in production."""
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={"compare_type": True, "include_name": include_name, "include_object": include_object},
        )
        assert compare_metadata(context, Base.metadata) == []


def test_roles_exist_and_the_app_may_switch_to_them(engine) -> None:
    with engine.connect() as conn:
        for role in ROLES:
            assert conn.execute(text("SELECT pg_has_role(current_user, :r, 'MEMBER')"), {"r": role}).scalar()
        bypass = dict(
            conn.execute(text("SELECT rolname, rolbypassrls FROM pg_roles WHERE rolname LIKE 'vitalis_%'")).all()
        )
    assert bypass == {
        "vitalis_api": False,
        "vitalis_worker": False,
        "vitalis_readonly": False,
        "vitalis_admin": True,
    }


CONSTRAINTS = """
SELECT c.relname || '.' || k.conname, pg_get_constraintdef(k.oid)
FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
WHERE c.relnamespace = 'public'::regnamespace AND NOT c.relispartition AND k.contype IN ('c', 'f', 'u')
  AND k.conparentid = 0 AND c.relname NOT LIKE 'kombu%' AND c.relname NOT LIKE 'celery%'
"""


@pytest.fixture(scope="module")
def from_models():
    """A database built straight from the models (no migrations), for PostgreSQL to spell both alike."""
    url = scratch_database_url("models")
    recreate_database(url)
    engine = create_engine(url)
    with engine.begin() as conn:
        Base.metadata.create_all(conn)
    yield engine
    engine.dispose()


def test_the_migrated_checks_keys_and_uniques_are_the_models_exactly(engine, from_models) -> None:
    """The validation ranges feed the models' CHECKs; a changed range with no migration fails here.

    Alembic's comparison ignores CHECK constraints and ON DELETE actions, so PostgreSQL's own rendering
    of every CHECK, foreign key and unique constraint is compared between the two databases.
    """
    with engine.connect() as conn:
        migrated = dict(conn.execute(text(CONSTRAINTS)).all())
    with from_models.connect() as conn:
        modelled = dict(conn.execute(text(CONSTRAINTS)).all())
    assert len(modelled) > 100  # the control: constraints were found
    differing = {name: (migrated.get(name), modelled.get(name)) for name in migrated.keys() | modelled.keys()}
    assert {k: v for k, v in differing.items() if v[0] != v[1]} == {}
