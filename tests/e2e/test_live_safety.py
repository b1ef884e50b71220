"""Live safety: no surprise runs against a bank, a dry run sends nothing, a budget caps a run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cli_run import cli

from stet_conformance.config.profile import load_profile
from stet_conformance.sandbox.server import SandboxServer

REMOTE = "https://www.12579.sandbox.api.89c3.invalid"  # .invalid: can never resolve


def copied(sandbox: SandboxServer, tmp_path: Path, old: str = "", new: str = "") -> Path:
    """The sandbox's profile (absolute PKI paths) with ``old`` replaced by ``new``."""
    source = Path(sandbox.profile_path)
    text = source.read_text().replace("pki/", f"{source.parent}/pki/")
    profile = tmp_path / "bank.yaml"
    profile.write_text(text.replace(old, new) if old else text)
    return profile


@pytest.fixture
def remote_profile(sandbox: SandboxServer, tmp_path: Path) -> Path:
    """The sandbox's profile pointed at a non-loopback host (never contacted by these tests)."""
    return copied(sandbox, tmp_path, sandbox.base_url, REMOTE)


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
        f"BAL-2 [request] GET {REMOTE}/stet/psd2/v1.4.2/accounts/"
        "CPT30014684067/balances  (LEA/aisp)" in done.stdout
    )
    assert "25 skipped" in done.stdout
    assert "Bearer" not in done.stdout


def test_user_information_in_base_url_is_refused_before_anything(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    """``https://127.0.0.1:1@bank.invalid`` goes to bank.invalid; it once passed as loopback."""
    profile = copied(sandbox, tmp_path, sandbox.base_url, "https://127.0.0.1:1@bank.invalid")
    done = cli("run", "--target", str(profile), "-k", "ACC-1")
    assert done.returncode == 2
    assert f"{profile}:3: base_url: user information before the host" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_remote_token_url_needs_allow_live(sandbox: SandboxServer, tmp_path: Path) -> None:
    """The token endpoint would receive refresh tokens and the QWAC."""
    oauth = f"{sandbox.base_url}/stet/psd2/oauth/token"
    profile = copied(sandbox, tmp_path, oauth, f"{REMOTE}/oauth/token")
    done = cli("run", "--target", str(profile), "-k", "ACC-1")
    assert done.returncode == 2
    assert f"oauth.token_url: {REMOTE} is not a loopback address" in done.stderr


def test_a_scenario_url_on_an_undeclared_origin_is_not_sent(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    (scenarios / "elsewhere.yaml").write_text(
        "- id: X-1\n  title: t\n  request: {method: GET, url: 'https://127.0.0.1:9/x', "
        "token: none}\n  expect: {status: 200}\n"
    )
    done = cli("run", "--target", str(copied(sandbox, tmp_path)), "--scenarios", str(scenarios))
    assert done.returncode == 1, done.stdout[-2000:]
    assert (
        "configuration error: step 'request' (line 3): refused to send to https://127.0.0.1:9: "
        "not an origin the profile declares"
    ) in done.stdout


def test_a_dry_run_sends_no_suite_request(remote_profile: Path) -> None:
    """``--dry-run --mode`` once sent the suites' signed requests, bearer tokens included."""
    # Nothing resolves at the target: one request sent would make a suite error out.
    done = cli(
        "run", "--target", str(remote_profile), "--allow-live", "--dry-run",
        "--mode", "regression", "--", "-rs",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:]
    assert re.search(r"^=+ \d+ skipped in ", done.stdout, re.MULTILINE), done.stdout[-3000:]
    assert re.search(
        r"SKIPPED \[\d+\] suites/test_fuzz_\w+\.py:\d+: dry run: nothing sent", done.stdout
    )
    for secret in load_profile(remote_profile).secrets():
        assert secret not in done.stdout


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
    profile = copied(sandbox, tmp_path)
    profile.write_text(profile.read_text() + "budget: {requests: 3}\n")
    done = cli("run", "--target", str(profile), "-k", "BAL and not RUL", "--", "-rs")
    assert done.returncode == 0, done.stdout[-2000:]
    assert "3 passed, 3 skipped" in done.stdout
    assert "request budget exhausted: 3 requests this run (budget.requests" in done.stdout


def test_the_unattended_quota_is_budgeted_per_persona_endpoint_and_method(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    profile = copied(sandbox, tmp_path)
    profile.write_text(profile.read_text() + "budget: {unattended: 4}\n")
    done = cli("run", "--target", str(profile), "-k", "SEC-QUOTA-UNATTENDED", "--", "-rs")
    assert done.returncode == 0, done.stdout[-2000:]
    assert "1 skipped" in done.stdout
    assert "unattended budget exhausted for EDME GET /accounts/" in done.stdout


def test_a_spent_fuzz_budget_skips_without_showing_tokens(sandbox: SandboxServer) -> None:
    """A skip inside an explicit example prints the test's arguments: the fuzz fixture too."""
    done = cli(
        "run", "--target", str(sandbox.profile_path), "--mode", "regression", "-k", "fuzz",
        "--", "--stet-fuzz-budget", "1", "-rs",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:]
    assert "request budget exhausted: 1 requests this run" in done.stdout
    for secret in load_profile(sandbox.profile_path).secrets():
        assert secret not in done.stdout


def test_more_workers_than_a_banks_concurrency_are_refused(remote_profile: Path) -> None:
    """Each worker has a request in flight: a bank allows ``concurrency`` of them (default 1)."""
    text = re.sub(r"(?m)^concurrency: .*$", "environment: live", remote_profile.read_text())
    remote_profile.write_text(text)
    done = cli("run", "--target", str(remote_profile), "--allow-live", "-n", "2")
    assert done.returncode == 2
    assert done.stderr == (
        f"stet-conformance: -n 2: {remote_profile} allows 1 request(s) in flight at once "
        "(concurrency: 1); raise its concurrency key if the bank allows more\n"
    )
