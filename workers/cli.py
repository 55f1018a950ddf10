"""The `vitalis` command."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

log = logging.getLogger("vitalis")


def _db(args: argparse.Namespace) -> int:
    from db import migrate

    if args.db_command == "upgrade":
        migrate.upgrade(revision=args.revision)
        print(f"database at revision {args.revision}")
    elif args.db_command == "downgrade":
        migrate.downgrade(revision=args.revision)
        print(f"database at revision {args.revision}")
    elif args.db_command == "current":
        from db.engine import get_engine

        print(migrate.current_revision(get_engine()) or "(empty: run `vitalis db upgrade`)")
    elif args.db_command == "seed":
        from db.engine import admin_scope
        from db.reference import seed_reference_data

        with admin_scope() as session:
            stats = seed_reference_data(session)
        print(", ".join(f"{k}: {v}" for k, v in stats.items()))
    return 0


def _prepare_database() -> None:
    """Embedded: set the database up as `vitalis run` does. Server: deploying migrates (compose has a
    migrate step); a database behind this version stops the command with the fix, in plain words."""
    from sqlalchemy.exc import OperationalError

    from db import migrate
    from db.engine import get_engine
    from db.settings import load_settings

    if load_settings().embedded:
        migrate.prepare()
        return
    try:
        lag = migrate.schema_lag(get_engine())
    except OperationalError as exc:
        # Not fatal: the broker connection (or the first task) retries until the database is back.
        log.warning("cannot check the database schema, the database does not answer: %s", _first_line(exc))
        return
    if lag:
        raise RuntimeError(f"{lag} before starting workers or beat")


def _first_line(exc: BaseException) -> str:
    inner = getattr(exc, "orig", None) or exc
    return (str(inner).strip().splitlines() or [type(inner).__name__])[0]


def _worker(args: argparse.Namespace) -> int:
    _prepare_database()
    from workers.app import app

    argv = ["worker", "--loglevel", args.loglevel, "--queues", args.queues, "--pool", args.pool]
    if args.concurrency:
        argv += ["--concurrency", str(args.concurrency)]
    app.worker_main(argv)
    return 0


def _beat(args: argparse.Namespace) -> int:
    _prepare_database()
    from db.settings import load_settings
    from workers.app import app

    home = load_settings().home
    home.mkdir(parents=True, exist_ok=True)
    app.start(["beat", "--loglevel", args.loglevel, "--schedule", str(home / "celerybeat-schedule")])
    return 0


def _jobs(args: argparse.Namespace) -> int:
    from db import jobs
    from db.engine import worker_scope
    from workers.commands.users import user_id_for

    with worker_scope() as session:
        user_id = user_id_for(session, args.user) if args.user else None
        rows = jobs.recent(session, limit=args.limit, user_id=user_id)
        if not rows:
            print("no jobs yet")
            return 0
        print(f"{'queued (UTC)':19}  {'type':20} {'status':10} {'tries':>5}  job id / note")
        for job in rows:
            note = job.error_message or _summary(job.result)
            print(
                f"{job.queued_at:%Y-%m-%d %H:%M:%S}  {job.job_type.value:20} {job.status.value:10}"
                f" {job.attempts:>2}/{job.max_attempts:<2}  {job.job_id}"
            )
            if note:
                print(f"{'':20} └ {note[:200]}")
    return 0


def _summary(result: dict | None) -> str:
    if not result:
        return ""
    scalars = ", ".join(f"{k}={v}" for k, v in result.items() if isinstance(v, int | float | str))
    progress = result.get("progress")
    if not isinstance(progress, dict):  # a finished job's result, or one without progress
        return scalars
    if {"done", "total"} <= progress.keys():  # a lab report's {"stage", "done", "total"}
        return f"{progress.get('stage', 'progress')}: {progress['done']} of {progress['total']}"
    # An import's {"fraction", counts…} (workers.job_progress): how far, then its counts.
    fraction = progress.get("fraction")
    done = f"{fraction:.0%} done: " if isinstance(fraction, int | float) else "running: "
    counts = ", ".join(f"{k}={v}" for k, v in progress.items() if k != "fraction" and isinstance(v, int | float))
    return done + counts + (f"; {scalars}" if scalars else "")


def _keys(args: argparse.Namespace) -> int:
    from db.crypto import new_key

    print(new_key())
    return 0


def _doctor(args: argparse.Namespace) -> int:
    from workers.doctor import run_checks

    return run_checks()


def _run(args: argparse.Namespace) -> int:
    from workers.mainjob import main_job

    return main_job(timeout=args.timeout)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vitalis", description="Personal health data ingestion and insights.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="set up the database and run the pipeline end to end once")
    run.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the job")
    run.set_defaults(func=_run)

    db = sub.add_parser("db", help="database schema and reference data")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    up = db_sub.add_parser("upgrade", help="migrate to the newest schema (or REVISION)")
    up.add_argument("revision", nargs="?", default="head")
    down = db_sub.add_parser("downgrade", help="migrate back to REVISION ('base' empties the database)")
    down.add_argument("revision")
    db_sub.add_parser("current", help="show the schema revision")
    db_sub.add_parser("seed", help="load reference data (biomarker dictionary); safe to repeat")
    db.set_defaults(func=_db)

    worker = sub.add_parser("worker", help="run a Celery worker")
    worker.add_argument("-Q", "--queues", default="default,sync,documents,insights")
    worker.add_argument("-c", "--concurrency", type=int)
    worker.add_argument("--pool", default="prefork", choices=["prefork", "solo", "threads"])
    worker.add_argument("-l", "--loglevel", default="INFO")
    worker.set_defaults(func=_worker)

    beat = sub.add_parser("beat", help="run the scheduler (nightly jobs)")
    beat.add_argument("-l", "--loglevel", default="INFO")
    beat.set_defaults(func=_beat)

    jobs = sub.add_parser("jobs", help="recent jobs and what happened to them")
    jobs.add_argument("-n", "--limit", type=int, default=20)
    jobs.add_argument("-u", "--user", metavar="EMAIL", help="only this user's jobs")
    jobs.set_defaults(func=_jobs)

    keys = sub.add_parser("keys", help="print a new token-encryption key for VITALIS_TOKEN_KEYS")
    keys.set_defaults(func=_keys)

    doctor = sub.add_parser("doctor", help="check database, broker, migrations and configuration")
    doctor.set_defaults(func=_doctor)

    from workers.commands import register_all

    register_all(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the command line speaks in sentences, not tracebacks
        if args.verbose:
            raise
        print(f"vitalis: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
