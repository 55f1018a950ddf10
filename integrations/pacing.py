"""One token bucket per provider application, shared by every worker.

Provider quotas count an application's requests across all its users (Oura: 5000 per 5 minutes), so a
bucket per worker or per user would let 1,000 syncs trip a 429 storm together. The bucket lives in
Redis and is updated by one Lua script (atomic, clocked by the Redis server so workers on several
machines agree). Its size keeps any rolling window under the quota: capacity + rate × window ≤
headroom × quota.

A 429 the provider still sends (another app, a second limit layer) pauses the whole bucket until the
provider's reset, so every worker backs off, not only the one that was told.

Without Redis (the embedded default) the bucket is a row per app in PostgreSQL (`provider_pacing`),
read and written under its row lock in one short transaction per request, clocked by the database, so
every worker process on the machine shares it. That is a round trip per request, against a quota of a
few requests a second: cheap enough. An in-process bucket remains for callers that pass one.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Protocol

from integrations.provider import Quota

_ACQUIRE = """
local key, paused_key = KEYS[1], KEYS[2]
local rate, capacity, max_wait = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local paused = tonumber(redis.call('GET', paused_key) or '0')
if paused > now then return {0, tostring(paused - now)} end
local state = redis.call('HMGET', key, 'tokens', 'ts')
local tokens = tonumber(state[1]) or capacity
local ts = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate)
local wait = math.max(0, (1 - tokens) / rate)
if wait > max_wait then
  redis.call('HSET', key, 'tokens', tostring(tokens), 'ts', tostring(now))
  return {0, tostring(wait)}
end
redis.call('HSET', key, 'tokens', tostring(tokens - 1), 'ts', tostring(now))
redis.call('PEXPIRE', key, math.ceil(capacity / rate * 1000) + 60000)
return {1, tostring(wait)}
"""

_PAUSE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local until_ = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ > current then
  redis.call('SET', KEYS[1], tostring(until_), 'PX', math.ceil(tonumber(ARGV[1]) * 1000) + 1000)
end
return 1
"""


@dataclass(frozen=True, slots=True)
class BucketSize:
    rate: float  # tokens per second
    capacity: float

    @classmethod
    def for_quota(cls, quota: Quota, headroom: float = 0.9, burst: float = 0.1) -> BucketSize:
        """A bucket that cannot exceed `headroom` × quota in any window of the quota's length."""
        allowed = quota.requests * headroom
        capacity = max(1.0, allowed * burst)
        return cls(rate=(allowed - capacity) / quota.seconds, capacity=capacity)


class Bucket(Protocol):
    def acquire(self, app_key: str, size: BucketSize, max_wait: float) -> tuple[bool, float]:
        """Reserve one request's token if it is available within `max_wait` seconds.

        (True, wait): reserved; send the request after `wait` seconds (0 when a token was there).
        (False, wait): nothing reserved; a token is `wait` seconds away, retry the job then.
        Reserving ahead (the bucket goes negative) queues concurrent callers fairly instead of letting
        them poll.
        """
        ...

    def pause(self, app_key: str, seconds: float) -> None:
        """Grant nothing for `seconds` (the provider said so)."""
        ...


class RedisBucket:
    def __init__(self, client: object, prefix: str = "vitalis:pace:") -> None:
        self._client = client
        self._prefix = prefix
        self._acquire = client.register_script(_ACQUIRE)  # type: ignore[attr-defined]
        self._pause = client.register_script(_PAUSE)  # type: ignore[attr-defined]

    @classmethod
    def from_url(cls, url: str, **kwargs: object) -> RedisBucket:
        import redis

        return cls(redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5), **kwargs)  # type: ignore[arg-type]

    def acquire(self, app_key: str, size: BucketSize, max_wait: float) -> tuple[bool, float]:
        key = self._prefix + app_key
        granted, wait = self._acquire(keys=[key, key + ":paused"], args=[size.rate, size.capacity, max_wait])
        return bool(granted), float(wait)

    def pause(self, app_key: str, seconds: float) -> None:
        self._pause(keys=[self._prefix + app_key + ":paused"], args=[max(0.0, seconds)])


class LocalBucket:
    """The same bucket inside one process (its threads share it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state: dict[str, tuple[float, float]] = {}
        self._paused: dict[str, float] = {}

    def acquire(self, app_key: str, size: BucketSize, max_wait: float) -> tuple[bool, float]:
        now = time.monotonic()
        with self._lock:
            if self._paused.get(app_key, 0.0) > now:
                return False, self._paused[app_key] - now
            tokens, ts = self._state.get(app_key, (size.capacity, now))
            tokens = min(size.capacity, tokens + (now - ts) * size.rate)
            wait = max(0.0, (1 - tokens) / size.rate)
            granted = wait <= max_wait
            self._state[app_key] = (tokens - 1 if granted else tokens, now)
            return granted, wait

    def pause(self, app_key: str, seconds: float) -> None:
        with self._lock:
            self._paused[app_key] = max(self._paused.get(app_key, 0.0), time.monotonic() + seconds)


class DatabaseBucket:
    """The same bucket in a `provider_pacing` row, for deployments without Redis (worker role)."""

    def __init__(self, engine: object | None = None) -> None:
        self._engine = engine

    def _locked(self, session: object, app_key: str, capacity: float) -> tuple[float, float, float, float]:
        from sqlalchemy import text

        # Insert-if-missing, then lock: concurrent first callers cannot both start a full bucket.
        session.execute(  # type: ignore[attr-defined]
            text(
                "INSERT INTO provider_pacing (app_key, tokens) VALUES (:key, :capacity)"
                " ON CONFLICT (app_key) DO NOTHING"
            ),
            {"key": app_key, "capacity": capacity},
        )
        row = session.execute(  # type: ignore[attr-defined]
            text(
                "SELECT tokens, extract(epoch FROM updated_at), coalesce(extract(epoch FROM paused_until), 0),"
                " extract(epoch FROM clock_timestamp()) FROM provider_pacing WHERE app_key = :key FOR UPDATE"
            ),
            {"key": app_key},
        ).one()
        return float(row[0]), float(row[1]), float(row[2]), float(row[3])

    def acquire(self, app_key: str, size: BucketSize, max_wait: float) -> tuple[bool, float]:
        from sqlalchemy import text

        from db.engine import worker_scope

        with worker_scope(engine=self._engine) as session:  # type: ignore[arg-type]
            tokens, ts, paused, now = self._locked(session, app_key, size.capacity)
            if paused > now:
                return False, paused - now
            tokens = min(size.capacity, tokens + max(0.0, now - ts) * size.rate)
            wait = max(0.0, (1 - tokens) / size.rate)
            granted = wait <= max_wait
            session.execute(
                text(
                    "UPDATE provider_pacing SET tokens = :tokens, updated_at = to_timestamp(:now) WHERE app_key = :key"
                ),
                {"tokens": tokens - 1 if granted else tokens, "now": now, "key": app_key},
            )
            return granted, wait

    def pause(self, app_key: str, seconds: float) -> None:
        from sqlalchemy import text

        from db.engine import worker_scope

        with worker_scope(engine=self._engine) as session:  # type: ignore[arg-type]
            session.execute(
                text(
                    "INSERT INTO provider_pacing (app_key, tokens, paused_until)"
                    " VALUES (:key, 0, clock_timestamp() + make_interval(secs => :seconds))"
                    " ON CONFLICT (app_key) DO UPDATE SET paused_until = greatest("
                    " coalesce(provider_pacing.paused_until, excluded.paused_until), excluded.paused_until)"
                ),
                {"key": app_key, "seconds": max(0.0, seconds)},
            )


_SHARED: dict[str, RedisBucket] = {}
_DATABASE = DatabaseBucket()


def default_bucket() -> Bucket:
    """Redis when the deployment has it (REDIS_URL), else the database's bucket."""
    from db.settings import load_settings

    url = load_settings().redis_url
    if not url:
        return _DATABASE
    if url not in _SHARED:  # one connection pool per process, not one per sync
        _SHARED[url] = RedisBucket.from_url(url)
    return _SHARED[url]
