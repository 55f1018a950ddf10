"""`vitalis doctor` tells what is wrong in plain words, each part on its own, and passes on a healthy setup."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading

import pytest
from sqlalchemy import create_engine, make_url

from tests.helpers import TEST_DATABASE_URL, recreate_database, scratch_database_url
from tests.tcpproxy import TcpProxy
from workers.doctor import run_checks


def _doctor(engine) -> tuple[int, list[str]]:
    lines: list[str] = []
    return run_checks(echo=lines.append, engine=engine), lines


def _line(lines: list[str], name: str) -> str:
    return next(line for line in lines if line.split("] ", 1)[1].startswith(f"{name}:"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def seeded(engine):
    from db.engine import admin_scope
    from db.reference import seed_reference_data

    with admin_scope() as session:
        seed_reference_data(session)
    return engine


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
    assert "[skip] reference data: not checked: the schema is not the newest" in lines
    assert lines[-1] == "1 check(s) failed"


def test_a_database_that_went_away_fails_every_part_that_needs_it_including_the_database_broker(seeded) -> None:
    target = make_url(TEST_DATABASE_URL)
    with TcpProxy((target.host or "127.0.0.1", target.port or 5432)) as proxy:
        url = target.set(host="127.0.0.1", port=proxy.port, query={"connect_timeout": "2"})
        engine = create_engine(url)
        try:
            healthy_code, healthy = _doctor(engine)
            proxy.cut()
            engine.dispose()
            code, lines = _doctor(engine)
        finally:
            engine.dispose()
    assert healthy_code == 0, healthy
    assert _line(healthy, "broker").startswith("[ok  ] broker: tasks travel through the database;")
    assert code == 1
    assert _line(lines, "database").startswith("[FAIL] database: cannot connect:")
    for part in ("migrations", "row-level security", "partitions", "reference data"):
        assert _line(lines, part) == f"[skip] {part}: not checked: the database does not answer"
    assert _line(lines, "broker") == "[FAIL] broker: tasks travel through the database, which does not answer"
    assert lines[-1] == "2 check(s) failed"


def test_with_redis_as_broker_a_dead_database_does_not_fail_the_broker(monkeypatch, redis_url) -> None:
    monkeypatch.setenv("REDIS_URL", redis_url)
    engine = create_engine("postgresql+psycopg://postgres@127.0.0.1:1/nowhere?connect_timeout=2")
    code, lines = _doctor(engine)
    assert code == 1
    assert _line(lines, "database").startswith("[FAIL] database: cannot connect:")
    assert _line(lines, "broker") == "[ok  ] broker: Redis answers"


def test_an_unreachable_redis_fails_the_broker_and_nothing_else(monkeypatch, seeded) -> None:
    redis = f"redis://127.0.0.1:{_free_port()}/0"
    monkeypatch.setenv("REDIS_URL", redis)
    code, lines = _doctor(seeded)
    assert code == 1
    assert _line(lines, "broker").startswith(f"[FAIL] broker: Redis at {redis} does not answer:")
    assert _line(lines, "migrations").startswith("[ok  ] migrations")
    assert lines[-1] == "1 check(s) failed"


def test_a_redis_that_accepts_and_never_answers_is_reported_not_waited_for(monkeypatch, seeded, redis_url) -> None:
    redis_at = make_url(redis_url.replace("redis://", "postgresql://"))  # host and port only
    with TcpProxy((redis_at.host, redis_at.port or 6379)) as proxy:
        proxy.freeze()
        monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{proxy.port}/0")
        outcome: list = []
        doctor = threading.Thread(target=lambda: outcome.append(_doctor(seeded)), daemon=True)
        doctor.start()
        doctor.join(timeout=60)
    assert outcome, "doctor hung on a Redis that never answers"
    code, lines = outcome[0]
    assert code == 1
    assert _line(lines, "broker").startswith("[FAIL] broker: Redis at")
    assert "Timeout" in _line(lines, "broker") or "timed out" in _line(lines, "broker")


def test_a_migrated_and_seeded_database_passes(seeded) -> None:
    code, lines = _doctor(seeded)
    assert code == 0, lines
    assert "[ok  ] row-level security: enabled on every table that holds a user's data" in lines
    assert any(line.startswith("[ok  ] reference data:") for line in lines)


def test_a_database_that_accepts_and_never_answers_is_reported_not_waited_for(tmp_path) -> None:
    target = make_url(TEST_DATABASE_URL)
    with TcpProxy((target.host or "127.0.0.1", target.port or 5432)) as proxy:
        proxy.freeze()
        frozen = target.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "CELERY_BROKER_URL"}}
        doctor = subprocess.run(
            [sys.executable, "-m", "workers.cli", "doctor"],
            env=env | {"DATABASE_URL": frozen},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert doctor.returncode == 1
    assert "[FAIL] database: cannot connect:" in doctor.stdout, doctor.stdout + doctor.stderr
    assert "[FAIL] broker: tasks travel through the database, which does not answer" in doctor.stdout
