"""A cleanup step that fails is the target's state not restored, apart from bank defects.

Against the sandbox's fault consent-revoke-final, a consent that a step revoked cannot be given
back: the cleanup step restoring it fails. Alone, that makes the test broken ("target state not
restored"); after a failed step, the step's failure stays the verdict and the cleanup's joins it.
"""

from __future__ import annotations

import json
import re
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from stet_conformance.checks.schemas import default_store
from stet_conformance.config.profile import load_profile
from stet_conformance.http.client import StetClient
from stet_conformance.http.redact import Redactor
from stet_conformance.sandbox.server import SandboxServer
from stet_conformance.scenario.loader import load_file
from stet_conformance.scenario.runner import RunContext, plan_scenario, run_scenario
from stet_conformance.verdict import (
    ALLURE_CATEGORIES,
    BROKEN_PROPERTY,
    CheckFailed,
    StateNotRestored,
    TargetBroken,
    scenario_verdict,
)

pytest_plugins = ["pytester"]

SCENARIOS = """
- id: UNRESTORED-1
  title: Revokes TECHNCO's accounts, which the cleanup cannot give back
  persona: TECHNCO
  steps:
    - name: revoke every account
      request:
        method: PUT
        path: /consents
        json: &revoke
          {balances: [], transactions: [], psuIdentity: false, trustedBeneficiaries: false}
      expect: {status: 201}
  cleanup:
    - name: restore TECHNCO's consent
      request: {method: PUT, path: /consents, json: "{{ consent_body('TECHNCO') }}"}
      expect: {status: 201}

- id: BOTH-1
  title: A step fails, then the cleanup cannot give LEA's consent back
  persona: LEA
  steps:
    - name: revoke every account
      request: {method: PUT, path: /consents, json: *revoke}
      expect: {status: 201}
    - name: balances still served
      request:
        method: GET
        path: "/accounts/{{ account('LEA', 'negative').resource_id }}/balances"
      expect: {status: 200}
  cleanup:
    - name: restore LEA's consent
      request: {method: PUT, path: /consents, json: "{{ consent_body('LEA') }}"}
      expect: {status: 201}
"""


def _run(pytester: pytest.Pytester, fault: str, scenarios: str) -> pytest.RunResult:
    """The scenarios against the bundled sandbox with ``fault``, a results directory written."""
    directory = pytester.path / "scenarios"
    directory.mkdir()
    (directory / "x.yaml").write_text(textwrap.dedent(scenarios).lstrip("\n"), encoding="utf-8")
    with SandboxServer(pytester.path / "sandbox", [fault]) as server:
        return pytester.runpytest_subprocess(
            f"--stet-target={server.profile_path}",
            "--stet-results=results",
            "-p",
            "no:cacheprovider",
            "-rs",
        )


def test_a_failed_cleanup_is_broken_and_joins_a_failed_step(pytester: pytest.Pytester) -> None:
    result = _run(pytester, "consent-revoke-final", SCENARIOS)
    assert result.ret == 1
    output = result.stdout.str()
    assert (
        'target state not restored: cleanup step "restore TECHNCO\'s consent" (line 13) failed:\n'
        "  [status] expected HTTP 201, got 403"
    ) in output
    both = output.split("BOTH-1 A step fails")[1]
    assert both.index("step 'balances still served' (line 24) failed:") < both.index(
        'target state not restored: cleanup step "restore LEA\'s consent" (line 30) failed:'
    )
    results = pytester.path / "results"
    run = json.loads((results / "run.json").read_text(encoding="utf-8"))
    assert (run["counts"]["broken"], run["counts"]["failed"], run["exit_status"]) == (1, 1, 1)
    cases = ET.parse(results / "junit.xml").iter("testcase")
    broken = {
        c.get("name"): BROKEN_PROPERTY in {p.get("name") for p in c.iter("property")} for c in cases
    }
    assert broken == {"UNRESTORED-1": True, "BOTH-1": False}
    allure = {}
    for path in (results / "allure").glob("*-result.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        labels = {label["name"]: label["value"] for label in data["labels"]}
        allure[labels["seed_id"]] = (data["status"], data["statusDetails"]["message"])
    assert (allure["UNRESTORED-1"][0], allure["BOTH-1"][0]) == ("broken", "failed")
    (category,) = [c for c in ALLURE_CATEGORIES if str(c["name"]).startswith("Target state")]
    assert re.fullmatch(str(category["messageRegex"]), allure["UNRESTORED-1"][1])


SKIPPED = """
- id: SKIPPED-1
  title: A step skips after the consent was revoked; the cleanup cannot give it back
  persona: CLAIRE
  steps:
    - name: revoke every account
      request:
        method: PUT
        path: /consents
        json: {balances: [], transactions: [], psuIdentity: false, trustedBeneficiaries: false}
      expect: {status: 201}
    - name: needs an expired cbpii token
      scope: cbpii
      request: {method: GET, path: /accounts, token: expired}
      expect: {status: 401}
  cleanup:
    - name: restore CLAIRE's consent
      request: {method: PUT, path: /consents, json: "{{ consent_body('CLAIRE') }}"}
      expect: {status: 201}

- id: SKIPPED-2
  title: Nothing sent, so a cleanup that cannot be sent either restores nothing
  persona: MARC
  scope: cbpii
  steps:
    - name: needs an expired cbpii token
      request: {method: GET, path: /accounts, token: expired}
      expect: {status: 401}
  cleanup:
    - name: needs it too
      request: {method: GET, path: /accounts, token: expired}
      expect: {status: 401}
"""


def test_a_skip_after_a_change_does_not_hide_a_failed_cleanup(pytester: pytest.Pytester) -> None:
    result = _run(pytester, "consent-revoke-final", SKIPPED)
    result.assert_outcomes(failed=1, skipped=1)
    output = result.stdout.str()
    assert (
        'target state not restored: cleanup step "restore CLAIRE\'s consent" (line 16) failed:\n'
        "  [status] expected HTTP 201, got 403"
    ) in output
    assert "(the scenario was skipped: the profile has no expired token for CLAIRE/cbpii" in output
    assert "the profile has no expired token for MARC/cbpii" in output
    run = json.loads((pytester.path / "results" / "run.json").read_text(encoding="utf-8"))
    assert (run["counts"]["broken"], run["counts"]["skipped"]) == (1, 1)


BROKEN_CLEANUP = """
- id: DEFECT-1
  title: A step fails; the cleanup's exchange breaks, which does not replace the defect
  persona: LEA
  steps:
    - name: a wrong expectation
      request: {method: GET, path: /accounts}
      expect: {status: 418}
  cleanup:
    - name: read a balance
      request:
        method: GET
        path: "/accounts/{{ account('LEA', 'negative').resource_id }}/balances"
      expect: {status: 200}
"""


def test_a_cleanup_exchange_that_breaks_does_not_replace_the_steps_verdict(
    pytester: pytest.Pytester,
) -> None:
    result = _run(pytester, "balances-reset-mid-body", BROKEN_CLEANUP)
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    assert "step 'a wrong expectation' (line 5) failed:\n  [status] expected HTTP 418" in output
    assert (
        "target state not restored: cleanup step 'read a balance' (line 9) failed:\n"
        "  [cleanup] the exchange failed: "
    ) in output
    run = json.loads((pytester.path / "results" / "run.json").read_text(encoding="utf-8"))
    assert (run["counts"]["failed"], run["counts"]["broken"]) == (1, 0)


def test_the_steps_decide_and_a_failed_cleanup_alone_is_state_not_restored() -> None:
    assert scenario_verdict("", [], "") is None
    alone = scenario_verdict("", [], "cleanup step 'c' (line 12) failed:\n  [status] x")
    assert isinstance(alone, StateNotRestored) and not isinstance(alone, AssertionError)
    assert (
        str(alone) == "target state not restored: cleanup step 'c' (line 12) failed:\n  [status] x"
    )
    defect = scenario_verdict("step 's' failed", [404], "cleanup step 'c' failed")
    assert isinstance(defect, CheckFailed)
    assert str(defect) == "step 's' failed\ntarget state not restored: cleanup step 'c' failed"
    server_error = scenario_verdict("step 's' failed", [503], "cleanup step 'c' failed")
    assert isinstance(server_error, TargetBroken)


CONDITIONAL = """
- id: WHEN-1
  title: A cleanup step for another profile setting is left out, as an ordinary step is
  persona: LEA
  request: {method: GET, path: /accounts}
  expect: {status: 200}
  cleanup:
    - name: only without an identity service
      when: {target.identity_available: false}
      request: {method: GET, path: /nowhere}
      expect: {status: 200}
    - name: only with one
      when: {target.identity_available: true}
      request: {method: GET, path: /accounts}
      expect: {status: 200}
"""


def test_a_cleanup_step_honours_its_when_as_the_dry_run_says(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    """docs/scenarios.md: ``when`` on a step leaves it out; a cleanup step is a step."""
    path = tmp_path / "x.yaml"
    path.write_text(textwrap.dedent(CONDITIONAL).lstrip("\n"), encoding="utf-8")
    (scenario,) = load_file(path)
    profile = load_profile(sandbox.profile_path)  # identity_available: true
    client = StetClient.for_profile(profile, Redactor(profile.secrets()))
    try:
        results = run_scenario(scenario, RunContext(profile, client, default_store()))
    finally:
        client.close()
    assert [(r.step.name, r.failures) for r in results] == [("request", []), ("only with one", [])]
    planned = [line.split("]")[0] for line in plan_scenario(scenario, profile)]
    assert planned == ["WHEN-1 [request", "WHEN-1 [only with one"]


ROTATED = """
- id: ROTATED-1
  title: After a refresh that rotated, a cleanup step sending the old refresh token is left out
  persona: LEA
  steps:
    - name: refresh
      request:
        method: POST
        url: "{{ target.token_url }}"
        token: none
        form: &refresh
          grant_type: refresh_token
          refresh_token: "{{ credentials.LEA.refresh_tokens.aisp }}"
          client_id: "{{ target.client_id }}"
      expect: {status: 200}
  cleanup:
    - name: the old refresh token again
      unless_rotated: true
      request: {method: POST, url: "{{ target.token_url }}", token: none, form: *refresh}
      expect: {status: 200}
    - name: accounts
      request: {method: GET, path: /accounts}
      expect: {status: 200}
"""


@pytest.mark.parametrize(("fault", "cleanup"), [([], 2), (["refresh-token-rotated"], 1)])
def test_a_cleanup_step_honours_unless_rotated(
    sandbox: SandboxServer, tmp_path: Path, fault: list[str], cleanup: int
) -> None:
    """docs/scenarios.md: ``unless_rotated`` leaves a step out after a rotation; in cleanup too,
    where sending a revoked refresh token would fail as "state not restored"."""
    path = tmp_path / "x.yaml"
    path.write_text(textwrap.dedent(ROTATED).lstrip("\n"), encoding="utf-8")
    (scenario,) = load_file(path)
    with SandboxServer(tmp_path / "bank", faults=fault) as bank:
        profile = load_profile(bank.profile_path)
        client = StetClient.for_profile(profile, Redactor(profile.secrets()))
        try:
            results = run_scenario(scenario, RunContext(profile, client, default_store()))
        finally:
            client.close()
    assert all(not r.failures for r in results), [r.failures for r in results]
    assert sum(r.cleanup for r in results) == cleanup
