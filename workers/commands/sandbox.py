"""`vitalis sandbox PROVIDER [--port N] [--days N]`: serve a provider's loopback sandbox until stopped.

The sandbox ships with the package (integrations.sandbox): an application developer points the
provider's VITALIS_<NAME>_* settings at it and integrates without real credentials.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import threading


def _sandbox(args: argparse.Namespace) -> int:
    from integrations.sandbox import SandboxConfig, start

    config = SandboxConfig(days=args.days)
    sandbox = start(args.provider, config, port=args.port)
    prefix = f"VITALIS_{args.provider.upper()}_"
    print(f"{args.provider} sandbox on {sandbox.url} (authorizations are approved at once)", flush=True)
    print("point Vitalis at it with:", flush=True)
    for name, value in (
        ("BASE_URL", sandbox.url),
        ("CLIENT_ID", config.client_id),
        ("CLIENT_SECRET", config.client_secret),
    ):
        print(f"  export {prefix}{name}={value}", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    with contextlib.suppress(KeyboardInterrupt):
        stopped.wait()
    sandbox.stop()
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    from integrations.sandbox import SANDBOXES

    parser = sub.add_parser("sandbox", help="serve a provider's sandbox API on 127.0.0.1 (for development)")
    parser.add_argument("provider", choices=sorted(SANDBOXES))
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free port)")
    parser.add_argument("--days", type=int, default=30, help="days of generated history per person")
    parser.set_defaults(func=_sandbox)
