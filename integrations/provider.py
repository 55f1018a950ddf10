"""What a provider is, as data: OAuth endpoints, API endpoints, pagination, limits, webhooks.

A provider module declares one `Provider` and a `normalize(endpoint, items) -> records` function; the
shared machinery (oauth, client, pagination, sync, webhooks) reads nothing else. Every fact the
provider reference marks unconfirmed is a field here, so a deployment (or a sandbox) can change it
without touching code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, Protocol

from db.models.enums import DataSource

TABLES = ("wearable_daily", "wearable_sleep", "wearable_activities", "measurements")


@dataclass(frozen=True, slots=True)
class OAuthSpec:
    authorize_url: str
    token_url: str
    revoke_url: str | None
    scopes: tuple[str, ...]
    pkce: bool
    # How the client authenticates at the token endpoint (authlib's names).
    client_auth: Literal["client_secret_post", "client_secret_basic"]
    # Where the token to revoke goes: "query" (e.g. ?access_token=) or "form" (RFC 7009 body).
    revoke_token_in: Literal["query", "form"] = "form"
    revoke_token_param: str = "token"
    revoke_method: str = "POST"
    # Seconds before the stated expiry at which a token counts as expired (clock skew, request time).
    leeway_seconds: int = 60


@dataclass(frozen=True, slots=True)
class RangeParams:
    """How an endpoint takes a time window, and how the provider reads its end."""

    start: str
    end: str
    kind: Literal["date", "datetime"]
    end_inclusive: bool
    max_days: int  # the longest window asked for in one request chain (a chunk)
    # Days added on both sides of the window before asking; records are trimmed back to it by day.
    pad_days: int = 1


@dataclass(frozen=True, slots=True)
class Endpoint:
    name: str
    path: str
    pagination: Literal["next_token", "single"]
    data_key: str | None  # the list inside the envelope; None: the body is the one document
    scope: str | None
    range: RangeParams | None = None
    cursor_param: str = "next_token"  # request parameter carrying the cursor
    cursor_key: str = "next_token"  # response field holding the next cursor (null: last page)
    tables: tuple[str, ...] = ()
    # The per-document route (webhook follow-ups): path + "/" + id.
    document_path: str | None = None
    # Commit unit: "page" writes each page as it arrives; "chunk" hands normalize a whole chunk at once
    # (for series folded into per-day values, which a page boundary would cut in half).
    commit: Literal["page", "chunk"] = "page"


@dataclass(frozen=True, slots=True)
class RateLimitHeaders:
    retry_after: str = "Retry-After"
    reset: str | None = None  # epoch seconds at which the window resets
    limit: str | None = None
    window: str | None = None
    tier: str | None = None


@dataclass(frozen=True, slots=True)
class Quota:
    """The provider's per-application limit: `requests` per `seconds` (the shared bucket paces to it)."""

    requests: int
    seconds: float


@dataclass(frozen=True, slots=True)
class WebhookSpec:
    signature_header: str
    timestamp_header: str
    # HMAC-SHA256 over timestamp + raw body with the client secret; digest encoding as the provider sends.
    digest: Literal["hex_upper", "hex", "base64"]
    tolerance_seconds: int
    timestamp_unit: Literal["s", "ms"]
    challenge_param: str | None = None
    verification_token_param: str | None = None
    # Webhook data types the provider can push (others are polled).
    data_types: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Watch:
    """Expect `resource` to keep up with `reference`: a gap longer than `max_gap_hours` is a warning."""

    resource: str
    reference: str
    max_gap_hours: int


@dataclass(frozen=True, slots=True)
class Record:
    """One row for one of TABLES, without user_id and source (the sync adds them).

    `day` is the date the record belongs to (for trimming a padded window and for reporting days with
    data); `refused` names fields whose value was dropped as impossible (never the value itself).
    """

    table: str
    values: Mapping[str, Any]
    day: date
    refused: tuple[str, ...] = ()


class Normalizer(Protocol):
    """Rows from one page (or chunk) of an endpoint's documents. `as_of` dates documents that carry
    no date of their own (the moment they were read)."""

    def __call__(
        self, endpoint: str, items: Sequence[Mapping[str, Any]], *, as_of: datetime | None = None
    ) -> list[Record]: ...


@dataclass(frozen=True, slots=True)
class Provider:
    name: str
    source: DataSource
    oauth: OAuthSpec
    api_base: str
    endpoints: tuple[Endpoint, ...]
    normalize: Normalizer
    rate_limit: RateLimitHeaders
    quota: Quota
    # How far back the provider really serves data (None: everything since the account began).
    history_days: int | None
    # The endpoint and field naming the provider's own user id (webhooks address users by it).
    identity: tuple[str, str] | None = None
    webhook: WebhookSpec | None = None
    watches: tuple[Watch, ...] = ()
    # Default window of a first backfill, in days, capped by history_days.
    backfill_days: int = 365
    # A first incremental sync with no stored cursor looks back this many days.
    initial_sync_days: int = 7
    extra: Mapping[str, Any] = field(default_factory=dict)

    def endpoint(self, name: str) -> Endpoint:
        for endpoint in self.endpoints:
            if endpoint.name == name:
                return endpoint
        raise KeyError(f"{self.name} has no endpoint {name!r}")
