"""``stet-conformance doctor``: is this profile ready for a run? One line per check.

Exit 0 when nothing failed (warnings allowed), 1 on any FAIL, 2 when the profile file is missing.
Colour only on a terminal (and never with ``NO_COLOR``), so CI logs stay plain.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from stet_conformance.cli.common import EXIT_FAILED, EXIT_OK, Commands

if TYPE_CHECKING:  # imported when the command runs: every other command starts faster
    from stet_conformance.onboarding.doctor import Check

_COLOURS = {"ok": "\033[32m", "warn": "\033[33m", "FAIL": "\033[31m"}
_RESET = "\033[0m"


def register(commands: Commands[argparse.ArgumentParser]) -> None:
    doctor = commands.add_parser(
        "doctor",
        help="check a target profile: files, keys, certificates, keyId, tokens (and TLS)",
        description="Check a target profile without sending API requests. --connect also opens "
        "one mTLS connection to the bank and sends one unsigned GET of the API prefix.",
    )
    doctor.add_argument(
        "--target",
        metavar="PROFILE",
        type=Path,
        default=Path("profile.yaml"),
        help="target profile (default: profile.yaml)",
    )
    doctor.add_argument(
        "--connect",
        action="store_true",
        help="also check the server certificate and the mTLS handshake (one connection)",
    )
    doctor.set_defaults(handler=handle)


def render(check: Check, colour: bool) -> str:
    line = check.line()
    if not colour:
        return line
    status = f"{check.status:<4}"
    return f"{_COLOURS[check.status]}{status}{_RESET}{line[len(status) :]}"


def handle(args: argparse.Namespace) -> int:
    from stet_conformance.onboarding.doctor import diagnose

    checks = diagnose(args.target, connect=args.connect)
    colour = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    for check in checks:
        print(render(check, colour))
    failed = sum(c.status == "FAIL" for c in checks)
    warned = sum(c.status == "warn" for c in checks)
    print(f"{len(checks)} checks: {failed} failed, {warned} warnings")
    return EXIT_FAILED if failed else EXIT_OK
