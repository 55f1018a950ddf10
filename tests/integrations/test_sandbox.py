"""The Oura sandbox behaves like the API it stands in for: paginates, validates, limits, rotates."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from integrations.sandbox.oura import OuraSandbox
from integrations.sandbox.server import SandboxConfig
from tests.integrations.connecting import REDIRECT, TODAY


@pytest.fixture
def token(sandbox: OuraSandbox) -> dict:
    grant = httpx.get(
        sandbox.url + "/oauth/authorize",
        params={"response_type": "code", "client_id": sandbox.config.client_id, "redirect_uri": REDIRECT},
    )
    code = httpx.URL(grant.headers["location"]).params["code"]
    return _token(sandbox, grant_type="authorization_code", code=code, redirect_uri=REDIRECT).json()


def _token(sandbox: OuraSandbox, **form: str) -> httpx.Response:
    form |= {"client_id": sandbox.config.client_id, "client_secret": sandbox.config.client_secret}
    return httpx.post(sandbox.url + "/oauth/token", data=form)


def _get(sandbox: OuraSandbox, token: dict, path: str, **params: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    return httpx.get(sandbox.url + "/v2/usercollection/" + path, params=params, headers=headers)


def test_next_token_walks_every_document_exactly_once(sandbox, token) -> None:
    days, cursor, pages = [], None, 0
    while True:
        params = {"start_date": (TODAY - timedelta(days=19)).isoformat(), "end_date": TODAY.isoformat()}
        body = _get(sandbox, token, "daily_readiness", **params, **({"next_token": cursor} if cursor else {})).json()
        days += [d["day"] for d in body["data"]]
        pages += 1
        cursor = body["next_token"]
        if cursor is None:
            break
    assert pages == 4 and len(days) == len(set(days)) == 20  # inclusive end: all 20 days


def test_range_ends_and_validation_follow_the_reference(sandbox, token) -> None:
    day = TODAY - timedelta(days=3)
    window = {"start_date": day.isoformat(), "end_date": (day + timedelta(days=1)).isoformat()}
    assert len(_get(sandbox, token, "daily_sleep", **window).json()["data"]) == 2  # inclusive
    assert len(_get(sandbox, token, "daily_activity", **window).json()["data"]) == 1  # exclusive
    backwards = _get(sandbox, token, "daily_sleep", start_date=TODAY.isoformat(), end_date=day.isoformat())
    assert backwards.status_code == 422 and backwards.json()["detail"][0]["msg"] == "Start date must be before end date"
    assert _get(sandbox, token, "daily_sleep/no-such-id").json() == {"detail": "Document not found."}


def test_the_quota_answers_429_with_ouras_headers(sandbox, token) -> None:
    sandbox.config.quota_requests, sandbox.config.quota_window = 3, 60
    statuses = [_get(sandbox, token, "personal_info") for _ in range(4)]
    assert [r.status_code for r in statuses] == [200, 200, 200, 429]
    limited = statuses[-1].headers
    assert 0 < int(limited["Retry-After"]) <= 60
    assert limited["X-RateLimit-Limit"] == "3" and limited["X-RateLimit-Window"] == "60"
    assert int(limited["X-RateLimit-Reset"]) > 0 and limited["X-RateLimit-Tier"]


def test_refresh_rotates_and_the_old_refresh_token_dies(sandbox, token) -> None:
    renewed = _token(sandbox, grant_type="refresh_token", refresh_token=token["refresh_token"])
    assert renewed.status_code == 200 and renewed.json()["refresh_token"] != token["refresh_token"]
    again = _token(sandbox, grant_type="refresh_token", refresh_token=token["refresh_token"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_an_expired_access_token_is_refused_with_401() -> None:
    with OuraSandbox(SandboxConfig(access_token_ttl=0), today=TODAY) as sandbox:
        grant = httpx.get(
            sandbox.url + "/oauth/authorize",
            params={"response_type": "code", "client_id": sandbox.config.client_id, "redirect_uri": REDIRECT},
        )
        code = httpx.URL(grant.headers["location"]).params["code"]
        token = _token(sandbox, grant_type="authorization_code", code=code, redirect_uri=REDIRECT).json()
        assert _get(sandbox, token, "personal_info").status_code == 401
