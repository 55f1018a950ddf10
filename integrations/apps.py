"""A deployment's registration with a provider: client credentials, redirect URI, host overrides.

Read from the environment, per provider (NAME is the provider in upper case):

    VITALIS_NAME_CLIENT_ID, VITALIS_NAME_CLIENT_SECRET   the app's credentials (required)
    VITALIS_NAME_REDIRECT_URI                            the callback registered with the provider
    VITALIS_NAME_BASE_URL                                one host for every route (a sandbox)
    VITALIS_NAME_TOKEN_URL                               another token endpoint (e.g. Oura's newer apps)
    VITALIS_NAME_WEBHOOK_TOKEN                           the verification token of webhook subscriptions
    VITALIS_NAME_QUOTA                                   the app's quota as REQUESTS/SECONDS, when the
                                                         provider granted it another one than declared
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from integrations.errors import ConnectionUnusable
from integrations.provider import Provider, Quota
from integrations.registry import get_provider


def _rehost(url: str, base: str | None) -> str:
    if not base:
        return url
    parts = urlsplit(url)
    return base.rstrip("/") + parts.path + (f"?{parts.query}" if parts.query else "")


@dataclass(frozen=True, slots=True)
class ProviderApp:
    provider: Provider
    client_id: str
    client_secret: str = field(repr=False)
    redirect_uri: str | None = None
    base_url: str | None = None
    token_url_override: str | None = None
    webhook_token: str | None = field(default=None, repr=False)
    timeout_seconds: float = 30.0

    @property
    def key(self) -> str:
        """The provider application: quotas are counted per app, so the pacing bucket is keyed by it."""
        return f"{self.provider.name}:{self.client_id}"

    @property
    def api_base(self) -> str:
        return _rehost(self.provider.api_base, self.base_url)

    @property
    def authorize_url(self) -> str:
        return _rehost(self.provider.oauth.authorize_url, self.base_url)

    @property
    def token_url(self) -> str:
        return self.token_url_override or _rehost(self.provider.oauth.token_url, self.base_url)

    @property
    def revoke_url(self) -> str | None:
        url = self.provider.oauth.revoke_url
        return _rehost(url, self.base_url) if url else None

    def with_options(self, **changes: object) -> ProviderApp:
        return replace(self, **changes)  # type: ignore[arg-type]


def app_from_env(provider: str | Provider, env: Mapping[str, str] | None = None) -> ProviderApp:
    declared = get_provider(provider) if isinstance(provider, str) else provider
    env = os.environ if env is None else env
    prefix = f"VITALIS_{declared.name.upper()}_"
    client_id, secret = env.get(prefix + "CLIENT_ID"), env.get(prefix + "CLIENT_SECRET")
    if not client_id or not secret:
        raise ConnectionUnusable(
            f"{declared.name} is not configured: set {prefix}CLIENT_ID and {prefix}CLIENT_SECRET "
            f"(or point {prefix}BASE_URL at a sandbox with its credentials)"
        )
    quota = env.get(prefix + "QUOTA")
    if quota:
        declared = replace(declared, quota=_quota(prefix + "QUOTA", quota))
    return ProviderApp(
        provider=declared,
        client_id=client_id,
        client_secret=secret,
        redirect_uri=env.get(prefix + "REDIRECT_URI") or None,
        base_url=env.get(prefix + "BASE_URL") or None,
        token_url_override=env.get(prefix + "TOKEN_URL") or None,
        webhook_token=env.get(prefix + "WEBHOOK_TOKEN") or None,
    )


def _quota(name: str, value: str) -> Quota:
    try:
        requests, seconds = value.split("/")
        quota = Quota(requests=int(requests), seconds=float(seconds))
    except ValueError:
        raise ConnectionUnusable(f"{name} must read REQUESTS/SECONDS, e.g. 5000/300") from None
    if quota.requests < 1 or quota.seconds <= 0:
        raise ConnectionUnusable(f"{name} must name a positive number of requests per positive seconds")
    return quota
