"""The HTTP endpoint a deployment mounts for providers to call back: OAuth callbacks and webhooks.

    GET        /oauth/<provider>/callback   finish an authorization, then queue its backfill
    GET, POST  /webhooks/<provider>         answer the subscription challenge; verify a delivery, then
                                            queue the targeted sync it names
    GET        /healthz                     200 while the process serves

A plain WSGI application (PEP 3333), served by `vitalis serve` on the standard library's threaded
server, or mounted in any WSGI server (gunicorn, uWSGI) or, through a WSGI adapter, an ASGI one. WSGI
because every route is a few blocking calls (a token exchange, a row, an enqueue) that the integrations
layer already makes synchronously: an event loop would only hand them to a thread pool, and a web
framework would add a dependency for three routes. The routes stay thin: the work is
`integrations.oauth`, `integrations.webhooks` and `workers.sync_tasks`.

Answers never carry a token, a code or a health value; a refused callback says why in a sentence.
"""

from __future__ import annotations

import contextlib
import html
import json
import logging
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from integrations.errors import ConnectionUnusable, ProviderError, WebhookRefused
from integrations.registry import PROVIDERS
from workers.delivery import BrokerUnavailable

log = logging.getLogger(__name__)

Start = Callable[..., Any]
MAX_BODY = 1 << 20  # a webhook event is a few hundred bytes
PAGE = "<!doctype html><meta charset=utf-8><title>Vitalis</title><p>{}</p>"


def _reply(start: Start, status: int, body: bytes, content_type: str) -> Iterable[bytes]:
    reason = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed"}
    start(
        f"{status} {reason.get(status, 'Error')}",
        [("Content-Type", content_type), ("Content-Length", str(len(body))), ("Cache-Control", "no-store")],
    )
    return [body]


def _json(start: Start, status: int, payload: dict[str, Any]) -> Iterable[bytes]:
    return _reply(start, status, json.dumps(payload).encode(), "application/json")


def _page(start: Start, status: int, text: str) -> Iterable[bytes]:
    return _reply(start, status, PAGE.format(html.escape(text)).encode(), "text/html; charset=utf-8")


def application(environ: dict[str, Any], start: Start) -> Iterable[bytes]:
    parts = [p for p in environ.get("PATH_INFO", "").split("/") if p]
    method = environ.get("REQUEST_METHOD", "GET").upper()
    if parts == ["healthz"]:
        return _json(start, 200, {"ok": True})
    if len(parts) == 3 and parts[0] == "oauth" and parts[2] == "callback" and parts[1] in PROVIDERS:
        if method != "GET":
            return _json(start, 405, {"error": "the callback is a GET"})
        return _callback(environ, start, parts[1])
    if len(parts) == 2 and parts[0] == "webhooks" and parts[1] in PROVIDERS:
        return _webhook(environ, start, parts[1], method)
    return _json(start, 404, {"error": "not found"})


def _query(environ: dict[str, Any]) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}


def _callback(environ: dict[str, Any], start: Start, provider: str) -> Iterable[bytes]:
    from workers.sync_tasks import connect_and_backfill

    query = _query(environ)
    name = provider.capitalize()
    try:
        connected, job_id = connect_and_backfill(query.get("state", ""), query.get("code"), error=query.get("error"))
    except BrokerUnavailable:
        # The connection is stored and the job row saved: the sweeper sends it once the broker is back.
        return _page(start, 200, f"{name} is connected. Your history will be fetched shortly.")
    except ProviderError as exc:
        return _page(start, 400, f"{name} could not be connected: {exc}")
    log.info("%s connected for user %s; backfill job %s queued", provider, connected.user_id, job_id)
    return _page(start, 200, f"{name} is connected. Your history is being fetched.")


def _webhook(environ: dict[str, Any], start: Start, provider: str, method: str) -> Iterable[bytes]:
    from integrations.apps import app_from_env
    from integrations.webhooks import receive
    from workers.sync_tasks import enqueue_webhook_sync

    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY:
        return _json(start, 400, {"error": "the body is larger than any event"})
    body = environ["wsgi.input"].read(length) if length else b""
    headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    try:
        reply = receive(app_from_env(provider), method, headers, body, _query(environ))
    except WebhookRefused as exc:
        log.warning("%s webhook refused: %s", provider, exc)
        return _json(start, exc.status, {"error": str(exc)})
    except ConnectionUnusable as exc:  # this deployment has no app registered with the provider
        return _json(start, 404, {"error": str(exc)})
    if reply.sync is not None:
        # A broker that is away: the job row is saved and the sweeper sends it; the provider need not retry.
        with contextlib.suppress(BrokerUnavailable):
            enqueue_webhook_sync(reply.sync)
    return _json(start, reply.status, reply.body)


class _Quiet(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # The request line of a callback carries the authorization code: log the path only.
        log.info('"%s %s" %s', self.command, self.path.split("?")[0], code)


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a slow provider call must not hold up the next callback


def make(host: str = "127.0.0.1", port: int = 8080) -> WSGIServer:
    return make_server(host, port, application, server_class=ThreadingWSGIServer, handler_class=_Quiet)
