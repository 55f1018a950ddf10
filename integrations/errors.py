"""What can go wrong talking to a provider, as exceptions the job layer maps without reading text.

Transient ones subclass `workers.jobtask.TransientError`, so the job retries later with the provider's
own delay (`retry_after`); nothing here sleeps. Messages name the provider, the resource and the
status, never a URL (an authorization URL or a revoke URL can carry a code or a token).
"""

from __future__ import annotations

from workers.jobtask import TransientError


class ProviderError(Exception):
    """A provider failure that retrying will not fix."""


class RateLimited(TransientError):
    """The provider answered 429, or the shared pacing bucket is empty for longer than a worker waits."""


class ProviderUnavailable(TransientError):
    """A 5xx, a timeout or a dropped connection."""


class MalformedResponse(ProviderError):
    """A body that is not the JSON the provider documents."""


class AuthorizationRevoked(ProviderError):
    """The provider refused the stored authorization: the person must connect again."""


class ConnectionUnusable(ProviderError):
    """The connection is missing, disconnected or in error: nothing is synced until it is reconnected."""


class StateRefused(ProviderError):
    """An OAuth callback whose `state` is forged, expired, for another person, or already used."""


class ConnectError(ProviderError):
    """The provider refused the authorization code, or the person declined."""


class WebhookRefused(ProviderError):
    """A webhook whose signature, timestamp or verification token does not check out."""

    def __init__(self, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.status = status
