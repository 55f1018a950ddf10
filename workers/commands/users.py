"""`vitalis users add|list|token|tokens`, and how every command that acts for a person finds them by email."""

from __future__ import annotations

import argparse
import uuid
from datetime import UTC, date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

SEXES = ("male", "female", "other")


class UnknownUser(LookupError):
    def __init__(self, email: str) -> None:
        super().__init__(f"no user with email {email}: add one with `vitalis users add {email}`")


def user_id_for(session: Session, email: str) -> uuid.UUID:
    """The person behind `email` (as typed: case and spaces do not matter), or UnknownUser."""
    from db.models import User
    from db.validation import normalize_email

    user_id = session.scalar(select(User.user_id).where(User.email == normalize_email(email)))
    if user_id is None:
        raise UnknownUser(email.strip())
    return user_id


def find_user(email: str) -> uuid.UUID:
    from db.engine import worker_scope

    with worker_scope() as session:
        return user_id_for(session, email)


def add_user(
    email: str,
    *,
    name: str | None = None,
    sex: str | None = None,
    birth_date: date | None = None,
    timezone: str | None = None,
) -> uuid.UUID:
    """Create a person with an account of their own; the email must be new."""
    from db.engine import admin_scope
    from db.models import Account, User, UserPreferences
    from db.validation import normalize_email, validate_row

    email = normalize_email(email)
    if timezone is not None:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {timezone!r} (expected a name like Europe/Berlin)") from None
    validate_row("users", {"email": email, "date_of_birth": birth_date})
    # Creating people is the one thing neither the api nor the worker role may do (no self-escalation).
    with admin_scope() as session:
        if session.scalar(select(User.user_id).where(User.email == email)) is not None:
            raise ValueError(f"a user with email {email} already exists")
        account = Account()
        session.add(account)
        session.flush()
        user = User(
            account_id=account.account_id,
            email=email,
            display_name=name or email.split("@")[0],
            biological_sex=sex,
            date_of_birth=birth_date,
        )
        session.add(user)
        session.flush()
        session.add(UserPreferences(user_id=user.user_id, **({"timezone": timezone} if timezone else {})))
        return user.user_id


def _add(args: argparse.Namespace) -> int:
    user_id = add_user(args.email, name=args.name, sex=args.sex, birth_date=args.birth_date, timezone=args.timezone)
    print(f"added {args.email.strip().lower()} ({user_id})")
    return 0


def _list(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from db.engine import admin_scope
    from db.models import User, UserPreferences

    with admin_scope() as session:
        rows = session.execute(
            select(User.email, User.display_name, User.biological_sex, User.date_of_birth, UserPreferences.timezone)
            .outerjoin(UserPreferences, UserPreferences.user_id == User.user_id)
            .where(User.deleted_at.is_(None))
            .order_by(User.email)
        ).all()
    if not rows:
        print("no users yet: add one with `vitalis users add EMAIL`")
        return 0
    table = Table("email", "name", "sex", "born", "time zone")
    for email, name, sex, born, tz in rows:
        table.add_row(email, name, sex or "", born.isoformat() if born else "", tz or "UTC")
    Console().print(table)
    return 0


def _token(args: argparse.Namespace) -> int:
    from db.push_tokens import create_token, revoke_token

    user_id = find_user(args.email)
    if args.revoke:
        if revoke_token(user_id, args.revoke):
            print(f"revoked push token {args.revoke.strip().lower()}: pushes with it are refused from now on")
        else:
            print(f"push token {args.revoke.strip().lower()} was revoked already")
        return 0
    prefix, token = create_token(user_id, args.name)
    print(f"push token {prefix} for {args.email.strip().lower()}; it is shown only this once, keep it now:")
    print(f"  {token}")
    print("send it as the header  Authorization: Bearer <token>  to POST /apple-health/push (`vitalis serve`)")
    return 0


def _tokens(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from db.push_tokens import list_tokens

    tokens = list_tokens(find_user(args.email))
    if not tokens:
        print(f"no push tokens for {args.email.strip().lower()}: make one with `vitalis users token {args.email}`")
        return 0
    table = Table("prefix", "name", "created", "last used", "revoked")
    for t in tokens:
        table.add_row(t.prefix, t.name, _when(t.created_at), _when(t.last_used_at), _when(t.revoked_at))
    Console().print(table)
    return 0


def _when(moment) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if moment is not None else ""


def register(sub: argparse._SubParsersAction) -> None:
    users = sub.add_parser("users", help="the people whose data this holds")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    add = users_sub.add_parser("add", help="add a person (with an account of their own)")
    add.add_argument("email")
    add.add_argument("--name", help="display name (default: the part of the email before @)")
    add.add_argument("--sex", choices=SEXES, help="biological sex, for sex-specific reference ranges")
    add.add_argument("--birth-date", type=date.fromisoformat, metavar="YYYY-MM-DD")
    add.add_argument("--timezone", help="IANA time zone, e.g. Europe/Berlin (default UTC)")
    add.set_defaults(func=_add)
    users_sub.add_parser("list", help="everyone, with sex, birth date and time zone").set_defaults(func=_list)
    token = users_sub.add_parser("token", help="make a push token (printed once), or revoke one with --revoke")
    token.add_argument("email")
    token.add_argument("--name", help="what the token is for (default: Health Auto Export)")
    token.add_argument("--revoke", metavar="PREFIX", help="revoke the token with this prefix instead")
    token.set_defaults(func=_token)
    tokens = users_sub.add_parser("tokens", help="a person's push tokens: prefix, name, created, last used, revoked")
    tokens.add_argument("email")
    tokens.set_defaults(func=_tokens)
