"""`vitalis doctor` tells what is wrong in plain words, and passes on a healthy setup."""

from __future__ import annotations

from sqlalchemy import create_engine

from tests.helpers import recreate_database, scratch_database_url
from workers.doctor import run_checks


def _doctor(engine) -> tuple[int, list[str]]:
    lines: list[str] = []
    return run_checks(echo=lines.append, engine=engine), lines


def test_an_empty_database_is_reported_with_the_command_that_fixes_it() -> None:
    url = scratch_database_url("doctor")
    recreate_database(url)
    engine = create_engine(url)
    try:
        code, lines = _doctor(engine)
    finally:
        engine.dispose()
    assert code == 1
    assert "[FAIL] migrations: the database is empty: run `vitalis db upgrade`" in lines
    assert lines[-1] == "1 check(s) failed"


def test_an_unreachable_database_is_reported_not_raised() -> None:
    engine = create_engine("postgresql+psycopg://postgres@127.0.0.1:1/nowhere?connect_timeout=2")
    code, lines = _doctor(engine)
    assert code == 1
    assert any(line.startswith("[FAIL] database: cannot connect:") for line in lines)


def test_a_migrated_and_seeded_database_passes(engine) -> None:
    from db.engine import admin_scope
    from db.reference import seed_reference_data

    with admin_scope() as session:
        seed_reference_data(session)
    code, lines = _doctor(engine)
    assert code == 0, lines
    assert "[ok  ] row-level security: enabled on every table that holds a user's data" in lines
    assert any(line.startswith("[ok  ] reference data:") for line in lines)
