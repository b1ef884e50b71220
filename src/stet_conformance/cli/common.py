"""What the commands share: exit codes and the bundled sandbox as a default target."""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

from stet_conformance.errors import UsageError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

# The object ``add_subparsers`` returns; argparse does not export a public name for it.
Commands = argparse._SubParsersAction


def start_sandbox(stack: ExitStack, faults: Sequence[str], directory: Path | None = None) -> Path:
    """Start the bundled sandbox for the duration of ``stack``; return its profile path.

    ``directory`` keeps its PKI and profile afterwards (to sign an evidence pack, say);
    by default they live in a temporary directory. A fault that only exists in a bank variant
    (``replay-accepted``: replay protection) starts the sandbox as that variant.
    """
    from stet_conformance.sandbox.faults import variant_options
    from stet_conformance.sandbox.server import SandboxServer

    if directory is None:
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="stet-sandbox-")))
    try:
        replay_protection = variant_options(faults).get("replay_protection", False)
        server = stack.enter_context(
            SandboxServer(directory, faults=faults, replay_protection=replay_protection)
        )
    except ValueError as exc:  # unknown fault name
        raise UsageError(f"--fault: {exc}") from None
    print(f"stet-conformance: bundled sandbox at {server.base_url}", file=sys.stderr)
    return Path(server.profile_path)
