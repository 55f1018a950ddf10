"""Settings read from the environment, in one place so `vitalis doctor` can explain them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str | None
    redis_url: str | None
    broker_url: str | None  # None: the database carries tasks
    home: Path
    token_keys: str | None

    @property
    def embedded(self) -> bool:
        return self.database_url is None


def load_settings() -> Settings:
    home = Path(os.environ.get("VITALIS_HOME") or Path.home() / ".vitalis").expanduser()
    return Settings(
        database_url=os.environ.get("DATABASE_URL") or None,
        redis_url=os.environ.get("REDIS_URL") or None,
        broker_url=os.environ.get("CELERY_BROKER_URL") or os.environ.get("REDIS_URL") or None,
        home=home,
        token_keys=os.environ.get("VITALIS_TOKEN_KEYS") or None,
    )


def sqlalchemy_url(url: str) -> str:
    """Accept the URL spellings people paste (postgres://, postgresql://) and pin the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
