"""Requirement levels: a MUST not met fails, a recommendation not met warns (``--stet-strict``:
fails). Loading ``recommend:``, the engine's verdict, the automatic checks' sources, the oracles;
then black-box through pytest against the bundled sandbox: terminal, JUnit, Allure, run.json."""

from __future__ import annotations

import json
import textwrap
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from stet_conformance.checks import CHECKS, Check, CheckContext, Expect, run_checks
from stet_conformance.checks.headers import check_request_id_echo
from stet_conformance.checks.schemas import default_store
from stet_conformance.cli import parse
from stet_conformance.cli.run import matrix_lines, pytest_args
from stet_conformance.config.profile import load_profile
from stet_conformance.errors import ScenarioError
from stet_conformance.fuzz import oracles
from stet_conformance.http.client import Exchange, StetClient
from stet_conformance.http.redact import Redactor
from stet_conformance.sandbox.server import SandboxServer
from stet_conformance.scenario.loader import load_file
from stet_conformance.scenario.model import Recommendation
from stet_conformance.scenario.runner import RunContext, StepResult, run_scenario
from stet_conformance.shared.resources import schemas_dir
from stet_conformance.verdict import (
    WARNING_PROPERTY,
    CheckFailed,
    Level,
    Outcome,
    outcome,
    should,
)

pytest_plugins = ["pytester"]

AUTHORITY = "portal 'Funds confirmation' lists 403; STET lists 400 and 403"


def _write(directory: Path, text: str) -> Path:
    path = directory / "x.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def _error(path: Path) -> str:
    with pytest.raises(ScenarioError) as info:
        load_file(path)
    return str(info.value)


# --- loading ------------------------------------------------------------------------------------


def test_recommend_takes_the_keys_of_expect_and_an_authority() -> None:
    schema = json.loads((schemas_dir() / "scenario.schema.json").read_text(encoding="utf-8"))
    defs = schema["$defs"]
    assert set(defs["recommend"]["properties"]) == set(defs["expect"]["properties"]) | {"authority"}


def test_a_step_recommendation_loads(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        f"""
        - id: X-1
          title: t
          request: {{method: GET, path: /a}}
          expect: {{status: [400, 403, 404]}}
          recommend: {{status: [403, 404], authority: "{AUTHORITY}"}}
        """,
    )
    (step,) = load_file(path)[0].steps
    assert step.recommend == Recommendation(Expect.of({"status": [403, 404]}), AUTHORITY)
    assert step.recommend.expect.given == {"status"}


@pytest.mark.parametrize(
    ("recommend", "message"),
    [
        ("{status: 403}", ":5: [0].recommend: missing key: 'authority'"),
        ("{authority: x}", ":5: recommend: names no expectation besides authority (give one"),
        ("{authority: x, stauts: 403}", ":5: [0].recommend.stauts: unknown key"),
        ("{authority: '', status: 403}", ":5: [0].recommend.authority: must be at least 1"),
        ("{authority: x, schema: nope}", ":5: unknown schema 'nope'"),
    ],
)
def test_a_bad_recommendation_is_refused_with_its_line(
    tmp_path: Path, recommend: str, message: str
) -> None:
    path = _write(
        tmp_path,
        f"""
        - id: X-1
          title: t
          request: {{method: GET, path: /a}}
          expect: {{status: 200}}
          recommend: {recommend}
        """,
    )
    assert message in _error(path)


def test_recommend_beside_steps_is_refused(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
        - id: X-1
          title: t
          recommend: {status: 200, authority: x}
          steps:
            - {request: {method: GET, path: /a}, expect: {status: 200}}
        """,
    )
    assert "does not match any allowed form" in _error(path)


# --- the engine ---------------------------------------------------------------------------------


def _exchange(status: int, body: bytes, content_type: str, echo: bool = True) -> Exchange:
    request = httpx.Request("GET", "https://bank.example/x", headers={"X-Request-ID": "id-1"})
    headers = {"Content-Type": content_type, **({"X-Request-ID": "id-1"} if echo else {})}
    response = httpx.Response(status, content=body, headers=headers, request=request)
    return Exchange(request, response, 0.0)


def test_every_check_that_runs_unasked_cites_its_source() -> None:
    html = _exchange(404, b"<html>", "text/html", echo=False)
    failures = run_checks(CheckContext(html, Expect(status=(404,)), default_store()))
    failures += run_checks(
        CheckContext(_exchange(204, b"x", "text/plain"), Expect(status=(204,)), default_store())
    )
    assert {f.check for f in failures} == {
        "request_id_echo",
        "content_type",
        "error_model",
        "body_empty",
    }
    assert all(f.authority and f.level is Level.MUST for f in failures)
    assert {key for key, check in CHECKS.items() if check.authority} == {f.check for f in failures}
    asked = Expect.of({"status": 404, "content_type": "application/json"})
    (named,) = [
        f
        for f in run_checks(CheckContext(html, asked, default_store()))
        if f.check == "content_type"
    ]
    assert named.authority == ""  # the step asked: the scenario's authority applies


@pytest.mark.parametrize(
    ("status", "body", "level"),
    [
        (409, b'{"message": "conflict"}', Level.RECOMMENDATION),  # no status: not an ErrorModel
        (501, b"", Level.RECOMMENDATION),
        (501, b'{"status": 400, "message": "x"}', Level.RECOMMENDATION),
        (404, b'{"message": "unknown"}', Level.MUST),  # STET's shared 404 response
        (503, b"", Level.MUST),
    ],
)
def test_an_error_model_stet_does_not_define_for_the_status_is_a_recommendation(
    status: int, body: bytes, level: Level
) -> None:
    """STET 1.4.0.47 gives the ErrorModel on its shared 4xx/5xx responses only; the portal's
    409 and 501 carry no body format: an ErrorModel there is extrapolated, so only a warning."""
    exchange = _exchange(status, body, "application/json")
    failures = run_checks(CheckContext(exchange, Expect(status=(status,)), default_store()))
    (found,) = [f for f in failures if f.check == "error_model"]
    assert found.level is level
    assert ("extrapolated" in found.authority) is (level is Level.RECOMMENDATION)


@pytest.mark.parametrize(
    ("status", "level"),
    [(409, Level.RECOMMENDATION), (501, Level.RECOMMENDATION), (404, Level.MUST)],
)
def test_a_text_body_on_an_error_stet_gives_no_body_format_only_warns(
    status: int, level: Level
) -> None:
    """The JSON media type of an error body follows the ErrorModel: STET's produces covers the
    responses it defines, and it defines none for the portal's 409 and 501."""
    exchange = _exchange(status, b"conflict", "text/plain")
    failures = run_checks(CheckContext(exchange, Expect(status=(status,)), default_store()))
    found = {f.check: f for f in failures if f.check in ("content_type", "error_model")}
    assert set(found) == {"content_type", "error_model"}
    assert {f.level for f in found.values()} == {level}
    extrapolation = found["error_model"].authority if level is Level.RECOMMENDATION else None
    assert found["content_type"].authority == (extrapolation or CHECKS["content_type"].authority)


@pytest.mark.parametrize("key", ["content_type", "error_model"])
def test_an_error_body_the_step_asks_for_keeps_the_must(key: str) -> None:
    """A step that writes the key asks on the scenario's authority, whatever the code."""
    exchange = _exchange(409, b"conflict", "text/plain")
    asked = Expect.of({"status": 409, "content_type": "application/json", "error_model": True})
    failures = run_checks(CheckContext(exchange, asked, default_store()))
    assert [(f.level, f.authority) for f in failures if f.check == key] == [(Level.MUST, "")]


def test_a_check_declared_a_recommendation_warns() -> None:
    lenient = Check("request_id_echo", check_request_id_echo, "a source", Level.RECOMMENDATION)
    exchange = _exchange(200, b"{}", "application/json", echo=False)
    ctx = CheckContext(exchange, Expect(), default_store())
    (found,) = lenient(ctx)
    assert (found.level, found.authority) == (Level.RECOMMENDATION, "a source")


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    with SandboxServer(tmp_path_factory.mktemp("levels-sandbox")) as server:
        yield server


def _run(sandbox: SandboxServer, tmp_path: Path, text: str) -> list[StepResult]:
    profile = load_profile(sandbox.profile_path)
    client = StetClient.for_profile(profile, Redactor(profile.secrets()))
    try:
        return run_scenario(
            load_file(_write(tmp_path, text))[0], RunContext(profile, client, default_store())
        )
    finally:
        client.close()


def test_a_recommendation_not_met_is_a_warning_not_a_failure(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    (result,) = _run(
        sandbox,
        tmp_path,
        f"""
        - id: X-1
          title: t
          persona: CLAIRE
          request: {{method: GET, path: /accounts}}
          expect: {{status: [200, 403]}}
          recommend:
            status: 403
            data: [{{path: accounts, length: 2}}]
            authority: "{AUTHORITY}"
        """,
    )
    assert result.failures == []
    assert [(w.check, w.message, w.level, w.authority) for w in result.warnings] == [
        ("status", "expected HTTP 403, got 200", Level.RECOMMENDATION, AUTHORITY)
    ]  # a wrong status hides the body checks, as in expect


def test_recommendations_are_judged_only_when_the_musts_hold(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    (result,) = _run(
        sandbox,
        tmp_path,
        """
        - id: X-1
          title: t
          persona: CLAIRE
          request: {method: GET, path: /accounts}
          expect: {status: 404}
          recommend: {status: 403, authority: x}
        """,
    )
    assert [f.message for f in result.failures] == ["expected HTTP 404, got 200"]
    assert result.warnings == []


def test_an_oracle_reports_recommendations_as_warnings() -> None:
    exchange = _exchange(200, b"{}", "application/json")
    problems: list[str] = [should("not newest first", "no source: a harness choice")]
    warnings = oracles.fail(exchange, problems, Redactor())
    assert warnings == ["not newest first (recommendation: no source: a harness choice)"]
    with pytest.raises(CheckFailed, match=r"- not newest first \(recommendation: .*--strict\)"):
        oracles.fail(exchange, problems, Redactor(), strict=True)
    with pytest.raises(CheckFailed, match="- a MUST"):
        oracles.fail(exchange, ["a MUST", *problems], Redactor())


def test_outcome_of_a_passed_test_with_warnings() -> None:
    assert outcome("passed", [(WARNING_PROPERTY, "x")]) is Outcome.WARNING
    assert outcome("failed", [(WARNING_PROPERTY, "x")]) is Outcome.FAILED


# --- through pytest -----------------------------------------------------------------------------

SCENARIOS = f"""
- id: WARN-1
  title: CLAIRE's accounts, with a recommendation the sandbox does not follow
  persona: CLAIRE
  request: {{method: GET, path: /accounts}}
  expect: {{status: 200, schema: accounts}}
  recommend:
    data: [{{path: accounts, length: 3}}]
    authority: "{AUTHORITY}"

- id: OK-1
  title: A recommendation the sandbox follows
  persona: CLAIRE
  request: {{method: GET, path: /accounts}}
  expect: {{status: 200}}
  recommend: {{data: [{{path: accounts, length: 2}}], authority: a seed row}}
"""

SUITE = """
from stet_conformance.fuzz import oracles
from stet_conformance.verdict import should


def test_oracle_recommendation(fuzz):
    exchange = fuzz.send("CLAIRE", "GET", "/accounts")
    problems = oracles.conforms(exchange, [200], fuzz.run.schemas)
    problems.append(should("accounts are not sorted by IBAN", "no source: a harness choice"))
    fuzz.check(exchange, problems)
"""


def _pytest(pytester: pytest.Pytester, sandbox: SandboxServer, *args: str) -> pytest.RunResult:
    (pytester.path / "scenarios").mkdir(exist_ok=True)
    (pytester.path / "scenarios" / "x.yaml").write_text(SCENARIOS, encoding="utf-8")
    pytester.makepyfile(test_suite=SUITE)
    return pytester.runpytest_subprocess(
        f"--stet-target={sandbox.profile_path}", "-p", "no:cacheprovider", *args
    )


def _junit_warnings(path: Path) -> dict[str, list[str]]:
    return {
        str(case.get("name")): [
            str(p.get("value")) for p in case.iter("property") if p.get("name") == WARNING_PROPERTY
        ]
        for case in ET.parse(path).iter("testcase")
    }


def test_warnings_pass_and_show_everywhere(
    pytester: pytest.Pytester, sandbox: SandboxServer
) -> None:
    result = _pytest(pytester, sandbox, "--stet-results=results")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        [
            "*STET warnings: recommendations not met*",
            "scenarios/x.yaml::WARN-1: step 'request' (line 5): [[]data[]] accounts length: "
            f"#0: length 2 is not == 3 (recommendation: {AUTHORITY})",
            "test_suite.py::test_oracle_recommendation: accounts are not sorted by IBAN "
            "(recommendation: no source: a harness choice)",
            "*STET coverage*",
            "warnings: 2 recommendations not met, in 2 tests",
        ]
    )
    results = pytester.path / "results"
    junit = _junit_warnings(results / "junit.xml")
    assert junit["OK-1"] == []
    assert len(junit["WARN-1"]) == len(junit["test_oracle_recommendation"]) == 1
    run = json.loads((results / "run.json").read_text(encoding="utf-8"))
    assert (run["counts"]["warning"], run["counts"]["passed"], run["warnings"]) == (1, 1, 2)
    coverage = json.loads((results / "coverage.json").read_text(encoding="utf-8"))
    assert coverage["scenarios"] == {"OK-1": "passed", "WARN-1": "warning"}
    allure = [
        json.loads(p.read_text(encoding="utf-8"))
        for p in (results / "allure").glob("*-result.json")
    ]
    tagged = {
        r["name"]
        for r in allure
        if {"name": "tag", "value": "warning"} in r["labels"]
        and "warnings" in [a["name"] for a in r["attachments"]]
        and r["status"] == "passed"
    }
    assert tagged == {
        "WARN-1: CLAIRE's accounts, with a recommendation the sandbox does not follow",
        "test_oracle_recommendation",
    }


def test_strict_makes_warnings_failures(pytester: pytest.Pytester, sandbox: SandboxServer) -> None:
    result = _pytest(pytester, sandbox, "--stet-strict", "--junitxml=junit.xml")
    result.assert_outcomes(passed=1, failed=2)
    output = result.stdout.str()
    strict = "a failure under --strict)"
    assert f"length 2 is not == 3 (recommendation: {AUTHORITY}; {strict}" in output
    assert (
        f"- accounts are not sorted by IBAN (recommendation: no source: a harness choice; {strict}"
        in output
    )
    assert "STET warnings: recommendations not met (failures: a strict run)" in output


def test_run_strict_passes_the_plugin_option(tmp_path: Path) -> None:
    args = parse(["run", "--strict"])
    assert "--stet-strict" in pytest_args(args, tmp_path / "p.yaml", tmp_path)
    assert "--stet-strict" not in pytest_args(parse(["run"]), tmp_path / "p.yaml", tmp_path)


def test_the_per_target_matrix_shows_warnings_as_passes() -> None:
    lines = matrix_lines({"bank": {"X-1": "warning", "X-2": "passed", "X-3": "failed"}})
    assert lines[2:] == ["X-1       warn", "X-2       pass", "X-3       FAIL", "passed    2/3"]
