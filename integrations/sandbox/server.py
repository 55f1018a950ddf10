"""The part every provider sandbox shares: a threaded HTTP server on loopback with OAuth 2.0 (authorize
that approves at once, code exchange, refresh with rotation and expiry, revoke), a per-application
request quota answered with 429s, injectable faults, and request counters tests can read.

The standard library's ThreadingHTTPServer is enough for this: a sandbox serves one developer or one
test run, must start in a thread inside a test in milliseconds, and must ship with the package without
pulling a web framework and an event loop into every install.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit


@dataclass
class SandboxConfig:
    client_id: str = "sandbox-client"
    client_secret: str = "sandbox-secret"  # a published fake credential
    days: int = 30  # days of generated history per person
    page_size: int = 10  # documents per page of daily collections
    series_page_size: int = 1000  # samples per page of time series
    access_token_ttl: int = 86_400  # Oura's stated lifetime is 24 h or 30 days: configurable
    strict_refresh: bool = True  # the previous refresh token dies when used (reported behaviour)
    code_ttl: int = 600
    quota_requests: int = 5000  # per application, over quota_window seconds (rolling)
    quota_window: float = 300.0
    timeout_seconds: float = 5.0  # how long a "timeout" fault holds the connection
    refresh_delay: float = 0.0  # extra seconds the token endpoint takes (widens race windows in tests)
    emit_meta: bool = False  # the `meta` field seen only in the newest specification


@dataclass
class Fault:
    kind: str  # "500", "timeout", "malformed", "expire", "429"
    path: str  # applies to request paths containing this
    times: int
    skip: int


@dataclass
class Grant:
    person: str
    scope: str
    expires_at: float
    app: str


@dataclass
class Stats:
    requests: Counter[str] = field(default_factory=Counter)
    refreshes: int = 0
    refresh_refusals: int = 0
    rate_limited: int = 0
    revocations: int = 0


class Sandbox:
    """One provider's sandbox. Subclasses route data requests (`handle_data`) and make people."""

    name = "sandbox"
    data_prefix = "/"
    authorize_path = "/oauth/authorize"
    token_path = "/oauth/token"
    revoke_path = "/oauth/revoke"

    def __init__(self, config: SandboxConfig | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.config = config or SandboxConfig()
        self.stats = Stats()
        self.lock = threading.RLock()
        self.codes: dict[str, tuple[Grant, str]] = {}
        self.access: dict[str, Grant] = {}
        self.refresh: dict[str, Grant] = {}
        self.faults: list[Fault] = []
        self.next_person: str | None = None
        self.people: dict[str, Any] = {}
        self._window: deque[float] = deque()
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # --- lifecycle ----------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Sandbox:
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"{self.name}-sandbox", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- controls for developers and tests ----------------------------------------------------------
    def inject(self, kind: str, path: str = "", *, times: int = 1, skip: int = 0) -> None:
        """Make the next `times` requests whose path contains `path` (after `skip` of them) fail."""
        with self.lock:
            self.faults.append(Fault(kind, path, times, skip))

    def revoke_person(self, person: str, *, access: bool = True) -> None:
        """The person withdrew consent at the provider: refresh tokens (and access tokens) stop working."""
        with self.lock:
            for store in (self.refresh, self.access) if access else (self.refresh,):
                for token in [t for t, g in store.items() if g.person == person]:
                    del store[token]

    def expire_access(self, person: str) -> None:
        with self.lock:
            for grant in self.access.values():
                if grant.person == person:
                    grant.expires_at = 0.0

    def person_of_access_token(self, token: str) -> str | None:
        grant = self.access.get(token)
        return grant.person if grant else None

    # --- to be provided by a provider's sandbox -----------------------------------------------------
    def new_person(self, person_id: str | None = None) -> str:
        """Make (or keep) a person with generated history; returns their provider user id."""
        raise NotImplementedError

    def handle_data(self, method: str, path: str, query: dict[str, str], grant: Grant) -> tuple[int, Any]:
        raise NotImplementedError

    def handle_app_route(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, Any] | None:
        """Routes authenticated as the application rather than a person (webhook subscriptions)."""
        return None

    def rate_limit_headers(self, retry_after: int, reset: float) -> dict[str, str]:
        return {"Retry-After": str(retry_after)}

    # --- request handling ---------------------------------------------------------------------------
    def take_fault(self, path: str) -> str | None:
        with self.lock:
            for fault in self.faults:
                if fault.path in path:
                    if fault.skip:
                        fault.skip -= 1
                        continue
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    return fault.kind
        return None

    def over_quota(self) -> tuple[int, float] | None:
        """None if this request fits the rolling window, else (Retry-After seconds, reset epoch)."""
        now = time.time()
        with self.lock:
            while self._window and self._window[0] <= now - self.config.quota_window:
                self._window.popleft()
            if len(self._window) >= self.config.quota_requests:
                reset = self._window[0] + self.config.quota_window
                self.stats.rate_limited += 1
                return max(1, int(reset - now + 0.999)), reset
            self._window.append(now)
        return None

    def authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str]]:
        redirect = query.get("redirect_uri", "")
        if query.get("client_id") != self.config.client_id or not redirect:
            return 400, {}
        state = {"state": query["state"]} if "state" in query else {}
        if query.get("response_type") != "code":
            return 302, {"Location": f"{redirect}?{urlencode({'error': 'unsupported_response_type', **state})}"}
        with self.lock:
            person = self.new_person(query.get("sandbox_person") or self.next_person)
            code = secrets.token_urlsafe(24)
            grant = Grant(person, query.get("scope", ""), time.time() + self.config.code_ttl, self.config.client_id)
            self.codes[code] = (grant, redirect)
        return 302, {"Location": f"{redirect}?{urlencode({'code': code, **state})}"}

    def token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if form.get("client_id") != self.config.client_id or form.get("client_secret") != self.config.client_secret:
            return 401, {"error": "invalid_client"}
        grant_type = form.get("grant_type")
        with self.lock:
            if grant_type == "authorization_code":
                grant, redirect = self.codes.pop(form.get("code", ""), (None, None))
                if grant is None or grant.expires_at < time.time():
                    return 400, {"error": "invalid_grant", "error_description": "authorization code expired or used"}
                if redirect != form.get("redirect_uri"):
                    return 400, {"error": "invalid_redirect_uri"}
            elif grant_type == "refresh_token":
                old = form.get("refresh_token", "")
                grant = self.refresh.get(old)
                if grant is None:
                    self.stats.refresh_refusals += 1
                    return 400, {"error": "invalid_grant", "error_description": "refresh token invalid or used"}
                if self.config.strict_refresh:
                    del self.refresh[old]
                self.stats.refreshes += 1
            else:
                return 400, {"error": "unsupported_grant_type"}
            access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
            ttl = self.config.access_token_ttl
            self.access[access] = Grant(grant.person, grant.scope, time.time() + ttl, grant.app)
            self.refresh[refresh] = Grant(grant.person, grant.scope, float("inf"), grant.app)
        if grant_type == "refresh_token" and self.config.refresh_delay:
            time.sleep(self.config.refresh_delay)
        body = {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": ttl,
            "refresh_token": refresh,
            "scope": grant.scope,
        }
        return 200, body

    def revoke(self, token: str) -> int:
        with self.lock:
            grant = self.access.pop(token, None)
            if grant is None:
                return 400
            self.stats.revocations += 1
            for other in [t for t, g in self.refresh.items() if g.person == grant.person]:
                del self.refresh[other]
        return 200

    def bearer(self, header: str | None) -> Grant | None:
        if not header or not header.lower().startswith("bearer "):
            return None
        grant = self.access.get(header[7:].strip())
        if grant is None or grant.expires_at <= time.time():
            return None
        return grant


def _handler_for(sandbox: Sandbox) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes; with Nagle on, keep-alive clients stall 40 ms per request.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass  # request lines carry tokens (revoke) and codes: never print them

        def do_GET(self) -> None:
            self._dispatch("GET")

        def do_POST(self) -> None:
            self._dispatch("POST")

        def do_PUT(self) -> None:
            self._dispatch("PUT")

        def do_DELETE(self) -> None:
            self._dispatch("DELETE")

        def _dispatch(self, method: str) -> None:
            parts = urlsplit(self.path)
            path = parts.path
            query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            with sandbox.lock:
                sandbox.stats.requests[path] += 1
            try:
                if path == sandbox.authorize_path and method == "GET":
                    status, headers = sandbox.authorize(query)
                    return self._send(status, None, headers)
                if path == sandbox.token_path and method == "POST":
                    form = {k: v[-1] for k, v in parse_qs(body.decode()).items()}
                    return self._send(*sandbox.token(form))
                if path == sandbox.revoke_path:
                    form = {k: v[-1] for k, v in parse_qs(body.decode()).items()}
                    token = query.get("access_token") or form.get("token", "")
                    return self._send(sandbox.revoke(token), {})
                app_route = sandbox.handle_app_route(method, path, self.headers, body)
                if app_route is not None:
                    return self._send(*app_route)
                self._data(method, path, query)
            except BrokenPipeError:
                pass

        def _data(self, method: str, path: str, query: dict[str, str]) -> None:
            fault = sandbox.take_fault(path)
            if fault == "timeout":
                time.sleep(sandbox.config.timeout_seconds)
                return self._send(504, {"detail": "Gateway Timeout"})
            if fault == "500":
                return self._send(500, {"detail": "Internal Server Error"})
            if fault == "expire":
                header = self.headers.get("Authorization", "")
                with sandbox.lock:
                    if (grant := sandbox.access.get(header[7:].strip())) is not None:
                        grant.expires_at = 0.0
            grant = sandbox.bearer(self.headers.get("Authorization"))
            if grant is None:
                return self._send(401, {"detail": "Invalid or expired authentication token"})
            limited = sandbox.over_quota()
            if fault == "429" and limited is None:
                with sandbox.lock:
                    sandbox.stats.rate_limited += 1
                limited = (max(1, int(sandbox.config.quota_window)), time.time() + sandbox.config.quota_window)
            if limited is not None:
                retry_after, reset = limited
                return self._send(
                    429, {"detail": "Rate limit exceeded"}, sandbox.rate_limit_headers(retry_after, reset)
                )
            status, payload = sandbox.handle_data(method, path, query, grant)
            if fault == "malformed":
                raw = json.dumps(payload, separators=(",", ":")).encode()
                return self._send_bytes(status, raw[: max(1, len(raw) // 2)], {})
            self._send(status, payload)

        def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
            raw = b"" if payload is None else json.dumps(payload, separators=(",", ":")).encode()
            self._send_bytes(status, raw, headers or {})

        def _send_bytes(self, status: int, raw: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            if raw:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.send_header("Cache-Control", "no-cache")
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(raw)

    return Handler


SandboxFactory = Callable[..., Sandbox]
