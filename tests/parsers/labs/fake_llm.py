"""An OpenAI-compatible chat-completions server on loopback that answers from a script, for the LLM path.

Each request takes the next scripted step: ("answer", content), ("sleep", seconds, content) or
("status", code). Every request body is kept, so tests can assert on what was sent.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeLlm(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script: list[tuple] = []
        self.requests: list[dict] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def sent_text(self) -> str:
        return "\n".join(m["content"] for r in self.requests for m in r["messages"] if m["role"] == "user")


class _Handler(BaseHTTPRequestHandler):
    server: FakeLlm

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append(body)
        step = self.server.script.pop(0) if self.server.script else ("status", 500)
        if step[0] == "status":
            self._send(step[1], {"error": {"message": "scripted failure"}})
            return
        if step[0] == "sleep":
            time.sleep(step[1])
            step = ("answer", step[2])
        self._send(
            200,
            {
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "created": 0,
                "model": body["model"],
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": step[1]}, "finish_reason": "stop"}
                ],
            },
        )

    def _send(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (the timeout test)


@contextmanager
def fake_llm() -> Iterator[FakeLlm]:
    server = FakeLlm()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def answer(*results: dict) -> tuple[str, str]:
    return ("answer", json.dumps({"results": list(results)}))


def result(name: str, value: str, unit: str | None = None, reference: str | None = None, flag: str | None = None):
    return {"name": name, "value": value, "unit": unit, "reference_range": reference, "flag": flag}
