"""The HTTP library authlib's client is built on, and keeping tokens out of its logs.

authlib's httpx integration runs on httpx2 when it is installed and on httpx otherwise; the exception
classes come from the same one. httpx logs every request line at INFO, and some providers put a token
in the query string (Oura's revoke route), so those values are masked before any handler sees them.
"""

from __future__ import annotations

import logging
import re

try:
    import httpx2 as httpx
except ImportError:  # authlib falls back the same way
    import httpx  # type: ignore[no-redef]

HTTPStatusError = httpx.HTTPStatusError
TransportError = httpx.TransportError

_SECRET_PARAMS = re.compile(r"((?:access_token|refresh_token|token|code|client_secret)=)[^&\s'\"]+", re.IGNORECASE)


def redact(text: str) -> str:
    return _SECRET_PARAMS.sub(r"\1[redacted]", text)


class _RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


_FILTER = _RedactTokens()


def redact_token_urls() -> None:
    """Mask token-like query parameters in the HTTP libraries' own log records (idempotent)."""
    # A logger's filters see only its own records, not its children's: name every logger that writes.
    children = ("connection", "http11", "http2", "proxy", "socks")
    names = ["httpx", "httpx2"] + [f"{core}.{child}" for core in ("httpcore", "httpcore2") for child in children]
    for name in names:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
