"""The `vitalis` command from the outside: it runs from any directory, the commands the docs and doctor
name exist, and `worker`/`beat` find (embedded) or demand (server) a database at the newest schema."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from tests.helpers import recreate_database, scratch_database_url
from workers.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
# Every place that tells a person to type a `vitalis` command.
MENTIONS = ("README.md", "Dockerfile", "docker-compose.yml", "Makefile")
MENTIONS += ("workers/doctor.py", "workers/mainjob.py", "workers/cli.py", "db/migrate.py")
# Celery warns when a worker runs as root, the norm in containers and CI.
ROOT_WORKER_WARNING = "ignore:You're running the worker with superuser privileges"
PLACEHOLDERS = {
    "REV": "head",
    "REVISION": "head",
    "N": "2",
    "EMAIL": "someone@example.org",
    "queues": "default",
    "PROVIDER": "oura",
    "DATE": "2026-01-01",
    "NAME": "Ada",
    "SEX": "female",
    "TZ": "Europe/Berlin",
}


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "PYTHONPATH"}}
    env["PYTHONWARNINGS"] = ROOT_WORKER_WARNING
    return env | extra


def _mentioned_commands() -> list[tuple[str, str]]:
    found = []
    for name in MENTIONS:
        text = (ROOT / name).read_text()
        quoted = [m.group(1) for m in re.finditer(r"`(vitalis [^`]*)`", text)]
        # Commands in compose, Docker and make files: `vitalis …` up to a quote or the end of the line.
        commands = r'["\s](vitalis (?:db|worker|beat|run|jobs|keys|doctor)[^"\n]*)'
        quoted += [m.group(1) for m in re.finditer(commands, text)]
        # Exec-form commands in compose and Docker files: ["vitalis", "worker", ...].
        quoted += [" ".join(json.loads(m.group(0))) for m in re.finditer(r'\["vitalis"(?:,\s*"[^"]*")*\]', text)]
        for mention in quoted:
            for command in mention.split("&&"):
                found.append((name, " ".join(command.split()).rstrip('",]')))
    return found


def _as_argv(command: str) -> list[str]:
    words = shlex.split(command.replace("[", " ").replace("]", " ").replace("…", " "))[1:]
    return [PLACEHOLDERS.get(w, w) for w in words]


def test_every_vitalis_command_the_readme_compose_and_doctor_mention_exists() -> None:
    mentions = _mentioned_commands()
    assert len(mentions) > 15  # the scan finds the README's table, doctor's advice and compose's commands
    parser = build_parser()
    refused = []
    for where, command in mentions:
        try:
            parser.parse_args(_as_argv(command))
        except SystemExit:
            refused.append(f"{where}: `{command}`")
    assert not refused, "commands that `vitalis` refuses:\n" + "\n".join(refused)


def test_the_mention_check_catches_a_command_that_does_not_exist() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(_as_argv("vitalis keys new"))


def test_the_app_imports_from_any_directory(tmp_path) -> None:
    probe = "import celeryconfig, workers.app; print(celeryconfig.__name__, workers.app.app.main)"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["celeryconfig", "vitalis"]


def test_the_installed_package_carries_the_celery_settings(tmp_path) -> None:
    # What the image's `pip install .` installs: a wheel, not this checkout. Built from a copy, because
    # setuptools leaves build directories in the source tree.
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".*", "build", "*.egg-info", "__pycache__", "tests"))
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if build.returncode != 0 and "No matching distribution found for setuptools" in build.stderr:
        pytest.skip("no package index to fetch the build backend from")
    assert build.returncode == 0, build.stderr
    (wheel,) = tmp_path.glob("vitalis-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "celeryconfig.py" in names
    assert {"workers/app.py", "workers/dbtransport.py", "db/migrations/env.py"} <= set(names)


def test_importing_the_app_starts_no_database(tmp_path) -> None:
    home = tmp_path / "home"
    probe = (
        "import workers.app, workers.tasks; from db.engine import database_url, get_engine;"
        " assert database_url.cache_info().currsize == 0 and get_engine.cache_info().currsize == 0"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env=_env(VITALIS_HOME=str(home)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert not (home / "pgdata").exists()


def test_a_worker_on_a_server_database_behind_the_newest_schema_says_so_and_stops(tmp_path) -> None:
    from db import migrate

    url = scratch_database_url("behind")
    recreate_database(url)
    migrate.upgrade(url, "0001")
    result = subprocess.run(
        [sys.executable, "-m", "workers.cli", "worker", "--pool", "solo"],
        cwd=tmp_path,
        env=_env(DATABASE_URL=url),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    head = migrate.head_revision()
    assert (
        f"vitalis: the database schema is at 0001, this version needs {head}: run `vitalis db upgrade`"
        " before starting workers or beat"
    ) in result.stderr
    assert "celery@" not in result.stdout + result.stderr  # it stopped before Celery started


def _wait_for(path: Path, needle: str, process: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while needle not in path.read_text(errors="replace"):
        assert process.poll() is None, path.read_text()
        assert time.monotonic() < deadline, f"no {needle!r} in:\n{path.read_text()}"
        time.sleep(0.2)


@pytest.mark.embedded
def test_a_worker_and_beat_started_together_on_a_fresh_embedded_home_set_the_database_up(tmp_path) -> None:
    home = tmp_path / "home"
    env = _env(VITALIS_HOME=str(home))
    logs = {name: tmp_path / f"{name}.log" for name in ("worker", "beat")}
    processes = {}
    for name, log in logs.items():
        with log.open("wb") as out:
            processes[name] = subprocess.Popen(
                [sys.executable, "-m", "workers.cli", name, *(["--pool", "solo"] if name == "worker" else [])],
                cwd=tmp_path,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
    try:
        _wait_for(logs["worker"], "ready.", processes["worker"])
        _wait_for(logs["beat"], "beat: Starting", processes["beat"])
        doctor = subprocess.run(
            [sys.executable, "-m", "workers.cli", "doctor"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            process.wait(timeout=30)
    assert "[ok  ] migrations: at the newest revision" in doctor.stdout, doctor.stdout + doctor.stderr
    assert "[ok  ] reference data:" in doctor.stdout
    assert "[ok  ] broker: tasks travel through the database" in doctor.stdout
    for log in logs.values():
        assert "Traceback" not in log.read_text(), log.read_text()
