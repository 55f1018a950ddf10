"""`vitalis insights run [--user EMAIL]`: the nightly analysis by hand, in this process.

With --user, that person is analysed now whatever the state of their insights; without it, every user
whose insights are stale, never computed or expired, in batches as the nightly jobs do.
"""

from __future__ import annotations

import argparse
import datetime as dt
import uuid

SHOWN = 50  # rows of the table; the totals line counts everyone


def _emails(user_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    from sqlalchemy import text

    from db.engine import worker_scope

    with worker_scope() as session:
        rows = session.execute(text("SELECT user_id, email FROM users WHERE user_id = ANY(:ids)"), {"ids": user_ids})
        return {row.user_id: row.email for row in rows}


def _run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from workers.commands.users import find_user
    from workers.nightly_insights import UserRun, run_users, users_needing_run

    today = args.date or dt.datetime.now(dt.UTC).date()
    console = Console()
    if args.user:
        users, only_needing = [find_user(args.user)], False
    else:
        users, only_needing = users_needing_run(today), True
        if not users:
            console.print(f"every user's insights are up to date for {today}")
            return 0
    runs: list[UserRun] = []
    with Progress(console=console, transient=True) as progress:
        bar = progress.add_task("analysing", total=len(users))
        for start in range(0, len(users), args.batch_size):
            batch = users[start : start + args.batch_size]
            report = run_users(batch, today, only_needing=only_needing, on_user=lambda *_: progress.advance(bar))
            runs.extend(report.users)
            progress.update(bar, completed=start + len(batch))

    emails = _emails([r.user_id for r in runs[:SHOWN]])
    table = Table("user", title=f"insights for {today}")
    for name in ("written", "updated", "kept", "retired", "dismissed", "alerts"):
        table.add_column(name, justify="right")
    table.add_column("note")
    totals = [0] * 6
    for r in runs:
        s = r.stored
        row = (s.inserted, s.updated, s.unchanged, s.deleted, s.suppressed, s.alerts) if s else (0,) * 6
        totals = [a + b for a, b in zip(totals, row, strict=True)]
        if len(table.rows) < SHOWN:
            note = r.error or ("" if r.marked else "data changed during the run: stays stale")
            table.add_row(emails.get(r.user_id, str(r.user_id)), *map(str, row), note)
    if len(runs) > SHOWN:
        table.add_row(f"… {len(runs) - SHOWN} more", *("" for _ in range(7)))
    table.add_section()
    table.add_row(f"{len(runs)} users", *map(str, totals), f"{sum(r.error is not None for r in runs)} failed")
    console.print(table)
    console.print("written: new insights · kept: unchanged · retired: no longer hold · dismissed: found again "
                  "but stay hidden · alerts: goal alerts fired")  # fmt: skip
    return 1 if any(r.error for r in runs) else 0


def register(sub: argparse._SubParsersAction) -> None:
    insights = sub.add_parser("insights", help="correlations, trends and goal alerts")
    insights_sub = insights.add_subparsers(dest="insights_command", required=True)
    run = insights_sub.add_parser("run", help="run the nightly analysis now (one person, or everyone due)")
    run.add_argument("--user", metavar="EMAIL", help="this person only, due or not")
    run.add_argument("--date", type=dt.date.fromisoformat, metavar="YYYY-MM-DD", help="the night to compute (today)")
    run.add_argument("--batch-size", type=int, default=100, help="users loaded together (default 100)")
    run.set_defaults(func=_run)
