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
from stet_conformance.cli.common import EXIT_INTERRUPTED, EXIT_USAGE
from stet_conformance.errors import UsageError

COMMANDS = (run, sandbox, selftest, report, evidence, init, doctor, login)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stet-conformance",
        description="Conformance tests for banks' STET PSD2 (v1.4.x) APIs.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.handler(args)
    except UsageError as exc:
        print(f"stet-conformance: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return code
