"""The CLI as a user runs it, for every test folder: a child process of this interpreter, output
captured, never a shell."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path


def cli_command(*args: str) -> list[str]:
    """The command line of ``stet-conformance ARGS``, for a test that starts it itself (a
    process it reads or interrupts while it runs)."""
    return [sys.executable, "-m", "stet_conformance.cli", *args]


def cli(
    *args: str,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """``stet-conformance ARGS`` (exit code, stdout, stderr); ``env`` adds to the environment."""
    return subprocess.run(
        cli_command(*args),
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        timeout=timeout,
        env={**os.environ, **env} if env else None,
    )
