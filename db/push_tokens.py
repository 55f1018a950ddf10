"""Per-person push tokens: made once and shown once, kept as a SHA-256, revocable.

A token reads `vitalis_<prefix>_<secret>`: the prefix (12 hex digits, public) finds its row and names
it in lists; the secret is 32 random bytes. Only the SHA-256 of the whole token is stored, and a
presented token is checked against the one hash its prefix names with a constant-time comparison. A
high-entropy secret needs no slow password hash: nothing short of the secret itself matches the hash.

Tokens are made by the system in the person's scope (worker role); finding a token's owner runs where
no person is known yet (worker role, no user), and records the use in the owner's scope.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select, update

from db.engine import WORKER_ROLE, user_scope, worker_scope
from db.models import PushToken

TOKEN_PATTERN = re.compile(r"vitalis_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")
DEFAULT_NAME = "Health Auto Export"


class TokenNotFound(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class TokenInfo:
    prefix: str
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user_id: uuid.UUID, name: str | None = None) -> tuple[str, str]:
    """A new token for the person: (prefix, token). The token is not kept anywhere: show it once."""
    name = (name or DEFAULT_NAME).strip()
    if not 1 <= len(name) <= 100:
        raise ValueError("a token's name is 1 to 100 characters")
    prefix = secrets.token_hex(6)
    token = f"vitalis_{prefix}_{secrets.token_urlsafe(32)}"
    with user_scope(user_id, role=WORKER_ROLE) as session:
        # Only the columns the worker may write: the rest are the database's (created_at) or later uses'.
        session.execute(
            insert(PushToken).values(user_id=user_id, name=name, prefix=prefix, token_hash=hash_token(token))
        )
    return prefix, token


def list_tokens(user_id: uuid.UUID) -> list[TokenInfo]:
    with user_scope(user_id, role=WORKER_ROLE) as session:
        rows = session.scalars(select(PushToken).order_by(PushToken.created_at, PushToken.prefix)).all()
        return [TokenInfo(r.prefix, r.name, r.created_at, r.last_used_at, r.revoked_at) for r in rows]


def revoke_token(user_id: uuid.UUID, prefix: str) -> bool:
    """Revoke the person's token with this prefix; False if it was revoked already. Another person's
    prefix is not found (row-level security), as an unknown one is not."""
    with user_scope(user_id, role=WORKER_ROLE) as session:
        row = session.scalar(select(PushToken).where(PushToken.prefix == prefix.strip().lower()))
        if row is None:
            raise TokenNotFound(f"no push token {prefix.strip()} for this person: `vitalis users tokens` lists them")
        if row.revoked_at is not None:
            return False
        row.revoked_at = func.now()
        return True


def authenticate(token: str) -> uuid.UUID | None:
    """The person a presented token belongs to, or None (malformed, unknown or revoked: one answer for all)."""
    token = token.strip()
    match = TOKEN_PATTERN.fullmatch(token)
    row = None
    if match is not None:
        with worker_scope() as session:
            row = session.execute(
                select(PushToken.token_id, PushToken.user_id, PushToken.token_hash, PushToken.revoked_at).where(
                    PushToken.prefix == match.group(1)
                )
            ).first()
    # Compared even when no row was found, so an unknown prefix and a wrong secret take the same time.
    stored = row.token_hash if row is not None else hash_token("")
    if not hmac.compare_digest(hash_token(token), stored) or row is None or row.revoked_at is not None:
        return None
    with user_scope(row.user_id, role=WORKER_ROLE) as session:
        session.execute(update(PushToken).where(PushToken.token_id == row.token_id).values(last_used_at=func.now()))
    return row.user_id
