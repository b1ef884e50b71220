"""``stet-conformance selftest``: the mutation matrix over every sandbox fault, then every
legitimate variant in certification mode."""

from __future__ import annotations

import argparse
import sys

from stet_conformance.cli.common import EXIT_FAILED, EXIT_OK, Commands
from stet_conformance.errors import UsageError


def register(commands: Commands[argparse.ArgumentParser]) -> None:
    selftest = commands.add_parser(
        "selftest",
        help="mutation matrix: every sandbox fault must fail some scenario, every variant pass",
        description="Run the scenarios against the conformant sandbox (all must pass), once "
        "per fault (each must make at least one scenario fail) and once per legitimate "
        "variant in certification mode (each must pass every scenario and suite).",
    )
    selftest.add_argument(
        "--fault",
        metavar="NAME",
        action="append",
        default=[],
        help="only these faults (repeatable; default: all)",
    )
    selftest.add_argument(
        "--variant",
        metavar="NAME",
        action="append",
        default=[],
        help="only these legitimate variants (repeatable; default: all)",
    )
    selftest.add_argument("-j", "--jobs", type=int, default=2, help="runs in parallel (default 2)")
    selftest.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from stet_conformance.sandbox.faults import FAULTS, parse_faults
    from stet_conformance.sandbox.variants import VARIANTS, parse_variants
    from stet_conformance.selftest import print_matrix, run_matrix

    try:
        faults = sorted(parse_faults(args.fault)) if args.fault else sorted(FAULTS)
    except ValueError as exc:
        raise UsageError(f"--fault: {exc}") from None
    try:
        variants = sorted(parse_variants(args.variant)) if args.variant else list(VARIANTS)
    except ValueError as exc:
        raise UsageError(f"--variant: {exc}") from None
    rows = run_matrix(faults, max(1, args.jobs), sys.stderr, variants)
    return EXIT_OK if print_matrix(rows, sys.stdout) else EXIT_FAILED
