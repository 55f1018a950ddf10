"""Every provider Vitalis can connect to, by name. A new provider is one module and one line here."""

from __future__ import annotations

from collections.abc import Mapping

from integrations import oura
from integrations.provider import Provider

PROVIDERS: Mapping[str, Provider] = {
    oura.PROVIDER.name: oura.PROVIDER,
}


def get_provider(name: str) -> Provider:
    try:
        return PROVIDERS[name]
    except KeyError:
        known = ", ".join(sorted(PROVIDERS))
        raise KeyError(f"unknown provider {name!r}; known providers: {known}") from None
