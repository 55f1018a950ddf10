"""The database broker: messages are taken once and deleted, consumers never wait on each other, and a
database outage is a connection error that Celery rides out quietly."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from queue import Empty

import pytest
from celery.result import AsyncResult
from kombu import Connection, Exchange, Queue
from kombu.exceptions import OperationalError as KombuOperationalError
from sqlalchemy import make_url, text

from db import jobs
from db.engine import worker_scope
from db.models.enums import JobStatus, JobType
from tests.helpers import TEST_DATABASE_URL
from tests.tcpproxy import TcpProxy
from tests.workers.test_cli import ROOT_WORKER_WARNING
from workers import dbtransport
from workers.app import make_app
from workers.tasks import enqueue

BROKER = dbtransport.broker_url(TEST_DATABASE_URL)
TERMINAL = {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELED}


def _rows(engine, queue: str) -> int:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT count(*) FROM kombu_message m JOIN kombu_queue q ON q.id = m.queue_id WHERE q.name = :q"),
            {"q": queue},
        ).scalar_one()


def test_a_stock_sqla_url_is_served_by_this_transport(engine) -> None:
    assert dbtransport.use_this_transport(f"sqla+{TEST_DATABASE_URL}") == BROKER
    app = make_app(broker_url=f"sqla+{TEST_DATABASE_URL}", result_backend=f"db+{TEST_DATABASE_URL}")
    assert app.conf.broker_url == BROKER
    with app.connection_for_write() as conn:
        assert isinstance(conn.transport, dbtransport.Transport)


def test_a_taken_message_leaves_no_row_behind(engine) -> None:
    with Connection(BROKER) as conn, conn.SimpleQueue("test-take") as queue:
        queue.clear()
        for i in range(3):
            queue.put({"n": i})
        assert _rows(engine, "test-take") == 3
        got = [queue.get(timeout=5) for _ in range(3)]
        for message in got:
            message.ack()
        assert [m.payload["n"] for m in got] == [0, 1, 2]
        assert _rows(engine, "test-take") == 0
        with pytest.raises(Empty):
            queue.get(timeout=0.2)


def test_two_consumers_take_disjoint_messages_without_waiting_on_each_other(engine) -> None:
    total = 200
    with Connection(BROKER) as conn, conn.SimpleQueue("test-race") as queue:
        queue.clear()
        for i in range(total):
            queue.put({"n": i})
    taken: list[list[int]] = [[], []]

    def consume(into: list[int]) -> None:
        with Connection(BROKER) as conn, conn.SimpleQueue("test-race") as queue:
            while True:
                try:
                    message = queue.get(timeout=0.5)
                except Empty:
                    return
                into.append(message.payload["n"])
                message.ack()

    threads = [threading.Thread(target=consume, args=(into,)) for into in taken]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    everything = taken[0] + taken[1]
    assert sorted(everything) == list(range(total))  # each exactly once
    assert taken[0] and taken[1]  # both consumers worked
    assert _rows(engine, "test-race") == 0


def test_a_consumer_of_several_queues_gives_each_its_turn(engine) -> None:
    queues = [Queue(name, Exchange(name), name) for name in ("test-turn-a", "test-turn-b")]
    got: list[str] = []
    with Connection(BROKER) as conn:
        producer = conn.Producer()
        for queue in queues:
            queue(conn.default_channel).declare()
            queue(conn.default_channel).purge()
        for queue in queues:  # a backlog on the first queue, then the second
            for i in range(3):
                producer.publish({"q": queue.name, "n": i}, exchange=queue.exchange, routing_key=queue.name)

        def take(body, message) -> None:
            got.append(f"{body['q'][-1]}{body['n']}")
            message.ack()

        with conn.Consumer(queues, callbacks=[take], prefetch_count=1):
            while len(got) < 6:
                conn.drain_events(timeout=5)
    assert got == ["a0", "b0", "a1", "b1", "a2", "b2"]
    assert _rows(engine, "test-turn-a") + _rows(engine, "test-turn-b") == 0


def test_a_message_rejected_for_requeue_comes_back_once(engine) -> None:
    # Written as people paste it (no driver): served by psycopg 3 all the same.
    plain = dbtransport.broker_url(make_url(TEST_DATABASE_URL).set(drivername="postgresql").render_as_string(False))
    with Connection(plain) as conn, conn.SimpleQueue("test-requeue") as queue:
        queue.clear()
        queue.put({"n": 1})
        queue.get(timeout=5).requeue()
        assert _rows(engine, "test-requeue") == 1
        queue.get(timeout=5).ack()
        assert _rows(engine, "test-requeue") == 0


def test_rows_the_stock_transport_left_invisible_are_removed_when_a_process_opens_the_broker(engine) -> None:
    with Connection(BROKER) as conn, conn.SimpleQueue("test-legacy") as queue:
        queue.clear()
        queue.put({"n": 1})
    with engine.begin() as conn:
        conn.execute(text("UPDATE kombu_message SET visible = false"))
    opens_the_broker = (
        "import kombu, workers.dbtransport as t;"
        f" kombu.Connection(t.broker_url({TEST_DATABASE_URL!r})).SimpleQueue('x')"
    )
    subprocess.run([sys.executable, "-c", opens_the_broker], check=True, timeout=60)
    assert _rows(engine, "test-legacy") == 0


def test_connecting_to_an_unreachable_database_is_a_connection_error_not_a_false_connected() -> None:
    url = dbtransport.broker_url("postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    with Connection(url, transport_options={"connect_timeout": 1}) as conn:
        assert dbtransport.DatabaseUnavailable in conn.connection_errors
        started = time.monotonic()
        with pytest.raises(KombuOperationalError, match="database unavailable"):
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0)
        assert time.monotonic() - started < 10


def _wait_for(job_id, timeout: float) -> jobs.JobSnapshot:
    deadline = time.monotonic() + timeout
    while True:
        with worker_scope() as session:
            job = jobs.get(session, job_id)
        if job.status in TERMINAL or time.monotonic() > deadline:
            return job
        time.sleep(0.2)


def _wait_for_text(path, needle: str, timeout: float, worker: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while needle not in path.read_text():
        assert worker.poll() is None, path.read_text()
        assert time.monotonic() < deadline, f"no {needle!r} in the worker's log:\n{path.read_text()}"
        time.sleep(0.1)


def test_a_database_outage_is_ridden_out_with_a_few_log_lines_and_no_false_connected(
    engine, committed_users, tmp_path
) -> None:
    user, _ = committed_users
    target = make_url(TEST_DATABASE_URL)
    with TcpProxy((target.host or "127.0.0.1", target.port or 5432)) as proxy:
        through_proxy = target.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "CELERY_BROKER_URL"}}
        env |= {"DATABASE_URL": through_proxy, "PYTHONWARNINGS": ROOT_WORKER_WARNING}
        log = tmp_path / "worker.log"
        with log.open("wb") as out:
            worker = subprocess.Popen(
                [sys.executable, "-m", "workers.cli", "worker", "--pool", "solo", "-l", "INFO"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            _wait_for_text(log, "ready.", 60, worker)
            app = make_app(broker_url=BROKER, result_backend=f"db+{TEST_DATABASE_URL}")
            task = app.tasks["vitalis.ingest.manual_daily"]
            payload = {"date": "2026-10-01", "metrics": {"steps": 1}}
            first = enqueue(task, JobType.SMOKE, user_id=user, payload=payload)
            assert _wait_for(first, 30).status == JobStatus.SUCCEEDED
            # Celery stores the result after the job row says succeeded; the outage starts after that.
            AsyncResult(_wait_for(first, 30).task_id, app=app).get(timeout=30)

            before = log.read_text()
            proxy.cut()
            time.sleep(8)
            during = log.read_text()[len(before) :]
            proxy.restore()

            second = enqueue(task, JobType.SMOKE, user_id=user, payload={**payload, "date": "2026-10-02"})
            job = _wait_for(second, 60)
            after = log.read_text()[len(before) :]
            assert job.status == JobStatus.SUCCEEDED, after
        finally:
            worker.terminate()
            worker.wait(timeout=30)

    lines = [line for line in during.splitlines() if line.strip()]
    assert "Connected to" not in during, during
    assert "CRITICAL" not in after, after
    assert "Cannot connect to" in during, during  # it said so, once per attempt, with its backoff
    assert len(lines) <= 20, during
    assert after.count("Connected to") == 1, after
    assert "Traceback" not in after, after


def test_a_worker_started_while_the_database_is_down_waits_for_it_and_then_works(tmp_path) -> None:
    target = make_url(TEST_DATABASE_URL)
    with TcpProxy((target.host or "127.0.0.1", target.port or 5432)) as proxy:
        proxy.cut()
        through_proxy = target.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "CELERY_BROKER_URL"}}
        env |= {"DATABASE_URL": through_proxy, "PYTHONWARNINGS": ROOT_WORKER_WARNING}
        log = tmp_path / "worker.log"
        with log.open("wb") as out:
            worker = subprocess.Popen(
                [sys.executable, "-m", "workers.cli", "worker", "--pool", "solo", "-l", "INFO"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            _wait_for_text(log, "Cannot connect to", 60, worker)
            down = log.read_text()
            proxy.restore()
            _wait_for_text(log, "ready.", 60, worker)
        finally:
            worker.terminate()
            worker.wait(timeout=30)
    assert "cannot check the database schema, the database does not answer" in down
    assert "Connected to" not in down
    assert "Traceback" not in log.read_text()
