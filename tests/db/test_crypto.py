"""Tokens at rest: encrypted, rotatable, and a wrong key is a clear error, never garbage."""

from __future__ import annotations

import pytest

from db import crypto


@pytest.fixture
def keys(monkeypatch):
    def use(*keys: str) -> None:
        monkeypatch.setenv("VITALIS_TOKEN_KEYS", ",".join(keys))
        crypto.reset()

    yield use
    crypto.reset()


def test_a_token_round_trips_and_is_not_stored_in_clear(keys) -> None:
    keys(crypto.new_key())
    sealed = crypto.encrypt("oura-access-token-123")
    assert "oura-access-token-123" not in sealed
    assert crypto.decrypt(sealed) == "oura-access-token-123"


def test_rotation_old_ciphertext_still_opens_and_rotates_to_the_new_key(keys) -> None:
    old, new = crypto.new_key(), crypto.new_key()
    keys(old)
    sealed = crypto.encrypt("refresh-456")
    keys(new, old)
    assert crypto.decrypt(sealed) == "refresh-456"
    rotated = crypto.rotate(sealed)
    keys(new)
    assert crypto.decrypt(rotated) == "refresh-456"
    with pytest.raises(crypto.TokenKeyError, match="cannot be decrypted"):
        crypto.decrypt(sealed)


def test_a_malformed_key_is_named_as_such(keys) -> None:
    keys("not-a-key")
    with pytest.raises(crypto.TokenKeyError, match="not a valid Fernet key"):
        crypto.encrypt("x")


def test_the_server_mode_refuses_to_work_without_keys(monkeypatch) -> None:
    monkeypatch.delenv("VITALIS_TOKEN_KEYS", raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgresql://example.invalid/db")
    crypto.reset()
    try:
        with pytest.raises(crypto.TokenKeyError, match="VITALIS_TOKEN_KEYS is not set"):
            crypto.encrypt("x")
    finally:
        crypto.reset()


def test_the_embedded_default_makes_a_private_key_once(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("VITALIS_TOKEN_KEYS", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("VITALIS_HOME", str(tmp_path))
    crypto.reset()
    try:
        sealed = crypto.encrypt("t")
        key_file = tmp_path / crypto.KEY_FILE
        assert key_file.stat().st_mode & 0o777 == 0o600
        crypto.reset()
        assert crypto.decrypt(sealed) == "t"
    finally:
        crypto.reset()
