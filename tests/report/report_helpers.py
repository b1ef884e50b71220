"""Helpers of the report and evidence tests: the CLI in a child process, runs, rendering."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cli_run import cli

CHROMIUM = Path("/usr/bin/chromium")


def make_results(
    dest: Path, profile: Path, env: Mapping[str, str] | None = None, expect: int = 0
) -> Path:
    """A results directory from a real run (``run --results``) against ``profile``."""
    done = cli("run", "--target", str(profile), "--results", str(dest), env=env)
    assert done.returncode == expect, done.stdout[-3000:] + done.stderr[-3000:]
    return dest


@dataclass(frozen=True)
class Run:
    """One finished run: its results directory and the profile (with keys) it ran with."""

    results: Path
    profile: Path
    sandbox_dir: Path


def render(chromium: Path, html: Path, profile_dir: Path, fragment: str = "") -> str:
    """The DOM of ``html`` after its scripts ran, in a real headless Chromium, offline."""
    if profile_dir.exists():
        shutil.rmtree(profile_dir)
    url = html.resolve().as_uri() + (f"#{fragment}" if fragment else "")
    done = subprocess.run(
        [
            str(chromium),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile_dir}",
            "--virtual-time-budget=15000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout
