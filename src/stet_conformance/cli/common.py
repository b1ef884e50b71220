"""What the commands share: exit codes and the bundled sandbox as a default target."""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from stet_conformance.errors import UsageError

if TYPE_CHECKING:
    from stet_conformance.sandbox.server import SandboxServer

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


class BundledSandbox:
    """The bundled sandbox, starting in a thread while pytest starts and collects (making its
    PKI's keys releases the GIL). Its profile's path is known at once; ``wait()`` returns it
    once the sandbox serves, and is due before the first request.

    The names of faults and variants are checked at once (exit 2), and ``stack`` waits for the
    thread, then stops the sandbox.
    """

    def __init__(
        self,
        stack: ExitStack,
        faults: Sequence[str],
        directory: Path | None = None,
        variants: Sequence[str] = (),
        latency: float = 0,
    ) -> None:
        from stet_conformance.sandbox import PROFILE_FILE
        from stet_conformance.sandbox.faults import parse_faults
        from stet_conformance.sandbox.variants import parse_variants

        try:
            parse_faults(faults)
            parse_variants(variants)
        except ValueError as exc:  # unknown fault or variant name
            option = "--variant" if "variant" in str(exc) else "--fault"
            raise UsageError(f"{option}: {exc}") from None
        if directory is None:
            temporary = tempfile.TemporaryDirectory(prefix="stet-sandbox-")
            directory = Path(stack.enter_context(temporary))
        self.profile = directory / PROFILE_FILE
        self._started: SandboxServer | BaseException = RuntimeError("the sandbox did not start")
        self._announced = False
        own = ExitStack()
        stack.callback(own.close)
        args = (own, directory, faults, variants, latency)
        self._thread = threading.Thread(target=self._start, args=args, daemon=True)
        stack.callback(self._thread.join)  # before ``own`` closes: the stack runs backwards
        self._thread.start()

    def _start(
        self,
        own: ExitStack,
        directory: Path,
        faults: Sequence[str],
        variants: Sequence[str],
        latency: float,
    ) -> None:
        try:  # the PKI first: its keys are made outside the GIL, beside pytest's own start
            from stet_conformance.sandbox import PKI_DIR
            from stet_conformance.sandbox.pki import ensure_pki

            ensure_pki(directory / PKI_DIR)
            from stet_conformance.sandbox import server  # only runs without --target need it

            self._started = server.start_sandbox(own, faults, directory, variants, latency)
        except BaseException as exc:  # handed to the thread that waits
            self._started = exc

    def wait(self) -> Path:
        """The profile's path once the sandbox serves (its start's error, if it failed)."""
        self._thread.join()
        started = self._started
        if isinstance(started, BaseException):
            raise started
        if not self._announced:
            self._announced = True
            print(f"stet-conformance: bundled sandbox at {started.base_url}", file=sys.stderr)
        return self.profile
