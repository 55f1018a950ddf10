"""A provider app is configured from the environment, says what is missing, and never prints its secret."""

from __future__ import annotations

import pytest

from integrations.apps import app_from_env
from integrations.errors import ConnectionUnusable


def test_an_unconfigured_provider_names_the_variables_to_set() -> None:
    with pytest.raises(ConnectionUnusable, match="VITALIS_OURA_CLIENT_ID and VITALIS_OURA_CLIENT_SECRET"):
        app_from_env("oura", env={})


def test_a_base_url_moves_every_route_to_the_sandbox_and_the_secret_stays_out_of_repr() -> None:
    app = app_from_env(
        "oura",
        env={
            "VITALIS_OURA_CLIENT_ID": "id",
            "VITALIS_OURA_CLIENT_SECRET": "very-secret",
            "VITALIS_OURA_BASE_URL": "http://127.0.0.1:8765/",
        },
    )
    assert app.authorize_url == "http://127.0.0.1:8765/oauth/authorize"
    assert app.token_url == "http://127.0.0.1:8765/oauth/token"
    assert app.api_base == "http://127.0.0.1:8765"
    assert app.key == "oura:id"
    assert "very-secret" not in repr(app)


def test_a_token_url_of_its_own_is_kept_for_apps_on_ouras_newer_portal() -> None:
    app = app_from_env(
        "oura",
        env={
            "VITALIS_OURA_CLIENT_ID": "id",
            "VITALIS_OURA_CLIENT_SECRET": "s",
            "VITALIS_OURA_TOKEN_URL": "https://moi.ouraring.com/oauth/v2/ext/oauth-token",
        },
    )
    assert app.token_url == "https://moi.ouraring.com/oauth/v2/ext/oauth-token"
    assert app.authorize_url == "https://cloud.ouraring.com/oauth/authorize"
