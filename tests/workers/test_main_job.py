"""The README's first command on the embedded default: no DATABASE_URL, no REDIS_URL, a fresh home."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.embedded


def _vitalis(home, *args, timeout=240):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env["VITALIS_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "workers.cli", *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def test_vitalis_run_takes_a_job_through_an_embedded_database_and_the_database_broker(tmp_path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    run = _vitalis(home, "run")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "using embedded PostgreSQL" in run.stdout
    assert "succeeded after 1 attempt(s)" in run.stdout
    assert "inserted=1" in run.stdout

    # A second run on the same home reuses the database: the same summary is now unchanged.
    again = _vitalis(home, "run")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "unchanged=1" in again.stdout

    jobs = _vitalis(home, "jobs", "--user", "demo@vitalis.local")
    assert jobs.returncode == 0, jobs.stderr
    assert jobs.stdout.count("succeeded") == 2
    nobody = _vitalis(home, "jobs", "--user", "nobody@example.org")
    assert nobody.returncode == 1
    assert nobody.stderr.strip() == (
        "vitalis: no user with email nobody@example.org: add one with `vitalis users add nobody@example.org`"
    )

    doctor = _vitalis(home, "doctor")
    assert "[ok  ] migrations" in doctor.stdout
    assert "[ok  ] broker: tasks travel through the database" in doctor.stdout
