"""Serve a provider sandbox until interrupted: `python -m integrations.sandbox oura [--port N] [--days N]`.

Prints the base URL and the client credentials to use, then serves on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import signal
import sys
import threading

from integrations.sandbox import SANDBOXES, SandboxConfig, start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m integrations.sandbox", description=__doc__)
    parser.add_argument("provider", choices=sorted(SANDBOXES))
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free port)")
    defaults = SandboxConfig()
    for field in dataclasses.fields(SandboxConfig):
        kind = type(getattr(defaults, field.name))
        if kind is bool:
            parser.add_argument(f"--{field.name.replace('_', '-')}", action="store_true", default=False)
        else:
            parser.add_argument(f"--{field.name.replace('_', '-')}", type=kind, default=getattr(defaults, field.name))
    args = parser.parse_args(argv)
    config = SandboxConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(SandboxConfig)})
    sandbox = start(args.provider, config, port=args.port)
    print(sandbox.url, flush=True)
    print(f"client_id={config.client_id} client_secret={config.client_secret}", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    with contextlib.suppress(KeyboardInterrupt):
        stopped.wait()
    sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
