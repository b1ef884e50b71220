"""SEC-REPLAY (issue 7) can pass and can fail: it runs against the replay-protection variant.

The self-test's conformant run uses the default sandbox, where the portal promises no replay
protection and SEC-REPLAY is skipped; here the variant's profile (``replay_protection: true``)
makes it run, and the fault ``replay-accepted`` makes it fail.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from cli_run import cli

from stet_conformance.sandbox.server import SandboxServer


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return cli("run", *args, "--", "-q", "-rfs")


@pytest.mark.parametrize(
    ("faults", "code", "verdict"),
    [([], 0, "1 passed"), (["replay-accepted"], 1, "FAILED scenarios/security.yaml::SEC-REPLAY")],
    ids=["conformant", "replay-accepted"],
)
def test_sec_replay_against_the_replay_protection_variant(
    sandbox: SandboxServer, tmp_path: Path, faults: list[str], code: int, verdict: str
) -> None:
    shutil.copytree(sandbox.pki.directory, tmp_path / "pki")
    with SandboxServer(tmp_path, faults, replay_protection=True) as server:
        assert "replay_protection: true" in server.profile_path.read_text()
        done = _run("--target", str(server.profile_path), "-k", "SEC-REPLAY")
    assert done.returncode == code, done.stdout[-3000:] + done.stderr[-1000:]
    assert verdict in done.stdout
    if code:
        assert "step 'the same request again'" in done.stdout
        assert "status" in done.stdout


def test_sec_replay_is_skipped_where_the_bank_promises_nothing(sandbox_profile: Path) -> None:
    done = _run("--target", str(sandbox_profile), "-k", "SEC-REPLAY")
    assert done.returncode == 0, done.stdout[-3000:]
    assert "runs only when target.replay_protection is true" in done.stdout


def test_run_with_the_replay_fault_starts_the_variant() -> None:
    """``run --fault replay-accepted`` (what the self-test does) needs replay protection on."""
    done = _run("--fault", "replay-accepted", "-k", "SEC-REPLAY")
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-1000:]
    assert "FAILED scenarios/security.yaml::SEC-REPLAY" in done.stdout
