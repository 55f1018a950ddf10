"""The authorization flow refuses every state it did not issue to this person just now, once."""

from __future__ import annotations

import dataclasses
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from integrations import oauth
from integrations.errors import ConnectError, StateRefused
from integrations.oauth import begin_connect, finish_connect
from tests.integrations.connecting import TODAY, authorize, device


def test_the_authorization_url_is_oauras_with_scopes_and_no_pkce(committed_users, app) -> None:
    user, _ = committed_users
    request = begin_connect(user, "oura", app=app)
    query = parse_qs(urlsplit(request.url).query)
    assert request.url.startswith(app.authorize_url)
    assert query["response_type"] == ["code"] and query["client_id"] == [app.client_id]
    assert query["scope"] == [" ".join(app.provider.oauth.scopes)]
    assert query["state"] == [request.state] and "code_challenge" not in query
    assert str(user) not in request.state  # the state is sealed, not readable


def test_a_provider_declaring_pkce_gets_an_s256_challenge_and_keeps_the_verifier_sealed(committed_users, app) -> None:
    user, _ = committed_users
    pkce = dataclasses.replace(app.provider, oauth=dataclasses.replace(app.provider.oauth, pkce=True))
    request = begin_connect(user, "oura", app=app.with_options(provider=pkce))
    query = parse_qs(urlsplit(request.url).query)
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert "code_verifier" not in query


def test_a_forged_or_altered_state_is_refused(committed_users, app, bucket) -> None:
    user, _ = committed_users
    callback = authorize(begin_connect(user, "oura", app=app).url)
    with pytest.raises(StateRefused, match="not one we issued"):
        finish_connect("forged-state", callback["code"], app=app, bucket=bucket)
    altered = callback["state"][:-6] + ("AAAAAA" if not callback["state"].endswith("AAAAAA") else "BBBBBB")
    with pytest.raises(StateRefused):
        finish_connect(altered, callback["code"], app=app, bucket=bucket)
    assert not device(user).is_active  # nothing was connected


def test_a_replayed_state_is_refused(committed_users, app, bucket) -> None:
    user, _ = committed_users
    callback = authorize(begin_connect(user, "oura", app=app).url)
    finish_connect(callback["state"], callback["code"], app=app, bucket=bucket, today=TODAY)
    with pytest.raises(StateRefused, match="already used"):
        finish_connect(callback["state"], callback["code"], app=app, bucket=bucket, today=TODAY)


def test_a_state_is_bound_to_its_person_and_only_the_newest_counts(committed_users, app, bucket) -> None:
    alice, bob = committed_users
    first = authorize(begin_connect(alice, "oura", app=app).url)
    with pytest.raises(StateRefused, match="another person"):
        finish_connect(first["state"], first["code"], expected_user=bob, app=app, bucket=bucket)
    second = authorize(begin_connect(alice, "oura", app=app).url)
    with pytest.raises(StateRefused, match="newer one replaced it"):
        finish_connect(first["state"], first["code"], app=app, bucket=bucket)
    connected = finish_connect(second["state"], second["code"], expected_user=alice, app=app, bucket=bucket)
    assert connected.user_id == str(alice) and device(alice).is_active


def test_an_expired_state_is_refused(committed_users, app, bucket, monkeypatch) -> None:
    user, _ = committed_users
    callback = authorize(begin_connect(user, "oura", app=app).url)
    monkeypatch.setattr(oauth, "STATE_TTL", 0)
    time.sleep(1.1)  # Fernet stamps whole seconds
    with pytest.raises(StateRefused, match="expired"):
        finish_connect(callback["state"], callback["code"], app=app, bucket=bucket)


def test_a_declined_authorization_uses_up_the_state_and_says_so(committed_users, app, bucket) -> None:
    user, _ = committed_users
    request = begin_connect(user, "oura", app=app)
    with pytest.raises(ConnectError, match="access_denied"):
        finish_connect(request.state, None, error="access_denied", app=app, bucket=bucket)
    with pytest.raises(StateRefused):
        finish_connect(request.state, "late-code", app=app, bucket=bucket)


def test_a_used_or_unknown_code_is_a_clear_error(committed_users, sandbox, app, bucket) -> None:
    user, _ = committed_users
    callback = authorize(begin_connect(user, "oura", app=app).url)
    with pytest.raises(ConnectError, match="refused the authorization code \\(invalid_grant\\)"):
        finish_connect(callback["state"], "not-a-code", app=app, bucket=bucket)
    assert not device(user).is_active and device(user).access_token_enc is None
