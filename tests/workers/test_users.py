"""`vitalis users`: adding people, listing them, and finding them by email for every other command."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import delete, select

from db.engine import admin_scope
from db.models import Account, User, UserPreferences
from workers.cli import main
from workers.commands.users import UnknownUser, find_user


@pytest.fixture
def email(engine):
    address = f"ada-{uuid.uuid4().hex[:8]}@example.org"
    yield address
    with admin_scope() as session:
        accounts = select(User.account_id).where(User.email == address).scalar_subquery()
        session.execute(delete(Account).where(Account.account_id == accounts))


def test_a_person_added_at_the_terminal_can_be_found_and_listed(email, capsys) -> None:
    assert (
        main(
            [
                "users",
                "add",
                f"  {email.upper()} ",
                "--sex",
                "female",
                "--birth-date",
                "1990-04-02",
                "--timezone",
                "Europe/Berlin",
                "--name",
                "Ada",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out.startswith(f"added {email} (")

    user_id = find_user(email.upper())
    with admin_scope() as session:
        user = session.get(User, user_id)
        prefs = session.get(UserPreferences, user_id)
        assert (user.display_name, user.biological_sex, str(user.date_of_birth), user.role) == (
            "Ada",
            "female",
            "1990-04-02",
            "user",
        )
        assert prefs.timezone == "Europe/Berlin"

    assert main(["users", "list"]) == 0
    listed = capsys.readouterr().out
    assert email in listed and "Europe/Berlin" in listed


def test_the_same_email_twice_a_bad_time_zone_or_a_child_is_refused_in_one_line(email, capsys) -> None:
    assert main(["users", "add", email]) == 0
    capsys.readouterr()
    assert main(["users", "add", email]) == 1
    assert capsys.readouterr().err.strip() == f"vitalis: a user with email {email} already exists"
    assert main(["users", "add", "x" + email, "--timezone", "Mars/Olympus"]) == 1
    assert "unknown time zone 'Mars/Olympus'" in capsys.readouterr().err
    assert main(["users", "add", "y" + email, "--birth-date", "2020-01-01"]) == 1
    assert "outside the allowed range 13–150" in capsys.readouterr().err


def test_an_unknown_email_names_the_command_that_adds_it(engine, capsys) -> None:
    with pytest.raises(UnknownUser, match=r"no user with email nobody@example\.org: add one with `vitalis users add"):
        find_user("nobody@example.org")
    assert main(["jobs", "--user", "nobody@example.org"]) == 1
    assert "`vitalis users add nobody@example.org`" in capsys.readouterr().err
