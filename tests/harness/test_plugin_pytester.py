"""The pytest plugin, black-box: YAML scenarios run in a pytest subprocess against a sandbox."""

from __future__ import annotations

import re
import socket
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from stet_conformance.config.profile import load_profile
from stet_conformance.sandbox.server import SandboxServer

pytest_plugins = ["pytester"]

SCENARIOS = """
- id: PASS-1
  title: CLAIRE's accounts are listed
  tags: [seed, accounts]
  persona: CLAIRE
  request: {method: GET, path: /accounts}
  expect:
    status: 200
    schema: accounts
    data:
      - {path: accounts, length: 2}

- id: FAIL-1
  title: A deliberately wrong expectation
  tags: [accounts]
  persona: LEA
  request:
    method: GET
    path: /accounts
    query: {echo: "{{ credentials.LEA.tokens.aisp }}"}
  expect:
    status: 418
"""
FAIL_LINE = 12

SKIPPED = """
- id: SKIP-1
  title: Needs a token the profile lacks
  persona: LEA
  request: {method: GET, path: /accounts}
  expect: {status: 200}
"""


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    with SandboxServer(tmp_path_factory.mktemp("plugin-sandbox")) as server:
        yield server


def _scenarios(pytester: pytest.Pytester, text: str, name: str = "x.yaml") -> Path:
    directory = pytester.path / "scenarios"
    directory.mkdir(exist_ok=True)
    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def _run(pytester: pytest.Pytester, profile: Path, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        f"--stet-target={profile}", "-p", "no:cacheprovider", "-rs", *args
    )


def _lea_token(sandbox: SandboxServer) -> str:
    profile = yaml.safe_load(sandbox.profile_path.read_text(encoding="utf-8"))
    return str(profile["personas"]["LEA"]["tokens"]["aisp"])


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_passing_and_failing_scenarios(pytester: pytest.Pytester, sandbox: SandboxServer) -> None:
    _scenarios(pytester, SCENARIOS)
    result = _run(pytester, sandbox.profile_path, "-v")
    result.assert_outcomes(passed=1, failed=1)
    output = result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "*scenarios/x.yaml::PASS-1 PASSED*",
            "*scenarios/x.yaml::FAIL-1 FAILED*",
        ]
    )
    assert f"x.yaml:{FAIL_LINE}" in output
    assert "FAIL-1 A deliberately wrong expectation" in output
    assert "[status] expected HTTP 418, got 200" in output
    assert "> authorization: [REDACTED]" in output
    assert "> signature: [REDACTED]" in output
    assert "echo=[REDACTED]" in output  # the token in the query string, a known secret
    assert _lea_token(sandbox) not in output
    assert _lea_token(sandbox) not in result.stderr.str()


def test_missing_persona_token_is_skipped(
    pytester: pytest.Pytester, sandbox: SandboxServer
) -> None:
    text = sandbox.profile_path.read_text(encoding="utf-8")
    text, count = re.subn(r"(?m)^  LEA: .*$", '  LEA: {tokens: {aisp: ""}}', text)
    assert count == 1
    profile = sandbox.directory / "no-lea.yaml"  # next to pki/, for the relative paths
    profile.write_text(text, encoding="utf-8")
    _scenarios(pytester, SKIPPED)
    result = _run(pytester, profile)
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(
        ["*SKIPPED*the profile has no token for LEA/aisp (personas.LEA.tokens.aisp)*"]
    )


SKIPPED_FOR_TWO_REASONS = """
- id: SKIP-1
  title: Needs LEA's token
  persona: LEA
  request: {method: GET, path: /accounts}
  expect: {status: 200}
- id: SKIP-2
  title: Needs a bank with replay protection
  persona: CLAIRE
  when: {target.replay_protection: true}
  request: {method: GET, path: /accounts}
  expect: {status: 200}
- id: SKIP-3
  title: Needs LEA's token too
  persona: LEA
  request: {method: GET, path: /accounts}
  expect: {status: 200}
"""


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_skip_reasons_are_summarised_once_each_with_their_ids(
    pytester: pytest.Pytester, sandbox: SandboxServer, workers: list[str]
) -> None:
    text = sandbox.profile_path.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^  LEA: .*$", '  LEA: {tokens: {aisp: ""}}', text)
    profile = sandbox.directory / "no-lea-summary.yaml"
    profile.write_text(text, encoding="utf-8")
    _scenarios(pytester, SKIPPED_FOR_TWO_REASONS)
    result = pytester.runpytest_subprocess(f"--stet-target={profile}", *workers)
    result.assert_outcomes(skipped=3)
    section = result.stdout.str().split("STET skipped")[1].split("STET coverage")[0]
    lines = [line for line in section.splitlines() if " x " in line]
    reason, ids = lines[0].rsplit(": ", 1)
    assert reason == "2 x the profile has no token for LEA/aisp (personas.LEA.tokens.aisp)"
    assert sorted(ids.split(", ")) == ["SKIP-1", "SKIP-3"]  # xdist: in the order they ended
    assert lines[1] == (
        "1 x runs only when target.replay_protection is true (the profile gives false): SKIP-2"
    )
    assert len(lines) == 2


def test_collect_only_does_not_touch_the_network(
    pytester: pytest.Pytester, sandbox: SandboxServer, tmp_path: Path
) -> None:
    port = _closed_port()
    text = sandbox.profile_path.read_text(encoding="utf-8")
    text = text.replace(sandbox.base_url, f"https://127.0.0.1:{port}")
    assert f"127.0.0.1:{sandbox.port}" not in text
    profile = sandbox.directory / "closed-port.yaml"
    profile.write_text(text, encoding="utf-8")
    _scenarios(pytester, SCENARIOS)

    result = _run(pytester, profile, "--collect-only", "-q")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["scenarios/x.yaml::PASS-1", "scenarios/x.yaml::FAIL-1"])
    assert "2 tests collected" in result.stdout.str()
    # the same profile cannot run anything: collection really did not connect
    failed = _run(pytester, profile, "-k", "PASS")
    failed.assert_outcomes(failed=1, deselected=1)
    failed.stdout.fnmatch_lines(["*target broken: cannot connect to https://127.0.0.1:*"])


def test_malformed_scenario_file_is_a_collection_error(
    pytester: pytest.Pytester, sandbox: SandboxServer
) -> None:
    _scenarios(pytester, SCENARIOS)
    _scenarios(
        pytester,
        """
        - id: BAD-1
          title: bad
          request: {method: GET, path: /accounts}
          expect:
            status: 200
            stauts: 201
        """,
        "bad.yaml",
    )
    result = _run(pytester, sandbox.profile_path)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR collecting scenarios/bad.yaml*",
            "*scenarios/bad.yaml:6: [[]0[]].expect.stauts: unknown key*",
        ]
    )


def test_invalid_yaml_collection_error_names_the_line(
    pytester: pytest.Pytester, sandbox: SandboxServer
) -> None:
    _scenarios(pytester, "- id: BAD-2\n  title: [unclosed\n  request: x\n", "bad.yaml")
    result = _run(pytester, sandbox.profile_path, "--collect-only", "-q")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*scenarios/bad.yaml:3: invalid YAML:*"])


def test_select_by_tag(pytester: pytest.Pytester, sandbox: SandboxServer) -> None:
    _scenarios(pytester, SCENARIOS)
    result = _run(pytester, sandbox.profile_path, "-m", "seed", "-v")
    result.assert_outcomes(passed=1, deselected=1)
    result.stdout.fnmatch_lines(["*scenarios/x.yaml::PASS-1 PASSED*"])
    assert "FAIL-1" not in result.stdout.str()


def test_yaml_outside_a_scenarios_directory_is_ignored(
    pytester: pytest.Pytester, sandbox: SandboxServer
) -> None:
    (pytester.path / "other").mkdir()
    (pytester.path / "other" / "x.yaml").write_text(SCENARIOS, encoding="utf-8")
    result = _run(pytester, sandbox.profile_path, "--collect-only", "-q")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_plain_pytest_applies_the_same_live_safety_rule(
    pytester: pytest.Pytester, sandbox: SandboxServer
) -> None:
    """Without the CLI, a remote token endpoint is refused too, before any request."""
    token_url = f"{sandbox.base_url}/stet/psd2/oauth/token"
    text = sandbox.profile_path.read_text(encoding="utf-8")
    profile = sandbox.directory / "remote-token-url.yaml"
    profile.write_text(text.replace(token_url, "https://auth.bank.invalid/token"), "utf-8")
    _scenarios(pytester, SCENARIOS)
    result = _run(pytester, profile, "-k", "PASS")
    result.assert_outcomes(failed=1, deselected=1)
    result.stdout.fnmatch_lines(
        ["*configuration error: *: oauth.token_url: https://auth.bank.invalid is not a loopback*"]
    )
    assert _run(pytester, profile, "-k", "PASS", "--stet-allow-live").ret == 0


LEAKY_SUITE = """
import logging

from hypothesis import given, note, settings, strategies as st


def _token(stet_run):
    return stet_run.profile.personas.credentials["LEA"].tokens["aisp"]


def test_message_and_captured_output(stet_run):
    token = _token(stet_run)
    print(f"stdout {token}")
    logging.getLogger("bank").warning("log %s", token)
    raise AssertionError(f"message {token}")


@settings(database=None, max_examples=1, deadline=None)
@given(x=st.just(1))
def test_hypothesis_example_and_note(stet_run, x):
    note(f"note {_token(stet_run)}")
    assert x == 2
"""


def test_every_text_of_a_failing_test_goes_through_the_redactor(
    pytester: pytest.Pytester, sandbox: SandboxServer
) -> None:
    """Message, traceback (arguments and locals), captured output, log, Hypothesis's example
    and notes: in the terminal, JUnit and Allure results."""
    pytester.makepyfile(test_leaky=LEAKY_SUITE)
    result = _run(
        pytester,
        sandbox.profile_path,
        "--tb=long",
        "--showlocals",
        "--junitxml=junit.xml",
        "--alluredir=allure",
    )
    result.assert_outcomes(failed=2)
    output = result.stdout.str() + result.stderr.str()
    for shown in ("message [REDACTED]", "stdout [REDACTED]", "log [REDACTED]", "note [REDACTED]"):
        assert shown in output
    assert "stet_run=<RunContext <Profile 'reference-sandbox'" in output  # Hypothesis's example
    files = [pytester.path / "junit.xml", *(pytester.path / "allure").iterdir()]
    texts = {str(path): path.read_text(encoding="utf-8") for path in files}
    assert any("message [REDACTED]" in text for text in texts.values())
    secrets = load_profile(sandbox.profile_path).secrets()
    leaks = [
        (where, s[:8])
        for where, text in [("output", output), *texts.items()]
        for s in secrets
        if s in text
    ]
    assert leaks == []
