"""The database broker: kombu's SQLAlchemy transport (same tables), fixed where it hurt.

kombu's stock transport moved about one task a second per worker and never deleted a message: it slept
a whole polling interval whenever the worker's prefetch slots were full, marked taken rows invisible
instead of removing them, locked the oldest row with FOR UPDATE (so consumers queued behind each other),
and kept one ORM session per channel that, after a dropped connection, failed every call until rolled
back. During a database outage its `establish_connection` never touched the database, so Celery
printed "Connected" and crashed again in a loop.

Here a message is taken and deleted in one autocommitted statement (`DELETE … RETURNING`, the row
picked through an index on (queue_id, id) with `FOR UPDATE SKIP LOCKED`), on a pooled connection.
Taking is at-most-once: a worker that dies holding a message loses it, and the job row
(`ingestion_jobs`), not the message, is the truth: the sweeper re-sends a job whose message was lost.
A worker polls all its queues in one statement, the first queue asked turning on every take.
A warm shutdown or a reject puts unfinished messages back as new rows, as kombu does for every virtual
transport. The idle wait backs off from a few milliseconds to `polling_interval`. Database errors are
connection errors, so Celery reconnects with its backoff, and connecting runs `SELECT 1` first.

Broker URL: `vitalis-db+postgresql+psycopg://…` (registered with kombu when this module is imported;
`workers.app` maps `sqla+` URLs here). Transport options: `polling_interval` (longest idle wait, seconds,
default 1), `connect_timeout` (seconds, default 5).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from json import dumps, loads
from queue import Empty
from time import monotonic, sleep

import psycopg
from kombu.transport import TRANSPORT_ALIASES
from kombu.transport import sqlalchemy as kombu_sqla
from kombu.transport.sqlalchemy.models import metadata
from sqlalchemy import Connection, Engine, create_engine, delete, func, insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError

from db.settings import sqlalchemy_url

SCHEME = "vitalis-db"
STOCK_SCHEMES = ("sqla+", "sqlalchemy+")
MIN_IDLE_WAIT = 0.005
# Serialises creating kombu's tables when several processes meet a fresh database at once.
_TABLES_LOCK = 7236150003

# `sqla+` URLs name kombu's stock transport, which reads the same tables; serve them with this one too.
# The alias, not a rewritten URL: Celery reads CELERY_BROKER_URL from the environment over any setting.
for _scheme in (SCHEME, *(prefix.rstrip("+") for prefix in STOCK_SCHEMES)):
    TRANSPORT_ALIASES[_scheme] = f"{__name__}:Transport"


def broker_url(database_url: str) -> str:
    return f"{SCHEME}+{database_url}"


def use_this_transport(url: str) -> str:
    """A `sqla+` URL (kombu's stock transport) names the same tables: serve it with this transport."""
    for prefix in STOCK_SCHEMES:
        if url.startswith(prefix):
            return broker_url(url[len(prefix) :])
    return url


class DatabaseUnavailable(ConnectionError):
    """The database carrying the broker cannot be reached (the message is the driver's first line)."""


def _first_line(exc: BaseException) -> str:
    inner = getattr(exc, "orig", None) or exc
    return (str(inner).strip().splitlines() or [type(inner).__name__])[0]


@contextmanager
def _connection(engine: Engine) -> Iterator[Connection]:
    """A pooled connection; the database's failures leave as DatabaseUnavailable, and empty the pool, whose
    other connections died with the one that failed (so no ping is needed before each use)."""
    try:
        with engine.connect() as conn:
            yield conn
    except (OperationalError, InterfaceError, DisconnectionError, psycopg.OperationalError) as exc:
        engine.dispose()
        raise DatabaseUnavailable(f"database unavailable: {_first_line(exc)}") from None
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        engine.dispose()
        raise DatabaseUnavailable(f"database connection lost: {_first_line(exc)}") from None


_engines: dict[tuple[int, str], Engine] = {}
_engines_lock = threading.Lock()
_tables_ready: set[Engine] = set()


def _engine(url: str, connect_timeout: float) -> Engine:
    # One pool per process and URL: kombu makes many Connection objects (producer pools), and a pool
    # inherited across a fork would share sockets between processes.
    key = (os.getpid(), url)
    engine = _engines.get(key)
    if engine is None:
        with _engines_lock:
            engine = _engines.get(key)
            if engine is None:
                # Autocommit: every statement here is complete on its own (taking a message is one DELETE),
                # so each costs one round trip, not BEGIN, statement and COMMIT.
                engine = create_engine(
                    url,
                    isolation_level="AUTOCOMMIT",
                    pool_size=2,
                    max_overflow=4,
                    connect_args={"connect_timeout": max(1, round(connect_timeout))},
                )
                _engines[key] = engine
    return engine


class Channel(kombu_sqla.Channel):
    def __init__(self, connection, **kwargs) -> None:
        super().__init__(connection, **kwargs)
        self._queue_ids: dict[str, int] = {}
        self._turn = 0

    @property
    def _messages(self):
        return self.message_cls.__table__

    @property
    def _queues(self):
        return self.queue_cls.__table__

    def _open(self) -> Engine:
        engine = self.connection.engine()
        if engine not in _tables_ready:
            with _connection(engine) as conn:
                conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _TABLES_LOCK})
                try:
                    self._make_tables(conn)
                finally:
                    conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _TABLES_LOCK})
            _tables_ready.add(engine)
        return engine

    def _make_tables(self, conn: Connection) -> None:
        metadata.create_all(conn, tables=[self._queues, self._messages])
        # Each poll asks one queue for its oldest message; without this index that is a scan of every
        # waiting message of every queue.
        name = self._messages.name
        conn.execute(text(f"CREATE INDEX IF NOT EXISTS ix_{name}_queue_id_id ON {name} (queue_id, id)"))
        # Rows the stock transport marked taken and never removed: nothing will ever read them.
        conn.execute(delete(self._messages).where(self._messages.c.visible.is_(False)))

    @property
    def session(self):  # the stock channel's long-lived session is what broke after an outage
        raise NotImplementedError("this transport works on pooled connections, not a session")

    def _queue_id(self, queue: str) -> int:
        queue_id = self._queue_ids.get(queue)
        if queue_id is None:
            with _connection(self._open()) as conn:
                conn.execute(pg_insert(self._queues).values(name=queue).on_conflict_do_nothing(index_elements=["name"]))
                queue_id = conn.execute(select(self._queues.c.id).where(self._queues.c.name == queue)).scalar_one()
            self._queue_ids[queue] = queue_id
        return queue_id

    def _new_queue(self, queue, **kwargs) -> None:
        self._queue_id(queue)

    def _put(self, queue, payload, **kwargs) -> None:
        queue_id = self._queue_id(queue)
        with _connection(self._open()) as conn:
            conn.execute(
                insert(self._messages).values(queue_id=queue_id, payload=dumps(payload), visible=True, version=1)
            )

    def _get(self, queue):
        m = self._messages
        oldest = (
            select(m.c.id)
            .where(m.c.queue_id == self._queue_id(queue), m.c.visible.is_(True))
            .order_by(m.c.id)
            .limit(1)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        with _connection(self._open()) as conn:
            payload = conn.execute(delete(m).where(m.c.id == oldest).returning(m.c.payload)).scalar()
        if payload is None:
            raise Empty()
        return loads(payload)

    def _get_many(self, queues, timeout=None) -> None:
        """A worker's poll: the oldest message of the first non-empty queue, in one statement for all its
        queues (not one per queue); the first queue asked turns on every take, so each gets its turn."""
        if not queues:
            raise Empty()
        by_id = {self._queue_id(queue): queue for queue in queues}
        ids = list(by_id)
        turn = self._turn % len(ids)
        self._turn += 1
        with _connection(self._open()) as conn:
            row = conn.execute(self._take_first_sql, {"queues": ids[turn:] + ids[:turn]}).first()
        if row is None:
            raise Empty()
        self.connection._deliver(loads(row.payload), by_id[row.queue_id])

    @cached_property
    def _take_first_sql(self):
        name = self._messages.name
        return text(
            f"DELETE FROM {name} WHERE id = ("
            "  SELECT m.id FROM unnest(CAST(:queues AS integer[])) WITH ORDINALITY AS q(queue_id, turn)"
            "  CROSS JOIN LATERAL ("
            f"   SELECT id FROM {name} WHERE queue_id = q.queue_id AND visible"
            "    ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED"
            "  ) AS m ORDER BY q.turn LIMIT 1"
            ") RETURNING queue_id, payload"
        )

    def _size(self, queue) -> int:
        m = self._messages
        query = select(func.count()).where(m.c.queue_id == self._queue_id(queue), m.c.visible.is_(True))
        with _connection(self._open()) as conn:
            return conn.execute(query).scalar_one()

    def _purge(self, queue) -> int:
        m = self._messages
        with _connection(self._open()) as conn:
            return conn.execute(delete(m).where(m.c.queue_id == self._queue_id(queue))).rowcount


class Transport(kombu_sqla.Transport):
    Channel = Channel
    connection_errors = (
        DatabaseUnavailable,
        OperationalError,
        InterfaceError,
        DisconnectionError,
        psycopg.OperationalError,
    )

    def __init__(self, client, **kwargs) -> None:
        super().__init__(client, **kwargs)
        options = client.transport_options
        self.polling_interval = float(options.get("polling_interval", 1.0))
        self.connect_timeout = float(options.get("connect_timeout", 5.0))
        self._idle_wait = MIN_IDLE_WAIT

    def engine(self) -> Engine:
        # `postgresql://` as people write it would make SQLAlchemy look for psycopg2; ours is psycopg 3.
        return _engine(sqlalchemy_url(self.client.hostname), self.connect_timeout)

    def establish_connection(self):
        # Check the database answers before Celery says "Connected"; failing here is a connection error,
        # which Celery retries with its backoff.
        with _connection(self.engine()) as conn:
            conn.execute(text("SELECT 1"))
        return super().establish_connection()

    def drain_events(self, connection, timeout=None):
        started = monotonic()
        while True:
            try:
                self.cycle.get(self._deliver, timeout=timeout)
            except Empty:
                if timeout is not None and monotonic() - started >= timeout:
                    raise TimeoutError() from None
                # A short wait while work is flowing (prefetch slots free up within milliseconds), growing
                # to polling_interval while idle, so an idle worker costs a few queries a second.
                sleep(self._idle_wait)
                self._idle_wait = min(self._idle_wait * 2, self.polling_interval)
            else:
                self._idle_wait = MIN_IDLE_WAIT
                return
