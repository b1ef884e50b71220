"""What the commands share: exit codes and the bundled sandbox as a default target."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

from stet_conformance.errors import UsageError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

# The object ``add_subparsers`` returns; argparse does not export a public name for it.
Commands = argparse._SubParsersAction


def latency_ms(value: str) -> float:
    """``--latency-ms``: milliseconds >= 0 (argparse turns the error into a usage line)."""
    from stet_conformance.sandbox.latency import check_latency

    try:
        return check_latency(float(value))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of milliseconds >= 0: {value!r}") from None


def add_latency_option(parser: argparse.ArgumentParser, scope: str) -> None:
    """The sandbox's injected response delay, as ``sandbox`` and ``run`` both offer it."""
    parser.add_argument(
        "--latency-ms",
        metavar="MS",
        type=latency_ms,
        default=0.0,
        help=f"{scope}answer every request MS milliseconds late, like a bank across a "
        "network (default: 0)",
    )


def start_sandbox(
    stack: ExitStack,
    faults: Sequence[str],
    directory: Path | None = None,
    variants: Sequence[str] = (),
    latency: float = 0,
) -> Path:
    """Start the bundled sandbox for the duration of ``stack``; return its profile path.

    ``directory`` keeps its PKI and profile afterwards; see ``sandbox.server.start_sandbox``.
    """
    from stet_conformance.sandbox import server  # only runs without --target need it

    try:
        sandbox = server.start_sandbox(stack, faults, directory, variants, latency)
    except ValueError as exc:  # unknown fault or variant name
        option = "--variant" if "variant" in str(exc) else "--fault"
        raise UsageError(f"{option}: {exc}") from None
    print(f"stet-conformance: bundled sandbox at {sandbox.base_url}", file=sys.stderr)
    return Path(sandbox.profile_path)
