"""The Apple Health push endpoint end to end: a token made at the terminal, a Health Auto Export body
posted over real HTTP to the WSGI app on loopback, stored as the person's document and imported by a
real worker (database broker) into the rows an export.zip gives; refusals that store nothing.

The sample body is written by hand from the app's documented JSON format; every expected row is
computed by hand below it."""

from __future__ import annotations

import hashlib
import io
import json
import re
import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from celery.contrib.testing.worker import start_worker
from sqlalchemy import func, select, text

from db import jobs
from db.engine import admin_scope, user_scope, worker_scope
from db.models import Document, IngestionJob, Measurement, PushToken, WearableActivity, WearableDaily, WearableSleep
from db.models.enums import DataSource, JobStatus, JobType, ParseStatus
from db.push_tokens import create_token, revoke_token
from db.upsert import upsert
from workers.cli import main

SETTLE = 30

# --- the sample push (offset -08:00; all of it long past) --------------------------------------------
SAMPLE = {
    "data": {
        "metrics": [
            # Aggregated by day: each row is its day's total, dated at the day's midnight.
            {
                "name": "step_count",
                "units": "count",
                "data": [
                    {"qty": 8000, "date": "2026-01-01 00:00:00 -0800", "source": "iPhone|Apple Watch"},
                    {"qty": 6500.4, "date": "2026-01-02 00:00:00 -0800", "source": "iPhone|Apple Watch"},
                ],
            },
            {
                "name": "walking_running_distance",
                "units": "mi",
                "data": [{"qty": 3, "date": "2026-01-01 00:00:00 -0800"}],
            },
            {"name": "active_energy", "units": "kJ", "data": [{"qty": 1000, "date": "2026-01-01 00:00:00 -0800"}]},
            {
                "name": "heart_rate",
                "units": "bpm",
                "data": [
                    {"date": "2026-01-01 08:00:00 -0800", "Min": 55, "Avg": 70, "Max": 142},
                    {"date": "2026-01-01 18:00:00 -0800", "Min": 60, "Avg": 90, "Max": 171},
                ],
            },
            {
                "name": "heart_rate_variability",
                "units": "ms",
                "data": [
                    {"qty": 42.5, "date": "2026-01-01 02:00:00 -0800"},
                    {"qty": 57.5, "date": "2026-01-01 04:00:00 -0800"},
                ],
            },
            {"name": "resting_heart_rate", "units": "bpm", "data": [{"qty": 52, "date": "2026-01-02 06:00:00 -0800"}]},
            {
                "name": "blood_oxygen_saturation",
                "units": "%",
                "data": [
                    {"qty": 97, "date": "2026-01-02 03:00:00 -0800"},
                    {"qty": 93, "date": "2026-01-02 04:00:00 -0800"},
                ],
            },
            {"name": "weight_body_mass", "units": "lb", "data": [{"qty": 165, "date": "2026-01-02 07:30:00 -0800"}]},
            {
                "name": "blood_pressure",
                "units": "mmHg",
                "data": [{"date": "2026-01-02 07:35:00 -0800", "systolic": 118, "diastolic": 76}],
            },
            {
                "name": "sleep_analysis",
                "units": "hr",
                "data": [
                    {
                        "date": "2026-01-02",
                        "totalSleep": 7.25,
                        "asleep": 0,
                        "core": 4,
                        "deep": 1.25,
                        "rem": 2,
                        "awake": 0.5,
                        "inBed": 8,
                        "sleepStart": "2026-01-01 23:10:00 -0800",
                        "sleepEnd": "2026-01-02 06:55:00 -0800",
                        "inBedStart": "2026-01-01 23:00:00 -0800",
                        "inBedEnd": "2026-01-02 07:00:00 -0800",
                    }
                ],
            },
        ],
        "workouts": [
            {
                "id": "5B1E0D2C-3C4A-4F0E-9D1A-0C7A3F4B2E11",
                "name": "Running",
                "start": "2026-01-02 17:00:00 -0800",
                "end": "2026-01-02 17:45:00 -0800",
                "duration": 2700,
                "distance": {"qty": 5, "units": "km"},
                "activeEnergyBurned": {"qty": 410, "units": "kcal"},
                "heartRate": {"avg": {"qty": 152, "units": "bpm"}, "max": {"qty": 178, "units": "bpm"}},
            }
        ],
    }
}
# By hand: steps 8000 and round(6500.4) = 6500; 3 mi = 4828.032 m -> 4828; 1000 kJ / 4.184 = 239.0 kcal;
# max heart rate of Jan 1 = max(142, 171) = 171; HRV (SDNN) = (42.5 + 57.5) / 2 = 50.00, RMSSD untouched;
# resting 52; SpO2 mean (97 + 93) / 2 = 95.0, minimum 93.0; 165 lb * 0.45359237 = 74.843 kg;
# sleep 7.25 h = 435 min, core 4 h = 240, deep 1.25 h = 75, REM 2 h = 120, awake 0.5 h = 30,
# efficiency 7.25 / 8 = 90.6 %; the run: 5 km in 45 min = 6.67 km/h, 2700 s / 5 km = 540 s/km.
EXPECTED_DAYS = {
    date(2026, 1, 1): (8000, 4828, 239, 171, Decimal("50.00"), None, None, None, None),
    date(2026, 1, 2): (6500, None, None, None, None, None, 52, Decimal("95.0"), Decimal("93.0")),
}


def _body(document: dict) -> bytes:
    return json.dumps(document).encode()


# --- fixtures --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    path = tmp_path_factory.mktemp("vitalis-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VITALIS_HOME", str(path))
        patch.delenv("VITALIS_DOCUMENT_STORE", raising=False)
        patch.setenv("VITALIS_PUSH_MAX_BYTES", "65536")
        yield path


@pytest.fixture(scope="module")
def server(engine, home):
    """The WSGI app on the standard library's threaded server, on a free loopback port."""
    from workers.web import make

    httpd = make("127.0.0.1", 0)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def worker(engine, home):
    """A real worker of the app the endpoint enqueues on (the database broker: no REDIS_URL here)."""
    from workers.app import app

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20):
        yield app


def _post(server: str, body: bytes, token: str | None, **headers: str) -> httpx.Response:
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.post(
        f"{server}/apple-health/push", content=body, headers={"Content-Type": "application/json", **headers}, timeout=30
    )


def _settled(job_id: str) -> jobs.JobSnapshot:
    deadline = time.monotonic() + SETTLE
    while time.monotonic() < deadline:
        with worker_scope() as session:
            job = jobs.get(session, job_id)
        if job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish within {SETTLE}s")


def _counts(user: uuid.UUID) -> dict[str, int]:
    with user_scope(user) as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in (WearableDaily, WearableSleep, WearableActivity, Measurement, Document)
        }


# --- tokens ----------------------------------------------------------------------------------------


def test_a_token_is_printed_once_kept_only_as_its_hash_listed_and_revoked(committed_users, capsys) -> None:
    user, _ = committed_users
    with admin_scope() as session:
        email = session.scalar(text("SELECT email FROM users WHERE user_id = :u"), {"u": user})

    assert main(["users", "token", email, "--name", "my phone"]) == 0
    printed = capsys.readouterr().out
    token = re.search(r"vitalis_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", printed).group(0)
    prefix = token.split("_")[1]

    with admin_scope() as session:
        row = session.scalar(select(PushToken).where(PushToken.user_id == user))
        mine = {"u": user}
        stored = " ".join(
            str(v) for v in session.execute(text("SELECT * FROM push_tokens WHERE user_id = :u"), mine).one()
        )
        trail = " ".join(
            str(v)
            for (v,) in session.execute(
                text("SELECT new_values::text FROM audit_log WHERE table_name = 'push_tokens' AND user_id = :u"), mine
            )
        )
    assert (row.prefix, row.name, row.revoked_at) == (prefix, "my phone", None)
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    secret = token.rsplit("_", 1)[1]
    assert secret not in stored and token not in stored
    assert row.token_hash not in trail and secret not in trail and prefix in trail

    assert main(["users", "tokens", email]) == 0
    listing = capsys.readouterr().out
    assert prefix in listing and "my phone" in listing and secret not in listing

    assert main(["users", "token", email, "--revoke", prefix]) == 0
    assert "revoked push token" in capsys.readouterr().out
    assert main(["users", "token", email, "--revoke", prefix]) == 0
    assert "revoked already" in capsys.readouterr().out
    with admin_scope() as session:
        assert session.scalar(select(PushToken.revoked_at).where(PushToken.prefix == prefix)) is not None


# --- refusals --------------------------------------------------------------------------------------


def test_a_missing_wrong_or_revoked_token_is_refused_alike_and_nothing_is_stored(committed_users, server) -> None:
    user, _ = committed_users
    prefix, token = create_token(user)
    _, revoked = create_token(user)
    revoke_token(user, revoked.split("_")[1])
    secret_swapped = f"vitalis_{prefix}_{'A' * 43}"  # the right prefix with another secret
    before = _counts(user)

    answers = [
        _post(server, _body(SAMPLE), None),
        _post(server, _body(SAMPLE), "not-a-token"),
        _post(server, _body(SAMPLE), secret_swapped),
        _post(server, _body(SAMPLE), revoked),
        _post(server, _body(SAMPLE), None, Authorization=f"Basic {token}"),
    ]

    assert {(r.status_code, r.text) for r in answers} == {
        (401, json.dumps({"error": "a valid push token is required (Authorization: Bearer <token>)"}))
    }
    assert all(r.headers["WWW-Authenticate"].startswith("Bearer") for r in answers)
    assert _counts(user) == before
    with admin_scope() as session:  # a refused token was not counted as used
        assert session.scalar(select(PushToken.last_used_at).where(PushToken.prefix == prefix)) is None


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (b'{"data": {"metrics": [', 400, "the body is not JSON (Expecting value at character 22)"),
        (b"\xff\xfe not utf-8", 400, "the body is not UTF-8 text (byte 0)"),
        (b"[1, 2]", 400, 'the body is not a Health Auto Export push: expected {"data": {"metrics": [...], ...}}'),
        (
            b'{"data": {"metrics": [{"units": "count", "data": []}]}}',
            400,
            "the push does not have the expected shape (data.metrics.0.name: field required)",
        ),
        (
            b'{"data": {"workouts": [{"name": "Running", "start": "2026-01-02 17:00:00 -0800"}]}}',
            400,
            "the push does not have the expected shape (data.workouts.0.end: field required)",
        ),
        (
            b'{"data": {"metrics": []}, "pad": "' + b"x" * 70_000 + b'"}',
            413,
            "the body is larger than the 65,536 bytes a push may be",
        ),
    ],
)
def test_a_body_that_is_not_a_push_is_refused_with_its_reason_and_nothing_is_stored(
    committed_users, server, body, status, error
) -> None:
    user, _ = committed_users
    _, token = create_token(user)
    before = _counts(user)

    answer = _post(server, body, token)

    assert (answer.status_code, answer.json()) == (status, {"error": error})
    assert _counts(user) == before
    with worker_scope() as session:
        assert session.scalar(select(func.count()).select_from(IngestionJob).where(IngestionJob.user_id == user)) == 0


def test_get_is_not_a_push(server) -> None:
    assert httpx.get(f"{server}/apple-health/push", timeout=10).status_code == 405


# --- a push, imported ------------------------------------------------------------------------------


def test_a_push_becomes_the_hand_computed_rows_and_the_same_push_again_changes_nothing(
    committed_users, server, worker
) -> None:
    user, stranger = committed_users
    prefix, token = create_token(user)

    answer = _post(server, _body(SAMPLE), token)

    assert answer.status_code == 202, answer.text
    reply = answer.json()
    assert reply["status"] == "queued"
    job = _settled(reply["job_id"])
    assert job.status is JobStatus.SUCCEEDED, job.error_message
    assert job.payload == {"document_id": reply["document_id"], "push": True}
    assert job.result["whole_days"] == ["2026-01-01", "2026-01-02"] and job.result["partial_days"] == []
    assert job.result["written"] == {
        "measurements": {"inserted": 3, "updated": 0, "unchanged": 0},
        "wearable_activities": {"inserted": 1, "updated": 0, "unchanged": 0},
        "wearable_sleep": {"inserted": 1, "updated": 0, "unchanged": 0},
        "wearable_daily": {"inserted": 2, "updated": 0, "unchanged": 0},
    }

    with user_scope(user) as session:
        days = {
            r.date: (
                r.steps,
                r.distance_m,
                r.active_calories_kcal,
                r.max_hr_bpm,
                r.hrv_sdnn_ms,
                r.hrv_rmssd_ms,
                r.resting_hr_bpm,
                r.spo2_avg_pct,
                r.spo2_min_pct,
            )
            for r in session.scalars(select(WearableDaily))
        }
        assert {r.source for r in session.scalars(select(WearableDaily))} == {DataSource.APPLE_HEALTH}
        night = session.scalar(select(WearableSleep))
        run = session.scalar(select(WearableActivity))
        measured = {(m.metric.value, m.value, m.unit) for m in session.scalars(select(Measurement))}
        document = session.get(Document, uuid.UUID(reply["document_id"]))
    assert days == EXPECTED_DAYS
    assert (
        night.sleep_date,
        night.total_sleep_minutes,
        night.light_minutes,
        night.deep_minutes,
        night.rem_minutes,
        night.awake_minutes,
        night.sleep_efficiency_pct,
    ) == (date(2026, 1, 2), 435, 240, 75, 120, 30, Decimal("90.6"))
    assert night.sleep_start == datetime(2026, 1, 2, 7, 10, tzinfo=UTC)
    assert (
        run.activity_type.value,
        run.activity_date,
        run.duration_seconds,
        run.distance_m,
        run.calories_kcal,
        run.avg_hr_bpm,
        run.max_hr_bpm,
        run.avg_speed_kmh,
        run.avg_pace_sec_per_km,
    ) == ("running", date(2026, 1, 2), 2700, Decimal("5000.00"), 410, 152, 178, Decimal("6.67"), Decimal("540.00"))
    assert measured == {
        ("weight", Decimal("74.843"), "kg"),
        ("blood_pressure_systolic", Decimal("118.000"), "mmHg"),
        ("blood_pressure_diastolic", Decimal("76.000"), "mmHg"),
    }
    assert (document.document_type, document.mime_type, document.parse_status) == (
        "apple_health_push",
        "application/json",
        ParseStatus.PARSED,
    )
    assert document.parse_result["job_id"] == reply["job_id"]
    assert _counts(stranger)["wearable_daily"] == 0  # the token named its owner, and only its owner
    with admin_scope() as session:
        assert session.scalar(select(PushToken.last_used_at).where(PushToken.prefix == prefix)) is not None

    # The same body again: the same document, imported already, no second job.
    before = _counts(user)
    again = _post(server, _body(SAMPLE), token)
    assert (again.status_code, again.json()) == (
        200,
        {"document_id": reply["document_id"], "status": "imported already"},
    )
    assert _counts(user) == before
    # And imported once more anyway (a job re-sent), every row is left as it was.
    from workers.apple_tasks import enqueue_push

    rerun = _settled(str(enqueue_push(user, uuid.UUID(reply["document_id"]))))
    assert {table: stats["inserted"] + stats["updated"] for table, stats in rerun.result["written"].items()} == {
        table: 0 for table in job.result["written"]
    }
    assert _counts(user) == before


def test_another_persons_token_writes_to_that_person_only(committed_users, server, worker) -> None:
    owner, other = committed_users
    _, others_token = create_token(other)

    reply = _post(server, _body(SAMPLE), others_token).json()

    assert _settled(reply["job_id"]).status is JobStatus.SUCCEEDED
    assert _counts(owner) == {t: 0 for t in _counts(owner)}
    assert _counts(other)["wearable_daily"] == 2
    with worker_scope() as session:
        assert session.get(IngestionJob, uuid.UUID(reply["job_id"])).user_id == other


def test_a_partial_today_leaves_the_complete_day_alone_and_a_push_writes_only_what_it_carries(
    committed_users, server, worker
) -> None:
    """An export wrote yesterday and today whole; a push of heart rate since yesterday's midnight and of
    today's steps so far updates yesterday's heart rate only: steps it did not carry for yesterday stay,
    and today, not over when the push arrived, is not written at all."""
    user, _ = committed_users
    today = datetime.now(UTC).date()
    yesterday = today - timedelta(days=1)
    with user_scope(user, role="vitalis_worker") as session:
        upsert(
            session,
            WearableDaily,
            [
                {"user_id": user, "date": day, "source": DataSource.APPLE_HEALTH, "steps": steps, "max_hr_bpm": 150}
                for day, steps in ((yesterday, 9000), (today, 20000))
            ],
        )
    push = {
        "data": {
            "metrics": [
                {
                    "name": "heart_rate",
                    "units": "count/min",
                    "data": [
                        {"date": f"{yesterday} 00:00:00 +0000", "Min": 48, "Avg": 61, "Max": 163},
                        {"date": f"{today} 00:00:00 +0000", "Min": 50, "Avg": 60, "Max": 99},
                    ],
                },
                {"name": "step_count", "units": "count", "data": [{"qty": 1234, "date": f"{today} 00:00:00 +0000"}]},
            ]
        }
    }
    _, token = create_token(user)

    job = _settled(_post(server, _body(push), token).json()["job_id"])

    assert job.status is JobStatus.SUCCEEDED, job.error_message
    assert (job.result["whole_days"], job.result["partial_days"]) == ([yesterday.isoformat()], [today.isoformat()])
    with user_scope(user) as session:
        rows = {r.date: (r.steps, r.max_hr_bpm) for r in session.scalars(select(WearableDaily))}
    assert rows == {yesterday: (9000, 163), today: (20000, 150)}


# --- a document whose job failed for good ------------------------------------------------------------


def _import_whose_last_attempt_died(user: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    """An import job on its last attempt whose worker died: running, lease run out, document processing."""
    from db.apple_health_documents import store_export
    from tests.db.test_apple_health import export

    stored = store_export(user, io.BytesIO(export()), filename="export.zip")
    with user_scope(user, role="vitalis_worker") as session:
        session.get(Document, stored.document_id).parse_status = ParseStatus.PROCESSING
    with worker_scope() as session:
        job_id = jobs.create(
            session,
            job_type=JobType.APPLE_HEALTH_IMPORT,
            user_id=user,
            payload={"document_id": str(stored.document_id)},
            max_attempts=4,
            task_name="vitalis.documents.import_apple_health",
        )
        session.execute(
            text(
                "UPDATE ingestion_jobs SET status = 'running', attempts = 4, claim_token = gen_random_uuid(),"
                " lease_expires_at = now() - interval '5 seconds' WHERE job_id = :j"
            ),
            {"j": job_id},
        )
    return job_id, stored.document_id


def _assert_failed_with_the_jobs_reason(user: uuid.UUID, job_id: uuid.UUID, document_id: uuid.UUID) -> None:
    reason = "the worker stopped before finishing attempt 4 of 4, and no attempts are left"
    with worker_scope() as session:
        job = session.get(IngestionJob, job_id)
        assert (job.status, job.error_message) == (JobStatus.FAILED, reason)
    with user_scope(user) as session:
        document = session.get(Document, document_id)
        assert (document.parse_status, document.error_message) == (ParseStatus.FAILED, reason)
        assert document.parse_result == {"error": "job_failed", "job_id": str(job_id)}


def test_a_document_whose_job_the_sweeper_fails_for_good_fails_with_the_jobs_reason(committed_users, home) -> None:
    """The worker died during the last attempt and the sweeper is first to notice."""
    from workers import delivery
    from workers.app import make_app

    user, _ = committed_users
    job_id, document_id = _import_whose_last_attempt_died(user)

    counts = delivery.sweep(make_app())

    assert counts["failed"] >= 1
    _assert_failed_with_the_jobs_reason(user, job_id, document_id)


def test_a_document_whose_job_a_late_delivery_finds_exhausted_fails_with_the_jobs_reason(committed_users, home) -> None:
    """The worker died during the last attempt and its message is delivered again before any sweep."""
    from workers.app import make_app
    from workers.jobtask import JobFailed

    user, _ = committed_users
    job_id, document_id = _import_whose_last_attempt_died(user)
    task = make_app().tasks["vitalis.documents.import_apple_health"]

    with pytest.raises(JobFailed, match="WorkerLost"):
        task.apply(args=[str(job_id)], throw=True)

    _assert_failed_with_the_jobs_reason(user, job_id, document_id)
