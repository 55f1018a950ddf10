"""`vitalis doctor`: check what the pipeline needs and say what is wrong in plain words."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kombu.utils.url import maybe_sanitize_url
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from db.settings import Settings, load_settings

MIN_SERVER_VERSION = 150000  # NULLS NOT DISTINCT and the partitioning features the schema uses
SCHEMA_PARTS = ("migrations", "row-level security", "partitions", "reference data")
DATABASE_TIMEOUT = 5  # seconds (libpq takes whole seconds)
BROKER_TIMEOUT = 2.0  # seconds: a broker that does not answer by then is reported, not waited for


@dataclass
class Check:
    name: str
    status: str  # ok, warn, fail, skip (not checked because something it needs failed)
    detail: str


def run_checks(echo: Callable[[str], None] = print, engine: Engine | None = None) -> int:
    """Print one line per check; return 1 if any check failed, else 0. Each part is checked on its own:
    a dead broker does not hide a healthy database, nor the other way round."""
    settings = load_settings()
    results: list[Check] = [_configuration(settings)]
    own_engine: Engine | None = None
    try:
        if engine is None:
            from db.engine import database_url

            # Its own engine, with a bound on connecting: a server that accepts and never answers is
            # reported, not waited for.
            engine = create_engine(database_url(), connect_args={"connect_timeout": DATABASE_TIMEOUT})
            own_engine = engine
        with engine.connect() as conn:
            version = conn.execute(text("SHOW server_version_num")).scalar_one()
    except Exception as exc:
        results.append(Check("database", "fail", f"cannot connect: {_first_line(exc)}"))
        results += [Check(name, "skip", "not checked: the database does not answer") for name in SCHEMA_PARTS]
        engine = None
    else:
        results.append(_server_version(int(version)))
        results += _schema_checks(engine)
    results.append(_broker(settings, engine))
    if own_engine is not None:
        own_engine.dispose()

    marks = {"ok": "ok  ", "warn": "warn", "fail": "FAIL", "skip": "skip"}
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
    broker = _broker_name(settings)
    keys = ""
    if not settings.token_keys and not settings.embedded:
        keys = "; VITALIS_TOKEN_KEYS is not set, so no provider can be connected (`vitalis keys` prints a new key)"
    return Check("configuration", "warn" if keys else "ok", f"{where}; broker: {broker}{keys}")


def _server_version(version: int) -> Check:
    human = f"{version // 10000}.{version % 10000}"
    if version < MIN_SERVER_VERSION:
        return Check("database", "fail", f"PostgreSQL {human} is too old; 15 or newer is required")
    return Check("database", "ok", f"connected, PostgreSQL {human}")


def _schema_checks(engine: Engine) -> list[Check]:
    from db import migrate

    lag = migrate.schema_lag(engine)
    if lag:
        skipped = [Check(name, "skip", "not checked: the schema is not the newest") for name in SCHEMA_PARTS[1:]]
        return [Check("migrations", "fail", lag), *skipped]
    checks = [Check("migrations", "ok", f"at the newest revision ({migrate.head_revision()})")]
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


def _broker_name(settings: Settings) -> str:
    if settings.broker_url is None:
        return "the database (no REDIS_URL set)"
    if settings.broker_url == settings.redis_url:
        return "Redis (REDIS_URL)"
    return f"{maybe_sanitize_url(settings.broker_url)} (CELERY_BROKER_URL)"


def _broker(settings: Settings, engine: Engine | None) -> Check:
    """`engine` is the database's engine, or None when it does not answer."""
    url = settings.broker_url
    if url is None:
        if engine is None:
            return Check("broker", "fail", "tasks travel through the database, which does not answer")
        return Check("broker", "ok", f"tasks travel through the database; {_waiting(engine)} waiting")
    if url.startswith(("redis://", "rediss://", "unix://")):
        import redis

        try:
            redis.Redis.from_url(url, socket_connect_timeout=BROKER_TIMEOUT, socket_timeout=BROKER_TIMEOUT).ping()
        except Exception as exc:
            return Check("broker", "fail", f"Redis at {maybe_sanitize_url(url)} does not answer: {_first_line(exc)}")
        return Check("broker", "ok", "Redis answers")
    from kombu import Connection

    from workers import dbtransport

    try:
        url = dbtransport.use_this_transport(url)
        options = {"connect_timeout": BROKER_TIMEOUT}
        with Connection(url, connect_timeout=BROKER_TIMEOUT, transport_options=options) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=BROKER_TIMEOUT * 2)
    except Exception as exc:
        return Check("broker", "fail", f"{maybe_sanitize_url(url)} does not answer: {_first_line(exc)}")
    return Check("broker", "ok", f"{maybe_sanitize_url(url)} answers")


def _waiting(engine: Engine) -> int:
    with engine.connect() as conn:
        if conn.execute(text("SELECT to_regclass('kombu_message')")).scalar() is None:
            return 0  # no worker has opened the broker yet
        return conn.execute(text("SELECT count(*) FROM kombu_message WHERE visible")).scalar_one()
