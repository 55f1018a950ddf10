"""Subcommands of `vitalis`, one module per area; each exposes `register(subparsers)`.

`workers.cli` stays a thin dispatcher: a new area is one module here and one line in AREAS.
"""

from __future__ import annotations

import importlib
from argparse import _SubParsersAction

AREAS = (
    "workers.commands.users",
    "workers.commands.imports",
    "workers.commands.insights",
    "workers.commands.connectors",
    "workers.commands.sandbox",
    "workers.commands.serve",
)


def register_all(sub: _SubParsersAction) -> None:
    for name in AREAS:
        importlib.import_module(name).register(sub)
