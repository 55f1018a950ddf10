"""The HTTP endpoint a deployment mounts for providers to call back, and for a person's phone to push.

    GET        /oauth/<provider>/callback   finish an authorization, then queue its backfill
    GET, POST  /webhooks/<provider>         answer the subscription challenge; verify a delivery, then
                                            queue the targeted sync it names
    POST       /apple-health/push           a Health Auto Export push (`Authorization: Bearer <token>`,
                                            a token of `vitalis users token`): stored as the person's
                                            document, then imported by a job; 202 with the job's id
    GET        /healthz                     200 while the process serves

A plain WSGI application (PEP 3333), served by `vitalis serve` on the standard library's threaded
server, or mounted in any WSGI server (gunicorn, uWSGI) or, through a WSGI adapter, an ASGI one. WSGI
because every route is a few blocking calls (a token exchange, a row, an enqueue) that the integrations
layer already makes synchronously: an event loop would only hand them to a thread pool, and a web
framework would add a dependency for four routes. The routes stay thin: the work is
`integrations.oauth`, `integrations.webhooks` and `workers.sync_tasks`.

Answers never carry a token, a code or a health value; a refused callback says why in a sentence.
"""

from __future__ import annotations

import contextlib
import html
import json
import logging
import os
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
PUSH_MAX_BYTES = 32 << 20  # a week of metrics by the minute, with heart rate by the second, is a few MB


def push_limit() -> int:
    return int(os.environ.get("VITALIS_PUSH_MAX_BYTES") or PUSH_MAX_BYTES)


PAGE = "<!doctype html><meta charset=utf-8><title>Vitalis</title><p>{}</p>"


def _reply(start: Start, status: int, body: bytes, content_type: str) -> Iterable[bytes]:
    reason = {
        200: "OK",
        202: "Accepted",
        400: "Bad Request",
        401: "Unauthorized",
        404: "Not Found",
        405: "Method Not Allowed",
        413: "Content Too Large",
    }
    headers = [("Content-Type", content_type), ("Content-Length", str(len(body))), ("Cache-Control", "no-store")]
    if status == 401:
        headers.append(("WWW-Authenticate", 'Bearer realm="vitalis"'))
    start(f"{status} {reason.get(status, 'Error')}", headers)
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
    if parts == ["apple-health", "push"]:
        if method != "POST":
            return _json(start, 405, {"error": "a push is a POST"})
        return _push(environ, start)
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


def _push(environ: dict[str, Any], start: Start) -> Iterable[bytes]:
    from db.apple_health_documents import store_push
    from db.models.enums import ParseStatus
    from db.push_tokens import authenticate
    from parsers.apple_health.push import PushError, parse_push
    from workers.apple_tasks import active_import, enqueue_push

    scheme, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
    user_id = authenticate(token) if scheme.lower() == "bearer" and token else None
    if user_id is None:
        # One answer for a missing, malformed, unknown or revoked token: nothing to tell them apart.
        return _json(start, 401, {"error": "a valid push token is required (Authorization: Bearer <token>)"})
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _json(start, 400, {"error": "the Content-Length header is not a number"})
    if length > push_limit():
        return _json(start, 413, {"error": f"the body is larger than the {push_limit():,} bytes a push may be"})
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    try:
        parse_push(body)
    except PushError as exc:
        return _json(start, 400, {"error": str(exc)})
    document = store_push(user_id, body)
    answer: dict[str, Any] = {"document_id": str(document.document_id)}
    if document.status is ParseStatus.PARSED:
        # The same body again: imported already, and importing it again would change nothing.
        return _json(start, 200, {**answer, "status": "imported already"})
    running = active_import(user_id, document.document_id)
    if running is not None:
        return _json(start, 202, {**answer, "job_id": str(running), "status": "being imported"})
    try:
        job_id = enqueue_push(user_id, document.document_id)
    except BrokerUnavailable as exc:  # the job row is saved: the sweeper sends it once the broker is back
        job_id = exc.job_id
    log.info("apple health push stored for user %s; job %s queued", user_id, job_id)
    return _json(start, 202, {**answer, "job_id": str(job_id), "status": "queued"})


class _Quiet(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # The request line of a callback carries the authorization code: log the path only.
        log.info('"%s %s" %s', self.command, self.path.split("?")[0], code)


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a slow provider call must not hold up the next callback


def make(host: str = "127.0.0.1", port: int = 8080) -> WSGIServer:
    return make_server(host, port, application, server_class=ThreadingWSGIServer, handler_class=_Quiet)
