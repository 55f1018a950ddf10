"""Real worker processes for tests that kill, freeze or stop them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class WorkerProcess:
    """`celery -A workers.app worker` in a process group of its own, so a test can kill all of it.

    Subclasses name the queues it consumes and the task modules it imports besides the app's own.
    """

    queues = "default"
    imports: tuple[str, ...] = ()

    def __init__(self, env: dict[str, str], log: Path, *, pool: str = "solo", concurrency: int = 1) -> None:
        self.log = log
        # Celery warns about running as root, the norm in containers and CI.
        env = {"PYTHONWARNINGS": "ignore::celery.exceptions.SecurityWarning", **env}
        command = [sys.executable, "-m", "celery", "-A", "workers.app", "worker"]
        for module in self.imports:
            command += ["-I", module]
        command += ["--pool", pool, "-c", str(concurrency), "-Q", self.queues, "-l", "INFO"]
        command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace")
