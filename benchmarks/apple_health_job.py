"""What the job around an Apple Health import costs: the importer alone against the whole job path.

Generates an export for N days (benchmarks/apple_health.py's generator), then, in one database, times
(a) `import_apple_health` on the file, as the importer's own benchmark does, and (b) what
`vitalis import apple-health` does: store the file as a document (hashed and copied into the store),
record a job, and run it with its lease, progress on the job row and the report on the document. Each
run is for a fresh person, so both insert everything. Prints wall and CPU seconds, MB/s and the job's
overhead.

Run by hand: `DATABASE_URL=postgresql://… python benchmarks/apple_health_job.py [days ...]` (default 365).
The database is migrated; documents go to a temporary VITALIS_HOME.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def _person() -> uuid.UUID:
    from db.engine import admin_scope
    from db.models import Account, User

    with admin_scope() as session:
        account = Account()
        session.add(account)
        session.flush()
        user = User(account_id=account.account_id, email=f"bench-job-{uuid.uuid4().hex}@example.test", display_name="B")
        session.add(user)
        session.flush()
        return user.user_id


def _drop(users: list[uuid.UUID]) -> None:
    from sqlalchemy import delete, select

    from db.engine import admin_scope
    from db.models import Account, User

    with admin_scope() as session:
        accounts = select(User.account_id).where(User.user_id.in_(users)).scalar_subquery()
        session.execute(delete(Account).where(Account.account_id.in_(accounts)))


def bench(days: int) -> None:
    from apple_health import generate

    from db.apple_health import import_apple_health
    from db.apple_health_documents import store_export
    from db.models.enums import DataSource, JobType
    from workers.app import app
    from workers.apple_tasks import TASK_NAME, import_job
    from workers.tasks import create_job

    with tempfile.TemporaryDirectory() as home:
        os.environ["VITALIS_HOME"] = home
        path = Path(home, "export.zip")
        records = generate(str(path), days)
        users = [_person(), _person()]
        try:
            started, cpu = time.perf_counter(), time.process_time()
            result = import_apple_health(path, users[0])
            alone, alone_cpu = time.perf_counter() - started, time.process_time() - cpu
            megabytes = result.report.bytes_read / 1e6

            started, cpu = time.perf_counter(), time.process_time()
            document = store_export(users[1], path)
            stored = time.perf_counter() - started
            task = app.tasks[TASK_NAME]
            job_id = create_job(
                JobType.APPLE_HEALTH_IMPORT,
                user_id=users[1],
                source=DataSource.APPLE_HEALTH,
                payload={"document_id": str(document.document_id)},
                task_name=TASK_NAME,
            )
            task.run_job(str(job_id), import_job)
            whole, whole_cpu = time.perf_counter() - started, time.process_time() - cpu
        finally:
            _drop(users)
    print(f"{days} days: {records:,} records, {megabytes:,.0f} MB of export.xml")
    print(f"  importer alone       {alone:6.1f} s wall {alone_cpu:6.1f} s CPU  {megabytes / alone:6.1f} MB/s")
    print(
        f"  as a job (CLI path)  {whole:6.1f} s wall {whole_cpu:6.1f} s CPU  {megabytes / whole:6.1f} MB/s"
        f"  (storing the file: {stored:.2f} s)"
    )
    # On a shared machine wall time measures the neighbours too; this process's CPU time is the steadier figure.
    wall_overhead, cpu_overhead = 100 * (whole - alone) / alone, 100 * (whole_cpu - alone_cpu) / alone_cpu
    print(f"  job overhead         {wall_overhead:+6.1f} % wall {cpu_overhead:+6.1f} % CPU")


def main(argv: list[str]) -> None:
    if not os.environ.get("DATABASE_URL"):
        sys.exit("set DATABASE_URL to a PostgreSQL database this may migrate")
    from db import migrate

    migrate.upgrade()
    for days in [int(a) for a in argv] or [365]:
        bench(days)


if __name__ == "__main__":
    main(sys.argv[1:])
