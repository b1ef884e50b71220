"""Every way of starting the bundled sandbox starts the bank variant its faults need.

``replay-accepted`` only means something in the replay-protection variant: started without it,
SEC-REPLAY is skipped and the fault goes unnoticed. ``stet-conformance run``, ``stet-conformance
sandbox`` and plain ``pytest --stet-fault`` all go through ``SandboxServer``, which switches the
variant on.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from stet_conformance.sandbox.server import SandboxServer

ROOT = Path(__file__).resolve().parents[2]


def _pytest(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", *args, "-q", "-rfs", "-p", "no:cacheprovider"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=300,
    )


def test_a_fault_of_a_variant_starts_the_variant(sandbox: SandboxServer, tmp_path: Path) -> None:
    shutil.copytree(sandbox.pki.directory, tmp_path / "pki")
    server = SandboxServer(tmp_path, ["replay-accepted"])
    try:
        assert server.state.replay_protection is True
        assert "replay_protection: true" in server.profile_path.read_text(encoding="utf-8")
    finally:
        server.stop()


@pytest.mark.e2e
def test_pytest_with_the_replay_fault_fails_sec_replay() -> None:
    done = _pytest("--stet-fault", "replay-accepted", "scenarios/security.yaml", "-k", "SEC-REPLAY")
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-1000:]
    assert "FAILED scenarios/security.yaml::SEC-REPLAY" in done.stdout
    assert "step 'the same request again'" in done.stdout


@pytest.mark.e2e
def test_pytest_with_a_variant_starts_it_and_passes() -> None:
    """``--stet-variant choices``: CON-3 meets a 403, which the row allows."""
    done = _pytest("--stet-variant", "choices", "scenarios/consents.yaml", "-k", "CON-3")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-1000:]
    assert "1 passed" in done.stdout
    refused = _pytest("--stet-variant", "nope", "scenarios/consents.yaml")
    assert refused.returncode == pytest.ExitCode.USAGE_ERROR
    assert "--stet-variant: unknown sandbox variant(s): nope;" in refused.stderr


@pytest.mark.e2e
def test_pytest_with_an_unknown_fault_is_a_usage_error() -> None:
    done = _pytest("--stet-fault", "no-such-fault", "scenarios/security.yaml")
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout[-3000:]
    assert "--stet-fault: unknown sandbox fault(s): no-such-fault;" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr
