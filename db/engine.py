"""Engine and session handling: one engine per process, units of work scoped to a user or a role.

Only the scope helpers here commit. Domain code takes a Session, adds and flushes.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from db.settings import load_settings, sqlalchemy_url

API_ROLE = "vitalis_api"
WORKER_ROLE = "vitalis_worker"
ADMIN_ROLE = "vitalis_admin"
READONLY_ROLE = "vitalis_readonly"
ROLES = (API_ROLE, WORKER_ROLE, ADMIN_ROLE, READONLY_ROLE)
# Roles that honour row-level security, so a scope for one user really is confined to that user.
USER_SCOPE_ROLES = (API_ROLE, WORKER_ROLE, READONLY_ROLE)


@functools.cache
def database_url() -> str:
    """The database this process talks to: DATABASE_URL, or the embedded server (started on demand)."""
    settings = load_settings()
    if settings.database_url:
        return sqlalchemy_url(settings.database_url)
    from db import embedded

    return embedded.start(settings.home)


@functools.cache
def get_engine() -> Engine:
    return make_engine(database_url())


def make_engine(url: str) -> Engine:
    # pool_pre_ping: workers outlive database restarts; a dead pooled connection must not fail a job.
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


@functools.cache
def _sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def user_scope(
    user_id: uuid.UUID | str,
    *,
    role: str = API_ROLE,
    request_id: uuid.UUID | str | None = None,
    engine: Engine | None = None,
) -> Iterator[Session]:
    """One transaction that can see and change only `user_id`'s rows (row-level security).

    The default role writes what a person may write about themselves. Work the system does for the
    person (a sync's bookkeeping, a parse result) passes role=WORKER_ROLE: still only this user's rows,
    since the worker's cross-user policies hold only where no user is set (worker_scope).

    The role is switched with SET LOCAL, so it ends with the transaction and a pooled connection never
    carries one user's scope into the next unit of work.
    """
    if role not in USER_SCOPE_ROLES:
        raise ValueError(f"a user scope runs as one of {', '.join(USER_SCOPE_ROLES)}, not {role!r} (it bypasses RLS)")
    if not str(user_id).strip():
        raise ValueError("a user scope needs a user id")
    with _scope(engine, role=role, user_id=str(user_id), request_id=request_id) as session:
        yield session


@contextmanager
def worker_scope(*, request_id: uuid.UUID | str | None = None, engine: Engine | None = None) -> Iterator[Session]:
    """A cross-user transaction as the worker role: job bookkeeping and fan-out, no user's health data."""
    with _scope(engine, role=WORKER_ROLE, user_id=None, request_id=request_id) as session:
        yield session


@contextmanager
def analytics_scope(*, engine: Engine | None = None) -> Iterator[Session]:
    """A read-only transaction over every user's data: set-based reads for many users at once (the
    nightly run's batch loading). The read-only role, no current user, one snapshot for all its queries,
    and a transaction that refuses writes: what is read for a person is written back in their own scope."""
    with _scope(engine, role=READONLY_ROLE, user_id=None, request_id=None, read_only_snapshot=True) as session:
        yield session


@contextmanager
def admin_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A transaction as the connecting (owner) role: migrations' data steps, reference data, maintenance."""
    with _scope(engine, role=None, user_id=None, request_id=None) as session:
        yield session


@contextmanager
def _scope(
    engine: Engine | None,
    *,
    role: str | None,
    user_id: str | None,
    request_id: uuid.UUID | str | None,
    read_only_snapshot: bool = False,
) -> Iterator[Session]:
    session = _sessionmaker(engine or get_engine())()
    try:
        with session.begin():
            if read_only_snapshot:  # must come before the transaction's first query
                session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
            if role is not None and role not in ROLES:
                raise ValueError(f"unknown database role {role!r}; expected one of {', '.join(ROLES)}")
            # set_config('role', …, true) is SET LOCAL ROLE; one statement sets up the whole scope, which
            # matters to work that opens a scope per user (the nightly run).
            session.execute(
                text(
                    "SELECT set_config('app.current_user_id', :uid, true), set_config('app.request_id', :rid, true)"
                    + (", set_config('role', :role, true)" if role is not None else "")
                ),
                {"uid": user_id or "", "rid": str(request_id) if request_id else "", "role": role},
            )
            yield session
    finally:
        session.close()
