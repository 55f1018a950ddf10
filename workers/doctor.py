"""`vitalis doctor`: check what the pipeline needs and say what is wrong in plain words."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from db.settings import Settings, load_settings

MIN_SERVER_VERSION = 150000  # NULLS NOT DISTINCT and the partitioning features the schema uses


@dataclass
class Check:
    name: str
    status: str  # ok, warn, fail
    detail: str


def run_checks(echo: Callable[[str], None] = print, engine: Engine | None = None) -> int:
    """Print one line per check; return 1 if any check failed, else 0."""
    settings = load_settings()
    results: list[Check] = [_configuration(settings)]
    try:
        if engine is None:
            from db.engine import get_engine

            engine = get_engine()
        with engine.connect() as conn:
            version = conn.execute(text("SHOW server_version_num")).scalar_one()
            results.append(_server_version(int(version)))
    except Exception as exc:
        results.append(Check("database", "fail", f"cannot connect: {_first_line(exc)}"))
    else:
        results += _schema_checks(engine)
    results.append(_broker(settings))

    marks = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}
    for check in results:
        echo(f"[{marks[check.status]}] {check.name}: {check.detail}")
    failed = [c for c in results if c.status == "fail"]
    echo("all checks passed" if not failed else f"{len(failed)} check(s) failed")
    return 1 if failed else 0


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _configuration(settings: Settings) -> Check:
    if settings.embedded:
        where = f"embedded PostgreSQL under {settings.home} (set DATABASE_URL to use a server)"
    else:
        url = make_url(settings.database_url)  # type: ignore[arg-type]
        where = f"PostgreSQL at {url.render_as_string(hide_password=True)}"
    broker = "Redis (REDIS_URL)" if settings.redis_url else "the database (no REDIS_URL set)"
    keys = ""
    if not settings.token_keys and not settings.embedded:
        keys = "; VITALIS_TOKEN_KEYS is not set, so no provider can be connected (`vitalis keys new` makes one)"
    return Check("configuration", "warn" if keys else "ok", f"{where}; broker: {broker}{keys}")


def _server_version(version: int) -> Check:
    human = f"{version // 10000}.{version % 10000}"
    if version < MIN_SERVER_VERSION:
        return Check("database", "fail", f"PostgreSQL {human} is too old; 15 or newer is required")
    return Check("database", "ok", f"connected, PostgreSQL {human}")


def _schema_checks(engine: Engine) -> list[Check]:
    from db import migrate

    checks = []
    current, head = migrate.current_revision(engine), migrate.head_revision()
    if current is None:
        checks.append(Check("migrations", "fail", "the database is empty: run `vitalis db upgrade`"))
        return checks
    if current != head:
        checks.append(Check("migrations", "fail", f"at {current}, newest is {head}: run `vitalis db upgrade`"))
        return checks
    checks.append(Check("migrations", "ok", f"at the newest revision ({head})"))
    with engine.connect() as conn:
        unprotected = (
            conn.execute(
                text(
                    "SELECT c.relname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid"
                    " WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')"
                    " AND NOT c.relispartition AND a.attname = 'user_id' AND NOT c.relrowsecurity"
                )
            )
            .scalars()
            .all()
        )
        this_year = conn.execute(
            text("SELECT to_regclass('public.wearable_daily_' || extract(year FROM now())::int)")
        ).scalar()
        markers = conn.execute(text("SELECT count(*) FROM biomarker_dictionary")).scalar_one()
    if unprotected:
        checks.append(Check("row-level security", "fail", f"not enabled on: {', '.join(unprotected)}"))
    else:
        checks.append(Check("row-level security", "ok", "enabled on every table that holds a user's data"))
    if this_year is None:
        checks.append(Check("partitions", "warn", "none for this year yet; the nightly run creates them"))
    else:
        checks.append(Check("partitions", "ok", "this year's wearable partitions exist"))
    if markers == 0:
        checks.append(Check("reference data", "fail", "the biomarker dictionary is empty: run `vitalis db seed`"))
    else:
        checks.append(Check("reference data", "ok", f"{markers} biomarkers in the dictionary"))
    return checks


def _broker(settings: Settings) -> Check:
    if not settings.redis_url:
        return Check("broker", "ok", "tasks travel through the database; nothing else to run")
    import redis

    try:
        redis.Redis.from_url(settings.redis_url, socket_connect_timeout=3).ping()
    except Exception as exc:
        return Check("broker", "fail", f"Redis at REDIS_URL does not answer: {_first_line(exc)}")
    return Check("broker", "ok", "Redis answers")
