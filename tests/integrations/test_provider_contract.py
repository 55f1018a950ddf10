"""The contract every registered provider keeps: a coherent declaration, a sandbox that serves every
endpoint it declares, and a normalize() whose rows fit the seed-003 tables and pass validation."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from db.models import Base
from db.upsert import NATURAL_KEYS
from db.validation import validate_row
from integrations.pagination import items_of
from integrations.provider import TABLES
from integrations.registry import PROVIDERS
from integrations.sandbox import SANDBOXES, SandboxConfig
from tests.integrations.connecting import TODAY

pytestmark = pytest.mark.parametrize("name", sorted(PROVIDERS))


def test_the_declaration_is_coherent(name: str) -> None:
    provider = PROVIDERS[name]
    assert provider.name == name and provider.source.value == name
    names = [e.name for e in provider.endpoints]
    assert len(names) == len(set(names)), "endpoint names repeat"
    scopes = set(provider.oauth.scopes)
    for endpoint in provider.endpoints:
        assert endpoint.path.startswith("/"), endpoint.name
        assert endpoint.tables and set(endpoint.tables) <= set(TABLES), endpoint.name
        assert endpoint.scope is None or endpoint.scope in scopes, f"{endpoint.name} needs an undeclared scope"
        if endpoint.range is not None:
            assert endpoint.range.max_days > 0 and endpoint.range.pad_days >= 0
    assert provider.oauth.authorize_url.startswith("https://") and provider.oauth.token_url.startswith("https://")
    assert provider.quota.requests > 0 and provider.quota.seconds > 0
    if provider.identity:
        assert provider.identity[0] in names
    for watch in provider.watches:
        assert {watch.resource, watch.reference} <= set(names)
    if provider.webhook:
        assert set(provider.webhook.data_types) <= set(names)


def test_every_endpoint_is_served_by_the_sandbox_and_normalizes_into_valid_rows(name: str) -> None:
    provider = PROVIDERS[name]
    assert name in SANDBOXES, f"{name} has no sandbox"
    # A month, so every kind of document (a workout is generated on about a third of days) is served.
    config = SandboxConfig(days=30, page_size=100, series_page_size=5000)
    with SANDBOXES[name](config, today=TODAY) as sandbox:
        redirect = "http://127.0.0.1:9/cb"
        grant = httpx.get(
            sandbox.url + sandbox.authorize_path,
            params={"response_type": "code", "client_id": config.client_id, "redirect_uri": redirect, "state": "s"},
        )
        code = httpx.URL(grant.headers["location"]).params["code"]
        token = httpx.post(
            sandbox.url + sandbox.token_path,
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect,
                "client_id": config.client_id,
                "client_secret": config.client_secret,
            },
        ).json()["access_token"]
        for endpoint in provider.endpoints:
            params = {}
            if endpoint.range is not None:
                first, stop = TODAY - timedelta(days=29), TODAY + timedelta(days=1)
                if endpoint.range.kind == "date":
                    params = {endpoint.range.start: first.isoformat(), endpoint.range.end: stop.isoformat()}
                else:
                    params = {
                        endpoint.range.start: f"{first}T00:00:00+00:00",
                        endpoint.range.end: f"{stop}T00:00:00+00:00",
                    }
            response = httpx.get(
                sandbox.url + endpoint.path, params=params, headers={"Authorization": f"Bearer {token}"}
            )
            assert response.status_code == 200, endpoint.name
            items = items_of(endpoint, response.json())
            assert items, f"the sandbox served no {endpoint.name}"
            records = provider.normalize(endpoint.name, items)
            assert records, f"{endpoint.name} produced no rows"
            for record in records:
                assert record.table in endpoint.tables, endpoint.name
                assert not record.refused, f"{endpoint.name} refused {record.refused} of realistic data"
                columns = set(Base.metadata.tables[record.table].c.keys())
                assert set(record.values) <= columns, set(record.values) - columns
                row = {**record.values, "user_id": "u", "source": provider.source}
                assert set(NATURAL_KEYS[record.table]) <= set(row), f"{endpoint.name} misses a natural key column"
                validate_row(record.table, row)
