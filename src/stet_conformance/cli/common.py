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


def start_sandbox(
    stack: ExitStack,
    faults: Sequence[str],
    directory: Path | None = None,
    variants: Sequence[str] = (),
) -> Path:
    """Start the bundled sandbox for the duration of ``stack``; return its profile path.

    ``directory`` keeps its PKI and profile afterwards; see ``sandbox.server.start_sandbox``.
    """
    from stet_conformance.sandbox import server  # only runs without --target need it

    try:
        sandbox = server.start_sandbox(stack, faults, directory, variants)
    except ValueError as exc:  # unknown fault or variant name
        option = "--variant" if "variant" in str(exc) else "--fault"
        raise UsageError(f"{option}: {exc}") from None
    print(f"stet-conformance: bundled sandbox at {sandbox.base_url}", file=sys.stderr)
    return Path(sandbox.profile_path)
