"""How long the embedded default takes to be ready: cold (new home) and warm (existing home).

Each measurement runs in a fresh process, as a person running `vitalis` would, and prints seconds for
starting the server, migrating and seeding reference data. Run by hand: `python benchmarks/bench_startup.py`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from statistics import median

PROBE = r"""
import json, time
t0 = time.perf_counter()
from db.engine import database_url
database_url()
t1 = time.perf_counter()
from db import migrate
migrate.upgrade()
t2 = time.perf_counter()
from db.engine import admin_scope
from db.reference import seed_reference_data
with admin_scope() as s:
    seed_reference_data(s)
t3 = time.perf_counter()
print(json.dumps({"server": t1 - t0, "migrate": t2 - t1, "seed": t3 - t2, "total": t3 - t0}))
"""


def measure(home: Path) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env["VITALIS_HOME"] = str(home)
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)  # noqa: S603
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(rounds: int = 3) -> None:
    cold, warm = [], []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp) / "home"
            home.mkdir()
            cold.append(measure(home))
            warm.append(measure(home))
    for label, runs in (("cold (new home: initdb, migrate, seed)", cold), ("warm (existing home)", warm)):
        parts = ", ".join(f"{k} {median(r[k] for r in runs):.2f}s" for k in ("server", "migrate", "seed", "total"))
        print(f"{label:40} median of {rounds}: {parts}")


if __name__ == "__main__":
    main()
