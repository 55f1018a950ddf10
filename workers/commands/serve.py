"""`vitalis serve [--host] [--port]`: the OAuth callback, webhook and push endpoint (see workers.web)."""

from __future__ import annotations

import argparse
import contextlib
import signal
import threading


def _serve(args: argparse.Namespace) -> int:
    from workers.web import make

    server = make(args.host, args.port)
    host, port = server.server_address[:2]
    print(f"serving on http://{host}:{port}", flush=True)
    print(f"  OAuth callbacks: http://{host}:{port}/oauth/<provider>/callback", flush=True)
    print(f"  webhooks:        http://{host}:{port}/webhooks/<provider>", flush=True)
    print(f"  Apple Health:    http://{host}:{port}/apple-health/push", flush=True)
    # serve_forever in a thread, so SIGTERM (docker stop) ends it as cleanly as Ctrl-C.
    thread = threading.Thread(target=server.serve_forever, name="serve", daemon=True)
    thread.start()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    with contextlib.suppress(KeyboardInterrupt):
        stopped.wait()
    server.shutdown()
    server.server_close()
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("serve", help="serve the OAuth callback, webhook and Apple Health push endpoint (WSGI)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0 behind a proxy)")
    parser.add_argument("--port", type=int, default=8080, help="port (0: any free one)")
    parser.set_defaults(func=_serve)
