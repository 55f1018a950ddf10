"""Loopback sandboxes of the providers' APIs, for developers without credentials and for the tests.

from integrations.sandbox import start
with start("oura") as sandbox:      # a real HTTP server on 127.0.0.1
    print(sandbox.url)
"""

from __future__ import annotations

from typing import Any

from integrations.sandbox.oura import OuraSandbox
from integrations.sandbox.server import Sandbox, SandboxConfig

SANDBOXES: dict[str, type[Sandbox]] = {"oura": OuraSandbox}


def start(provider: str, config: SandboxConfig | None = None, **options: Any) -> Sandbox:
    """Start `provider`'s sandbox on a free loopback port (or `port=`), serving in a background thread."""
    try:
        factory = SANDBOXES[provider]
    except KeyError:
        raise KeyError(f"no sandbox for {provider!r}; sandboxes: {', '.join(sorted(SANDBOXES))}") from None
    return factory(config, **options).start()


__all__ = ["SANDBOXES", "Sandbox", "SandboxConfig", "start"]
