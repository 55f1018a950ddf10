"""Stale marking (insight_runs): new data marks only its user stale, a run clears it, nothing is lost."""

from __future__ import annotations

import datetime as dt
import threading
import uuid

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.exc import ProgrammingError

from db.engine import API_ROLE, WORKER_ROLE, analytics_scope, user_scope, worker_scope
from db.models import InsightRun, MoodJournal
from db.partitions import ensure_years
from insights import runs
from tests.insights.history import add_linked_history, today
from workers.nightly_insights import run_users


@pytest.fixture
def users(engine, committed_users):
    ensure_years(engine, {today().year - 1, today().year})
    return committed_users


def needing(*users: uuid.UUID, on: dt.date | None = None) -> set[uuid.UUID]:
    with worker_scope() as s:
        return set(runs.users_needing_run(s, on or today())) & set(users)


def journal(user: uuid.UUID, day: dt.date, mood: int = 3) -> None:
    with user_scope(user) as s:  # the person writes (api role)
        s.execute(insert(MoodJournal).values(user_id=user, journal_date=day, mood_score=mood))


def test_new_data_marks_only_its_user_stale_and_a_run_clears_it(users) -> None:
    a, b = users
    assert needing(a, b) == {a, b}  # never computed
    add_linked_history(a)
    report = run_users([a, b], today())
    assert [u.error for u in report.users] == [None, None] and all(u.marked for u in report.users)
    assert report.counts()["inserted"] >= 1
    assert needing(a, b) == set()

    journal(b, today())
    assert needing(a, b) == {b}
    run_users([a, b], today())  # only b still needs it: a is skipped
    assert needing(a, b) == set()


def test_insights_expire_and_are_computed_again(users) -> None:
    a, _ = users
    run_users([a], today())
    assert needing(a, on=today() + dt.timedelta(days=6)) == set()
    assert needing(a, on=today() + dt.timedelta(days=7)) == {a}


def test_a_change_committed_while_a_run_worked_keeps_the_user_stale(users) -> None:
    a, _ = users
    add_linked_history(a)
    with analytics_scope() as s:
        seen = runs.changes_seen(s, [a])[a]
    journal(a, today())  # after the run loaded its data
    with user_scope(a, role=WORKER_ROLE) as s:
        assert runs.mark_computed(s, a, seen, today()) is False
    assert needing(a) == {a}


def test_marking_waits_for_a_writer_still_holding_the_row_and_then_leaves_the_user_stale(users, engine) -> None:
    a, _ = users
    run_users([a], today())
    with analytics_scope() as s:
        seen = runs.changes_seen(s, [a])[a]
    marked: list[bool] = []
    with user_scope(a) as writer:
        writer.execute(insert(MoodJournal).values(user_id=a, journal_date=today(), mood_score=4))

        def mark() -> None:
            with user_scope(a, role=WORKER_ROLE) as s:
                marked.append(runs.mark_computed(s, a, seen, today()))

        runner = threading.Thread(target=mark)
        runner.start()
        runner.join(timeout=1)
        assert runner.is_alive()  # waits for the writer's transaction
    runner.join(timeout=10)
    assert marked == [False]
    assert needing(a) == {a}


def test_a_person_reads_their_run_but_cannot_write_it(users) -> None:
    a, _ = users
    run_users([a], today())
    with user_scope(a, role=API_ROLE) as s:
        assert s.scalar(select(InsightRun.valid_until)) == today() + dt.timedelta(days=7)
    with pytest.raises(ProgrammingError, match="permission denied"), user_scope(a, role=API_ROLE) as s:
        s.execute(text("UPDATE insight_runs SET computed_at = now() + interval '1 year'"))
    with pytest.raises(ProgrammingError, match="permission denied"), user_scope(a, role=WORKER_ROLE) as s:
        s.execute(text("UPDATE insight_runs SET data_changed_at = NULL"))  # staleness is the triggers' to set
