"""`vitalis import KIND PATH --user EMAIL`: one parent command, one module per kind of file."""

from __future__ import annotations

import argparse
import importlib

# Each module exposes register(import_subparsers).
KINDS: tuple[str, ...] = ("workers.commands.import_lab", "workers.commands.import_apple_health")


def register(sub: argparse._SubParsersAction) -> None:
    if not KINDS:
        return
    parser = sub.add_parser("import", help="bring a file in for a person (lab report, Apple Health export)")
    kinds = parser.add_subparsers(dest="import_kind", required=True)
    for name in KINDS:
        importlib.import_module(name).register(kinds)
