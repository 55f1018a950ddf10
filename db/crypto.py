"""Encryption of OAuth tokens at rest (Fernet: AES-128-CBC + HMAC-SHA256), with key rotation.

VITALIS_TOKEN_KEYS holds comma-separated keys, newest first: new ciphertext uses the first, any of them
decrypts, and `rotate` re-encrypts old ciphertext under the newest. On the embedded default with no keys
set, a key is generated once under VITALIS_HOME (mode 0600) so a laptop install works out of the box.
"""

from __future__ import annotations

import functools
import os

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from db.settings import load_settings

KEY_FILE = "token.key"


class TokenKeyError(RuntimeError):
    pass


def new_key() -> str:
    return Fernet.generate_key().decode()


def _keys() -> list[str]:
    settings = load_settings()
    if settings.token_keys:
        return [k.strip() for k in settings.token_keys.split(",") if k.strip()]
    if not settings.embedded:
        raise TokenKeyError("VITALIS_TOKEN_KEYS is not set: tokens cannot be stored without an encryption key")
    path = settings.home / KEY_FILE
    if not path.exists():
        settings.home.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(new_key())
    return [path.read_text().strip()]


@functools.cache
def _cipher() -> MultiFernet:
    try:
        return MultiFernet([Fernet(k.encode()) for k in _keys()])
    except ValueError as exc:
        raise TokenKeyError(f"a key in VITALIS_TOKEN_KEYS is not a valid Fernet key: {exc}") from None


def encrypt(secret: str) -> str:
    return _cipher().encrypt(secret.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return _cipher().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise TokenKeyError("a stored token cannot be decrypted with any key in VITALIS_TOKEN_KEYS") from None


def decrypt_fresh(ciphertext: str, max_age: float) -> str | None:
    """The plaintext of `ciphertext` if `encrypt` made it at most `max_age` seconds ago, else None
    (forged, altered, made under an unknown key, or too old): for short-lived sealed values."""
    try:
        return _cipher().decrypt(ciphertext.encode(), ttl=int(max_age)).decode()
    except (InvalidToken, UnicodeDecodeError, ValueError):
        return None


def rotate(ciphertext: str) -> str:
    """Re-encrypt under the newest key (after a new key was put first in VITALIS_TOKEN_KEYS)."""
    return _cipher().rotate(ciphertext.encode()).decode()


def reset() -> None:
    """Forget the cached keys (after the environment changed)."""
    _cipher.cache_clear()
