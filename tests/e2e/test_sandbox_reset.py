"""A long-running sandbox serves run after run; a bank's consumed payment requests are skipped.

The harness resets the bundled sandbox at the start of each run (its profile's
``sandbox.reset_path``), so PIS-1 and PIS-2 pass every time. A bank's profile has no reset: there
a 409 to a first confirmation means an earlier run consumed the request, and the scenario is
skipped with the profile value to renew. On a target the harness resets, the same 409 fails.
"""

from __future__ import annotations

import shutil
import textwrap
import types
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest
from cli_run import cli

from stet_conformance.plugin.reset import run_id
from stet_conformance.sandbox.server import SandboxServer

PISP = ("--id", "PIS-1", "--id", "PIS-2")
RENEW = "renew vars.payment_requests.LEA.{}.resource_id in the profile"


@pytest.fixture
def long_running(sandbox: SandboxServer, tmp_path: Path) -> Iterator[SandboxServer]:
    """A sandbox of its own (the session's PKI), serving several runs like `sandbox` does."""
    shutil.copytree(sandbox.pki.directory, tmp_path / "sb" / "pki")
    with SandboxServer(tmp_path / "sb") as server:
        yield server


def bank_like(server: SandboxServer, name: str = "bank.yaml", reset: str | None = None) -> Path:
    """The sandbox's profile without its reset, as a bank's would be (or with another one)."""
    lines = server.profile_path.read_text(encoding="utf-8").splitlines()
    kept = [line for line in lines if not line.startswith("sandbox:")]
    assert len(kept) == len(lines) - 1
    if reset is not None:
        kept.append(f"sandbox: {{reset_path: {reset}}}")
    profile = server.directory / name  # next to pki/, for the relative paths
    profile.write_text("\n".join(kept) + "\n", encoding="utf-8")
    profile.chmod(0o600)
    return profile


def test_the_pisp_scenarios_pass_run_after_run(long_running: SandboxServer) -> None:
    target = str(long_running.profile_path)
    first = cli("run", "--target", target, *PISP)
    assert first.returncode == 0, first.stdout[-2000:]
    assert "2 passed" in first.stdout
    second = cli("run", "--target", target, *PISP, "-n", "2")  # workers share one reset
    assert second.returncode == 0, second.stdout[-2000:]
    assert "2 passed" in second.stdout


def test_a_consumed_payment_request_at_a_bank_is_skipped_with_the_value_to_renew(
    long_running: SandboxServer,
) -> None:
    target = str(bank_like(long_running))
    first = cli("run", "--target", target, *PISP)
    assert first.returncode == 0, first.stdout[-2000:]
    assert "2 passed" in first.stdout
    second = cli("run", "--target", target, *PISP, "--", "-rs")
    assert second.returncode == 0, second.stdout[-2000:]
    assert "2 skipped" in second.stdout
    assert "step 'request' answered 409: the payment request is already confirmed" in second.stdout
    assert RENEW.format(0) in second.stdout
    assert "step 'first confirmation' answered 409" in second.stdout
    assert RENEW.format(1) in second.stdout


def test_the_token_lifecycle_passes_run_after_run(long_running: SandboxServer) -> None:
    """Revocation consumes disposable refresh tokens; the reset makes them work again."""
    target = str(long_running.profile_path)
    first = cli("run", "--target", target, "-k", "OAU-RE")
    assert first.returncode == 0, first.stdout[-2000:]
    second = cli("run", "--target", target, "-k", "OAU-RE", "-n", "2")  # halves of the pool
    assert second.returncode == 0, second.stdout[-2000:]
    assert "5 passed" in first.stdout and "5 passed" in second.stdout


def test_a_disposable_token_consumed_at_a_bank_is_skipped_with_what_to_do(
    long_running: SandboxServer,
) -> None:
    """No token store: a second run takes the same tokens again, which the bank refuses."""
    target = str(bank_like(long_running))
    revocations = ("--id", "OAU-REVOKE-REFRESH", "--id", "OAU-REVOKE-ACCESS")
    first = cli("run", "--target", target, *revocations)
    assert first.returncode == 0 and "2 passed" in first.stdout, first.stdout[-2000:]
    second = cli("run", "--target", target, *revocations, "--", "-rs")
    assert second.returncode == 0 and "2 skipped" in second.stdout, second.stdout[-2000:]
    assert "step 'refresh a disposable refresh token' answered 400" in second.stdout
    assert "remove it from personas.LEA.disposable_refresh_tokens.aisp" in second.stdout


def test_where_the_harness_resets_the_state_a_409_to_a_first_confirmation_fails(
    long_running: SandboxServer, tmp_path: Path
) -> None:
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    # A bank answering 409 to a request the harness knows is fresh: played by a second step.
    (scenarios / "twice.yaml").write_text(
        textwrap.dedent(
            """
            - id: TWICE
              title: t
              persona: LEA
              scope: pisp
              steps:
                - request:
                    {method: POST, path: /payment-requests/PR-LEA-0001/o-confirmation, json: {}}
                  expect: {status: 200}
                - request:
                    {method: POST, path: /payment-requests/PR-LEA-0001/o-confirmation, json: {}}
                  skip_when: {status: 409, reason: renew it}
                  expect: {status: 200}
            """
        ),
        encoding="utf-8",
    )
    bank = cli("run", "--target", str(bank_like(long_running)), "--scenarios", str(scenarios))
    assert bank.returncode == 0, bank.stdout[-2000:]
    assert "1 skipped" in bank.stdout
    reset = cli("run", "--target", str(long_running.profile_path), "--scenarios", str(scenarios))
    assert reset.returncode == 1
    assert "[status] expected HTTP 200, got 409" in reset.stdout


def test_a_reset_path_that_does_not_reset_leaves_the_run_broken(
    long_running: SandboxServer,
) -> None:
    target = bank_like(long_running, "wrong-reset.yaml", reset="/no/reset")
    done = cli("run", "--target", str(target), "--id", "ACC-1")
    assert done.returncode == 1
    assert "target broken: sandbox.reset_path /no/reset answered 404, not 204" in done.stdout
    assert "Traceback" not in done.stdout


def test_the_workers_of_one_run_share_its_id() -> None:
    worker = cast("pytest.Config", types.SimpleNamespace(workerinput={"testrunuid": "abc"}))
    assert run_id(worker) == "abc"
    alone = cast("pytest.Config", types.SimpleNamespace())
    assert run_id(alone) != run_id(alone)  # a plain run: a new id per process
