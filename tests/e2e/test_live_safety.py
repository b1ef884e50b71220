"""Live safety: no surprise runs against a bank, a dry run sends nothing, a budget caps a run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from stet_conformance.sandbox.server import SandboxServer


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stet_conformance.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


@pytest.fixture
def remote_profile(sandbox: SandboxServer, tmp_path: Path) -> Path:
    """The sandbox's profile pointed at a non-loopback host (never contacted by these tests)."""
    source = Path(sandbox.profile_path)
    text = source.read_text().replace(sandbox.base_url, "https://www.12579.sandbox.api.89C3.com")
    text = text.replace("pki/", f"{source.parent}/pki/")
    profile = tmp_path / "bank.yaml"
    profile.write_text(text)
    return profile


def test_a_non_loopback_target_needs_allow_live(remote_profile: Path) -> None:
    done = cli("run", "--target", str(remote_profile))
    assert done.returncode == 2
    assert "is not a loopback address and the profile is not marked 'environment: sandbox'" in (
        done.stderr
    )
    assert "pass --allow-live" in done.stderr


def test_a_live_profile_is_named_as_such(remote_profile: Path) -> None:
    remote_profile.write_text(remote_profile.read_text() + "environment: live\n")
    done = cli("run", "--target", str(remote_profile))
    assert done.returncode == 2
    assert "the profile is live; pass --allow-live" in done.stderr


def test_dry_run_lists_requests_and_sends_none(remote_profile: Path) -> None:
    # The host does not resolve here: any attempt to send would fail the scenario.
    done = cli("run", "--target", str(remote_profile), "--allow-live", "--dry-run", "-m", "seed")
    assert done.returncode == 0, done.stdout[-2000:]
    assert "STET dry run: 25 requests, none sent" in done.stdout
    assert (
        "BAL-2 [request] GET https://www.12579.sandbox.api.89C3.com/stet/psd2/v1.4.2/accounts/"
        "CPT30014684067/balances  (LEA/aisp)" in done.stdout
    )
    assert "25 skipped" in done.stdout
    assert "Bearer" not in done.stdout


def test_dry_run_shows_saved_values_as_placeholders(remote_profile: Path) -> None:
    done = cli(
        "run",
        "--target",
        str(remote_profile),
        "--allow-live",
        "--dry-run",
        "-k",
        "TRX-FROM-INCLUSIVE",
    )
    assert "dateFrom=<saved.day>T00:00:00.000Z" in done.stdout


def test_a_request_budget_stops_the_run_before_it_is_exceeded(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    source = Path(sandbox.profile_path)
    profile = tmp_path / "budget.yaml"
    text = source.read_text().replace("pki/", f"{source.parent}/pki/")
    profile.write_text(text + "budget: {requests: 3}\n")
    done = cli("run", "--target", str(profile), "-k", "BAL", "--", "-rs")
    assert done.returncode == 0, done.stdout[-2000:]
    assert "3 passed, 3 skipped" in done.stdout
    assert "request budget exhausted: 3 requests this run (budget.requests" in done.stdout


def test_the_unattended_quota_is_budgeted_per_persona_endpoint_and_method(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    source = Path(sandbox.profile_path)
    profile = tmp_path / "quota.yaml"
    text = source.read_text().replace("pki/", f"{source.parent}/pki/")
    profile.write_text(text + "budget: {unattended: 4}\n")
    done = cli("run", "--target", str(profile), "-k", "SEC-QUOTA-UNATTENDED", "--", "-rs")
    assert done.returncode == 0, done.stdout[-2000:]
    assert "1 skipped" in done.stdout
    assert "unattended budget exhausted for EDME GET /accounts/" in done.stdout
