"""``stet-conformance``: one sub-command per module of this package.

Each command module has ``register(commands)`` that adds its argparse sub-parser and sets
``handler``. Exit codes: 0 success, 1 scenarios failed, 2 usage or configuration error (one line
on stderr, no traceback), 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from stet_conformance import __version__
from stet_conformance.cli import doctor, evidence, init, login, report, run, sandbox, selftest
from stet_conformance.cli.common import EXIT_INTERRUPTED, EXIT_USAGE, Commands
from stet_conformance.errors import UsageError

COMMANDS = (run, sandbox, selftest, report, evidence, init, doctor, login)


# What a mistyped option of a command gets besides its usage.
HINTS = {"run": "pytest options go after --, e.g. run -- -x --maxfail 3"}


def _build() -> tuple[argparse.ArgumentParser, Commands[argparse.ArgumentParser]]:
    parser = argparse.ArgumentParser(
        prog="stet-conformance",
        description="Conformance tests for banks' STET PSD2 (v1.4.x) APIs.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.register(commands)
    return parser, commands


def build_parser() -> argparse.ArgumentParser:
    return _build()[0]


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line; an unknown option gets its command's usage and hint (exit 2)."""
    parser, commands = _build()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        hint = HINTS.get(args.command)
        message = f"unrecognized arguments: {' '.join(unknown)}"
        commands.choices[args.command].error(f"{message} ({hint})" if hint else message)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    try:
        code: int = args.handler(args)
    except UsageError as exc:
        print(f"stet-conformance: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return code
