"""An HTTP client for one person's connection: authlib's OAuth2Client, paced, with a refresh that
cannot lose a race.

authlib refreshes an expired token itself when it knows the token endpoint, and hands the new token to
`update_token`. Providers rotate refresh tokens (the old one dies on use), so two workers refreshing one
connection at once would revoke it. Here the refresh runs under the connection's row lock: take the
lock, re-read the stored token, and only if it is still the one this client holds let authlib refresh;
the rotated token is written in that same transaction, which commits before the new access token is
used. A refresh the provider refuses counts as revocation only under the lock with the token unchanged,
that is, when nobody else just refreshed.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import OAuth2Client
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from db.engine import WORKER_ROLE, user_scope
from db.models import ConnectedDevice
from integrations import connections
from integrations.apps import ProviderApp
from integrations.errors import (
    AuthorizationRevoked,
    ConnectionUnusable,
    MalformedResponse,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
)
from integrations.http import HTTPStatusError, TransportError, redact_token_urls
from integrations.pacing import Bucket, BucketSize

log = logging.getLogger(__name__)
redact_token_urls()

# A page that takes the bucket longer than this to allow goes back to the queue (a retry), rather
# than holding a worker: short waits smooth a burst, long ones are the job layer's to schedule.
MAX_INLINE_WAIT = 1.0


def retry_after(app: ProviderApp, headers: Any, now: float | None = None) -> float | None:
    """Seconds the provider asks us to wait: Retry-After, else its reset header (epoch seconds)."""
    names = app.provider.rate_limit
    value = headers.get(names.retry_after) if names.retry_after else None
    if value is not None:
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
    reset = headers.get(names.reset) if names.reset else None
    if reset is not None:
        try:
            return max(0.0, float(reset) - (now or time.time()))
        except ValueError:
            pass
    return None


def _check_token_response(app: ProviderApp):  # type: ignore[no-untyped-def]
    """authlib reads a 429 page as a token; refuse it (and 5xx) before it does."""

    def hook(response):  # type: ignore[no-untyped-def]
        if response.status_code == 429:
            raise RateLimited(
                f"{app.provider.name}: the token endpoint is rate limited",
                retry_after=retry_after(app, response.headers),
            )
        if response.status_code >= 500:
            raise ProviderUnavailable(f"{app.provider.name}: the token endpoint answered {response.status_code}")
        return response

    return hook


def oauth_client(app: ProviderApp, **kwargs: Any) -> OAuth2Client:
    client = OAuth2Client(
        client_id=app.client_id,
        client_secret=app.client_secret,
        token_endpoint_auth_method=app.provider.oauth.client_auth,
        timeout=app.timeout_seconds,
        **kwargs,
    )
    client.register_compliance_hook("access_token_response", _check_token_response(app))
    client.register_compliance_hook("refresh_token_response", _check_token_response(app))
    return client


class ConnectionClient(OAuth2Client):
    def __init__(
        self,
        app: ProviderApp,
        user_id: uuid.UUID | str,
        token: dict[str, Any],
        *,
        bucket: Bucket,
        engine: Engine | None = None,
        max_inline_wait: float = MAX_INLINE_WAIT,
    ) -> None:
        super().__init__(
            client_id=app.client_id,
            client_secret=app.client_secret,
            token_endpoint_auth_method=app.provider.oauth.client_auth,
            token=token,
            token_endpoint=app.token_url,
            update_token=self._save,
            leeway=app.provider.oauth.leeway_seconds,
            timeout=app.timeout_seconds,
        )
        self.register_compliance_hook("refresh_token_response", _check_token_response(app))
        self.app = app
        self.user_id = user_id
        self.bucket = bucket
        self.engine = engine
        self.max_inline_wait = max_inline_wait
        self.bucket_size = BucketSize.for_quota(app.provider.quota)
        self.requests = 0
        self.refreshes = 0
        self._saving: tuple[Session, ConnectedDevice] | None = None

    # --- refresh ------------------------------------------------------------------------------------
    def ensure_active_token(self, token: Any = None) -> bool:
        token = token or self.token
        if not token.is_expired(leeway=self.leeway):
            return True
        self.refresh_locked(token)
        return True

    def refresh_locked(self, stale: Any) -> None:
        """Refresh under the connection's lock, unless someone else already replaced `stale`."""
        name = self.app.provider.name
        refused: str | None = None
        with connections.locked(self.user_id, self.app.provider, self.engine) as (session, row):
            current = connections.token_of(row) if row is not None and row.is_active else None
            if current is None:
                raise ConnectionUnusable(f"{name}: the connection is not active; connect again to resume syncing")
            if current["access_token"] != stale["access_token"]:
                self.token = current  # another worker refreshed while we waited for the lock
                return
            if not current.get("refresh_token"):
                refused = f"{name} gave no refresh token and the access token has expired"
            else:
                self._saving = (session, row)
                try:
                    super().refresh_token(self.app.token_url, refresh_token=current["refresh_token"])
                    self.refreshes += 1
                except OAuthError as exc:
                    if exc.error == "invalid_client":  # the app's credentials, not this person's consent
                        raise ProviderError(f"{name} does not accept this app's client credentials") from None
                    refused = f"{name} refused to renew the authorization ({exc.error})"
                except HTTPStatusError as exc:
                    raise ProviderError(f"{name}: the token endpoint answered {exc.response.status_code}") from None
                except TransportError as exc:
                    raise ProviderUnavailable(
                        f"{name}: the token endpoint did not answer ({type(exc).__name__})"
                    ) from None
                finally:
                    self._saving = None
            if refused:
                connections.mark_error(row, f"{refused}; the person must connect {name} again. Stored data is kept.")
        if refused:
            raise AuthorizationRevoked(refused)

    def _save(self, token: dict[str, Any], refresh_token: str | None = None, access_token: str | None = None) -> None:
        assert self._saving is not None, "tokens are saved only inside refresh_locked"
        session, row = self._saving
        connections.store_token(row, dict(token))
        session.flush()

    # --- requests -----------------------------------------------------------------------------------
    def pace(self) -> None:
        granted, wait = self.bucket.acquire(self.app.key, self.bucket_size, self.max_inline_wait)
        if not granted:
            raise RateLimited(f"{self.app.provider.name}: the app's request budget is spent for now", retry_after=wait)
        if wait > 0:
            time.sleep(wait)  # pacing a burst to the provider's quota, at most max_inline_wait

    def get_json(self, path: str, params: dict[str, Any] | None = None, *, what: str) -> Any:
        """GET `path` and return its JSON, mapping the provider's answers to our exceptions."""
        for attempt in (1, 2):
            self.pace()
            try:
                response = self.get(self.app.api_base + path, params=params or {})
            except TransportError as exc:
                raise ProviderUnavailable(
                    f"{self.app.provider.name} {what}: no answer ({type(exc).__name__})"
                ) from None
            self.requests += 1
            if response.status_code == 401 and attempt == 1:
                self.refresh_locked(self.token)  # one refresh, then one more try
                continue
            return self._parse(response, what)
        raise AssertionError("unreachable")

    def _parse(self, response: Any, what: str) -> Any:
        name, status = self.app.provider.name, response.status_code
        if status == 429:
            delay = retry_after(self.app, response.headers)
            if delay:
                self.bucket.pause(self.app.key, delay)
            raise RateLimited(f"{name} {what}: rate limited (429)", retry_after=delay)
        if status >= 500:
            raise ProviderUnavailable(f"{name} {what}: the provider answered {status}")
        if status == 401:
            self._mark_error(f"{name} refused a freshly renewed authorization for {what}")
            raise AuthorizationRevoked(f"{name} {what}: refused a freshly renewed authorization (401)")
        if status == 404:
            raise EndpointMissing(f"{name} {what}: not found (404)")
        if status == 403:
            raise AccessDenied(f"{name} {what}: forbidden (403): a missing scope or an expired subscription")
        if status >= 400:
            raise ProviderError(f"{name} {what}: the provider refused the request ({status})")
        try:
            return response.json()
        except ValueError:
            raise MalformedResponse(f"{name} {what}: the response is not valid JSON") from None

    def _mark_error(self, reason: str) -> None:
        with connections.locked(self.user_id, self.app.provider, self.engine) as (_, row):
            if row is not None:
                connections.mark_error(row, reason)


class EndpointMissing(ProviderError):
    """404 on a list route: a retired endpoint, or a document gone since its webhook."""


class AccessDenied(ProviderError):
    """403: a scope the person did not grant, or a lapsed provider subscription."""


def connection_client(
    app: ProviderApp, user_id: uuid.UUID | str, *, bucket: Bucket, engine: Engine | None = None, **kwargs: Any
) -> ConnectionClient:
    """A client holding the connection's current token; refuses a connection that is not active."""
    with user_scope(user_id, role=WORKER_ROLE, engine=engine) as session:
        row = connections.find(session, user_id, app.provider)
        token = connections.token_of(row) if row is not None and row.is_active else None
        if token is None:
            reason = row.last_sync_error if row is not None and row.last_sync_error else "not connected"
            raise ConnectionUnusable(f"{app.provider.name}: nothing to sync ({reason})")
    return ConnectionClient(app, user_id, token, bucket=bucket, engine=engine, **kwargs)
