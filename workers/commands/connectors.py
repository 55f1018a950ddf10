"""`vitalis connect|disconnect|sync PROVIDER --user EMAIL`: a person's wearable connections from a terminal.

`connect` follows RFC 8252 for native apps: the redirect URI is http://127.0.0.1:PORT/callback and a
one-shot listener on that loopback address catches the provider's redirect, so nothing is copied by
hand and no server has to be reachable from the internet. The provider must accept a loopback
redirect (Oura wants it registered: `--port` fixes the port to the one registered).
"""

from __future__ import annotations

import argparse
import threading
import time
import uuid
import webbrowser
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

CALLBACK_PATH = "/callback"
PAGE = "<!doctype html><meta charset=utf-8><title>Vitalis</title><p>{}</p>"


@dataclass
class Callback:
    """What the one-shot listener caught, and what the person's browser is told."""

    query: dict[str, str] = field(default_factory=dict)
    received: threading.Event = field(default_factory=threading.Event)
    answered: threading.Event = field(default_factory=threading.Event)
    reply: str = ""


class LoopbackListener:
    """A one-shot HTTP listener on 127.0.0.1 for the authorization callback (RFC 8252 §7.3)."""

    def __init__(self, port: int = 0) -> None:
        self.callback = Callback()
        callback = self.callback

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass  # the query holds an authorization code: never logged

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != CALLBACK_PATH or callback.received.is_set():
                    self.send_error(404)
                    return
                callback.query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                callback.received.set()
                callback.answered.wait(60)  # the browser shows how the connection ended
                body = PAGE.format(callback.reply or "Vitalis received the answer.").encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = HTTPServer(("127.0.0.1", port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="oauth-callback", daemon=True)

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{CALLBACK_PATH}"

    def __enter__(self) -> LoopbackListener:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.callback.answered.set()
        self._server.shutdown()
        self._server.server_close()

    def wait(self, timeout: float) -> dict[str, str]:
        if not self.callback.received.wait(timeout):
            raise TimeoutError(f"no authorization arrived within {timeout:.0f} seconds; run the command again")
        return self.callback.query

    def answer(self, text: str) -> None:
        self.callback.reply = text
        self.callback.answered.set()


def _connect(args: argparse.Namespace) -> int:
    from integrations.oauth import begin_connect
    from workers.commands.users import find_user
    from workers.sync_tasks import connect_and_backfill

    user_id = find_user(args.user)
    with LoopbackListener(args.port) as listener:
        request = begin_connect(user_id, args.provider, redirect_uri=listener.redirect_uri)
        print(f"Open this address to let Vitalis read your {args.provider} data:\n{request.url}", flush=True)
        if args.open:
            webbrowser.open(request.url)
        query = listener.wait(args.timeout)
        try:
            connected, job_id = connect_and_backfill(
                query.get("state", ""), query.get("code"), error=query.get("error"), expected_user=user_id
            )
        except Exception as exc:
            listener.answer(f"Connecting failed: {exc}. You can close this window.")
            raise
        listener.answer(f"{args.provider.capitalize()} is connected. You can close this window.")
    account = f" (their {args.provider} id: {connected.external_user_id})" if connected.external_user_id else ""
    print(f"{args.provider} connected for {args.user}{account}; backfill job {job_id} queued (see `vitalis jobs`)")
    return 0


def _disconnect(args: argparse.Namespace) -> int:
    from integrations.oauth import disconnect
    from workers.commands.users import find_user

    result = disconnect(find_user(args.user), args.provider)
    if not result["connected"] and not result["revoked"] and result.get("reason") is None:
        print(f"{args.provider} was not connected for {args.user}")
        return 0
    state = "revoked at the provider" if result["revoked"] else f"not confirmed by the provider ({result['reason']})"
    print(f"{args.provider} disconnected for {args.user}: access {state}; the synced data is kept")
    return 0


def _sync(args: argparse.Namespace) -> int:
    from workers.commands.users import find_user
    from workers.sync_tasks import enqueue_sync

    user_id = find_user(args.user)
    job_id = enqueue_sync(user_id, args.provider, start=args.since)
    what = f"since {args.since.isoformat()}" if args.since else "from where the last sync stopped"
    print(f"sync of {args.provider} {what} queued as job {job_id}")
    if not args.wait:
        return 0
    return _follow(job_id, args.timeout)


def _follow(job_id: uuid.UUID, timeout: float) -> int:
    from rich.console import Console

    from db import jobs
    from db.engine import worker_scope
    from db.models.enums import JobStatus

    console = Console()
    deadline = time.monotonic() + timeout
    with console.status("waiting for a worker…") as status:
        while True:
            with worker_scope() as session:
                job = jobs.get(session, job_id)
            if job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELED):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} is still {job.status.value}; follow it with `vitalis jobs`")
            note = (job.result or {}).get("summary") if job.status is JobStatus.RUNNING else None
            status.update(
                f"job {job.status.value} (attempt {job.attempts} of {job.max_attempts}){': ' + note if note else ''}…"
            )
            time.sleep(0.5)
    if job.status is not JobStatus.SUCCEEDED:
        raise RuntimeError(f"the sync failed: {job.error_message}")
    _print_report(console, job.result or {})
    return 0


def _print_report(console: Any, result: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table("resource", "requested", "fetched", "days with data", "new rows")
    for r in result.get("resources", []):
        span = lambda pair: f"{pair[0]} … {pair[1]}" if pair else ""  # noqa: E731 (two uses, one line)
        new = sum(t.get("inserted", 0) for t in r.get("rows", {}).values())
        table.add_row(
            r["resource"], span(r.get("requested")), span(r.get("fetched")), str(r["days_with_data"]), str(new)
        )
    console.print(table)
    for warning in result.get("warnings", []):
        console.print(f"[yellow]warning:[/yellow] {warning}")


def register(sub: argparse._SubParsersAction) -> None:
    from integrations.registry import PROVIDERS

    providers = sorted(PROVIDERS)
    connect = sub.add_parser("connect", help="connect a person's wearable account (OAuth in the browser)")
    connect.add_argument("provider", choices=providers)
    connect.add_argument("--user", required=True, metavar="EMAIL")
    connect.add_argument("--port", type=int, default=0, help="loopback port for the callback (default: any free one)")
    connect.add_argument("--open", action="store_true", help="open the authorization page in a browser")
    connect.add_argument("--timeout", type=float, default=600, help="seconds to wait for the authorization")
    connect.set_defaults(func=_connect)

    disconnect = sub.add_parser("disconnect", help="revoke a person's connection; the synced data stays")
    disconnect.add_argument("provider", choices=providers)
    disconnect.add_argument("--user", required=True, metavar="EMAIL")
    disconnect.set_defaults(func=_disconnect)

    sync = sub.add_parser("sync", help="queue a sync of a person's connection")
    sync.add_argument("provider", choices=providers)
    sync.add_argument("--user", required=True, metavar="EMAIL")
    sync.add_argument("--since", type=date.fromisoformat, metavar="YYYY-MM-DD", help="re-fetch from this day")
    sync.add_argument("--wait", action="store_true", help="wait for the job and show its report")
    sync.add_argument("--timeout", type=float, default=600, help="seconds --wait waits")
    sync.set_defaults(func=_sync)
