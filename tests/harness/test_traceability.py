"""The traceability matrix (issue 15): its catalog, the cells tests derive, the run's table.

The project's own matrix, built from scenarios/ and suites/ metadata, must have no EMPTY cell;
every cell is covered by named tests or "n/a" with a reason.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import textwrap
from pathlib import Path

import pytest
from cli_run import cli, cli_command

from stet_conformance.cli.run import static_matrix
from stet_conformance.report.results import REPORTS_ENV
from stet_conformance.report.traceability import EMPTY, FAIL, NA, OK, SKIP, Matrix
from stet_conformance.scenario.loader import load_all, load_file
from stet_conformance.scenario.model import Scenario
from stet_conformance.scenario.traceability import (
    NOT_APPLICABLE,
    OPERATION_NAMES,
    OPERATIONS,
    OUTSIDE_MATRIX,
    RULE_NAMES,
    RULES,
    declared_cells,
    operation_of,
    scenario_cells,
)
from stet_conformance.shared.resources import scenarios_dir, schemas_dir

pytest_plugins = ["pytester"]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def project() -> Matrix:
    """The project's static matrix: every scenario file and every suite test, as collected."""
    return static_matrix(load_all(sorted(scenarios_dir().rglob("*.yaml"))), ROOT)


def test_rules_are_the_scenario_schema_enum() -> None:
    schema = json.loads((schemas_dir() / "scenario.schema.json").read_text())
    found = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "covers" in node and isinstance(node["covers"], dict):
                found.append(node["covers"]["items"]["enum"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    assert found == [list(RULE_NAMES)]


def test_catalog_names_are_unique_and_columns_short() -> None:
    assert len(set(OPERATION_NAMES)) == len(OPERATIONS) == 11
    assert len({(op.endpoint, op.tag) for op in OPERATIONS}) == len(OPERATIONS)
    assert len({rule.short for rule in RULES}) == len(RULES)
    assert all(len(rule.short) <= 5 and rule.meaning and rule.authority for rule in RULES)
    for (op, rule), reason in NOT_APPLICABLE.items():
        assert op in OPERATION_NAMES and rule in RULE_NAMES and reason, (op, rule)


def test_every_scenario_endpoint_maps_to_an_operation() -> None:
    loaded = load_all(sorted(scenarios_dir().rglob("*.yaml")))
    unmapped = [
        f"{s.id}: {s.endpoint!r}"
        for s in loaded
        if operation_of(s.endpoint, s.tags) is None and s.endpoint not in OUTSIDE_MATRIX
    ]
    assert not unmapped, "endpoints outside the catalog: " + "; ".join(unmapped)


def test_no_test_claims_a_cell_the_catalog_calls_not_applicable(project: Matrix) -> None:
    assert project.not_applicable_claimed() == []


def test_the_project_matrix_has_no_empty_cell(project: Matrix) -> None:
    empty = [f"{op} x {rule}" for op, rule in project.empty()]
    assert not empty, f"{len(empty)} EMPTY cells: " + ", ".join(empty)


def test_existing_tests_cover_what_they_test(project: Matrix) -> None:
    """Spot checks of tagged scenarios and suites, and of the automatic checks."""
    assert project.tests[("accounts", "signature")] >= {
        "SEC-NO-SIGNATURE",
        "test_missing_signature_is_refused",
    }
    assert "ACC-3" in project.tests[("accounts", "method")]
    assert "ACC-2" in project.tests[("accounts", "scope")]
    assert "test_wrong_scope_token_is_403" in project.tests[("transactions", "scope")]
    assert "RUL-BODY-FALLBACK" in project.tests[("fallback", "content_type")]
    assert "FBK-1" not in project.tests.get(("token", "content_type"), set())
    assert "FBK-2" not in project.tests[("fallback", "content_type")]  # any media type: no check
    # PIS-2's 409 and TBN-1's 501 have no body STET defines: their ErrorModel is no MUST.
    confirmation = project.tests[("payment_confirmation", "error_model")]
    assert "PIS-5" in confirmation and "PIS-2" not in confirmation
    assert "TBN-1" not in project.tests.get(("beneficiaries", "error_model"), set())
    assert ("beneficiaries", "error_model") in NOT_APPLICABLE


# The GET /accounts cell of a rule (security.yaml), the rules.yaml scenarios of the same rule, the
# name of their step that repeats it (None: every step), and what must be the same.
SAME_VERDICT = [
    ("SEC-NO-TOKEN", "RUL-TOKEN-", "no access token", ("expect", "recommend")),
    ("SEC-UNKNOWN-TOKEN", "RUL-TOKEN-", "an unknown access token", ("expect", "recommend")),
    ("SEC-NO-SIGNATURE", "RUL-SIGNATURE-", "no Signature", ("expect",)),
    ("SEC-BAD-SIGNATURE", "RUL-SIGNATURE-", "a Signature that does not verify", ("expect",)),
    ("SEC-DIGEST-MISMATCH", "RUL-DIGEST-", None, ("recommend",)),  # the served code differs
    ("SEC-CROSS-PSU", "RUL-OTHER-PSU-", None, ("expect",)),
]
# Steps whose verdict differs on purpose: the list the bank does not offer may answer 501 or 400
# first (portal, Limits), and a consent naming another PSU's account may be taken if that account
# stays closed (the scenario's next step repeats the rule's verdict).
OWN_VERDICT = {
    ("RUL-SIGNATURE-BENEFICIARIES", "no Signature"),
    ("RUL-SIGNATURE-BENEFICIARIES", "a Signature that does not verify"),
    ("RUL-TOKEN-BENEFICIARIES", "no access token"),
    ("RUL-TOKEN-BENEFICIARIES", "an unknown access token"),
    ("RUL-OTHER-PSU-CONSENTS", "a consent with another PSU's account"),
}


@pytest.fixture(scope="module")
def scenarios() -> list[Scenario]:
    return load_all(sorted(scenarios_dir().rglob("*.yaml")))


@pytest.mark.parametrize(
    ("column", "prefix", "name", "parts"), SAME_VERDICT, ids=[v[0] for v in SAME_VERDICT]
)
def test_a_rule_has_one_verdict_on_every_operation(
    scenarios: list[Scenario], column: str, prefix: str, name: str | None, parts: tuple[str, ...]
) -> None:
    """rules.yaml writes each rule's verdict once (YAML anchors); the rule's GET /accounts cell is
    in security.yaml, which anchors cannot reach: a change to one must go to the other."""
    (want,) = (s.steps[0] for s in scenarios if s.id == column)
    steps = [
        step
        for s in scenarios
        if s.id.startswith(prefix)
        for step in s.steps
        if (name is None or step.name == name) and (s.id, step.name) not in OWN_VERDICT
    ]
    assert len(steps) >= 2
    for part in parts:
        assert [getattr(step, part) for step in steps] == [getattr(want, part)] * len(steps)


def _scenarios(tmp_path: Path, text: str) -> dict[str, Scenario]:
    path = tmp_path / "scenarios" / "x.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return {s.id: s for s in load_file(path)}


AUTOMATIC = """
- id: SERVED
  title: t
  endpoint: GET /accounts
  covers: [signature]
  persona: LEA
  request: {method: GET, path: /accounts}
  expect: {status: 200}
- id: REFUSED
  title: t
  endpoint: GET /accounts/{id}/balances
  persona: LEA
  request: {method: POST, path: "/accounts/{{ account('LEA', 'balances').resource_id }}/balances"}
  expect: {status: 405}
- id: MAYBE
  title: t
  endpoint: GET /accounts
  persona: LEA
  request: {method: GET, path: /accounts, request_id: false}
  expect: {status: [400, 204]}
- id: OAUTH-ERROR
  title: t
  endpoint: GET /accounts
  persona: LEA
  request: {method: GET, path: /accounts, token: expired}
  expect: {status: 401, oauth_error: invalid_token, request_id_echo: false}
- id: CONFLICT
  title: t
  endpoint: GET /accounts
  persona: LEA
  request: {method: GET, path: /accounts}
  expect: {status: [409, 400]}
- id: CONFLICT-ASKED
  title: t
  endpoint: GET /accounts
  persona: LEA
  request: {method: GET, path: /accounts}
  expect: {status: [409, 501], content_type: application/json, error_model: true}
- id: OTHER-PATH
  title: t
  endpoint: GET /accounts
  persona: LEA
  request: {method: GET, path: /end-user-identity}
  expect: {status: 200}
- id: TOKEN
  title: t
  area: OAuth
  endpoint: POST /oauth/token
  request:
    method: POST
    url: "{{ target.token_url }}"
    token: none
    form: {grant_type: client_credentials}
  expect: {status: 400, oauth_error: invalid_request}
- id: FALLBACK
  title: t
  area: OAuth
  endpoint: POST /oauth/token
  tags: [fallback]
  request:
    method: POST
    url: "{{ target.token_url }}"
    token: none
    form: {grant_type: client_credentials}
  expect: {status: 302, content_type: text/html}
"""


def test_scenario_cells_from_covers_and_automatic_checks(tmp_path: Path) -> None:
    got = {name: scenario_cells(s) for name, s in _scenarios(tmp_path, AUTOMATIC).items()}
    accounts = {("accounts", r) for r in ("signature", "request_id_echo", "content_type")}
    assert got["SERVED"] == accounts
    # A wrong method on the operation's path is a test of that operation: 405 is an ErrorModel.
    assert got["REFUSED"] == {
        ("balances", r) for r in ("request_id_echo", "content_type", "error_model")
    }
    # No X-Request-ID sent; a 204 may have no body; a 2xx is allowed: no automatic cell.
    assert got["MAYBE"] == set()
    # An OAuth error is expected instead of an ErrorModel; the echo is switched off.
    assert got["OAUTH-ERROR"] == {("accounts", "content_type")}
    # On a 409 STET defines no body: unasked, its JSON type and ErrorModel only warn.
    assert got["CONFLICT"] == {("accounts", "request_id_echo")}
    assert got["CONFLICT-ASKED"] == {
        ("accounts", r) for r in ("request_id_echo", "content_type", "error_model")
    }
    assert got["OTHER-PATH"] == set()  # its step requests another operation's path
    # The token endpoint: the echo and the ErrorModel are n/a there, the content type is not.
    assert got["TOKEN"] == {("token", "content_type")}
    assert got["FALLBACK"] == {("fallback", "content_type")}  # the tag picks the operation


def test_declared_cells_of_a_marker() -> None:
    assert declared_cells(["token"], ["accounts", "balances"]) == {
        ("accounts", "token"),
        ("balances", "token"),
    }
    assert declared_cells(["scope", "method"], "consents") == {
        ("consents", "scope"),
        ("consents", "method"),
    }
    with pytest.raises(ValueError, match="unknown rule 'signatures'"):
        declared_cells(["signatures"], "accounts")
    with pytest.raises(ValueError, match="unknown operation 'account'"):
        declared_cells(["token"], ["account"])
    with pytest.raises(ValueError, match="on="):
        declared_cells(["token"], None)


def test_cell_states_of_a_run() -> None:
    matrix = Matrix()
    matrix.add("A", [("accounts", "token"), ("balances", "token")])
    matrix.add("B", [("accounts", "token"), ("transactions", "token")])
    matrix.add("C", [("consents", "token")])
    matrix.add_outcome("A", "passed")
    matrix.add_outcome("B", "failed")
    matrix.add_outcome("B", "passed")  # a later passed phase does not hide the failure
    matrix.add_outcome("C", "skipped")
    assert matrix.state(("accounts", "token")) == FAIL
    assert matrix.state(("balances", "token")) == OK
    assert matrix.state(("transactions", "token")) == FAIL
    assert matrix.state(("consents", "token")) == SKIP
    assert matrix.state(("identity", "token")) == EMPTY
    assert matrix.state(("accounts", "digest")) == NA
    static = Matrix(run=False)
    static.add("A", [("accounts", "token")])
    static.add("B", [("accounts", "token")])
    assert static.state(("accounts", "token")) == "2"
    assert static.state(("balances", "token")) == EMPTY


def test_table_json_and_text(tmp_path: Path) -> None:
    matrix = Matrix()
    matrix.add("ACC-2", [("accounts", "scope")])
    matrix.add_outcome("ACC-2", "warning")
    table = matrix.table()
    assert table[0].split() == ["operation", *(r.short for r in RULES)]
    row = next(line for line in table if line.startswith("accounts "))
    assert row.split()[1:] == [matrix.state(("accounts", r.name)) for r in RULES]
    assert row.split()[1 + RULE_NAMES.index("scope")] == OK
    assert table[-1] == f"EMPTY cells: {len(matrix.empty())}"
    matrix.write(tmp_path / "t.json", tmp_path / "t.txt")
    data = json.loads((tmp_path / "t.json").read_text())
    assert data["cells"]["accounts"]["scope"] == {"state": OK, "tests": {"ACC-2": "warning"}}
    assert data["cells"]["accounts"]["digest"]["reason"] == NOT_APPLICABLE[("accounts", "digest")]
    assert "identity x scope" in data["empty"]
    text = (tmp_path / "t.txt").read_text()
    assert "accounts x scope: ACC-2" in text
    assert f"accounts x digest: n/a, {NOT_APPLICABLE[('accounts', 'digest')]}" in text
    assert matrix.environment()["matrix.accounts"].split(", ")[4] == "scope ok"


SUITE = """
import pytest

@pytest.mark.stet_covers("token", on=["accounts", "balances"])
def test_refuses():
    pass

@pytest.mark.stet_covers("token", on="accounts")
def test_breaks():
    assert False

@pytest.mark.stet_covers("method", on="consents")
def test_skips():
    pytest.skip("no")
"""


def test_a_run_prints_and_writes_the_matrix(pytester: pytest.Pytester) -> None:
    """Cells from suite markers reach the recorder (the same path as with xdist)."""
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest_subprocess("--stet-results", "out", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1, skipped=1)
    result.stdout.fnmatch_lines(
        [
            "*STET traceability matrix (operations x rules)*",
            "accounts * n/a   FAIL  * n/a   *",
            "balances * n/a   ok    * n/a   *",
        ]
    )
    out = pytester.path / "out"
    cells = json.loads((out / "traceability.json").read_text())["cells"]
    assert cells["accounts"]["token"] == {
        "state": FAIL,
        "tests": {"test_breaks": "failed", "test_refuses": "passed"},
    }
    assert cells["consents"]["method"]["state"] == SKIP
    assert (out / "traceability.txt").read_text().startswith("operation ")
    environment = (out / "allure" / "environment.properties").read_text()
    assert "matrix.balances=mtls EMPTY, signature EMPTY, digest n/a, token ok," in environment
    (globals_file,) = (out / "allure").glob("*-globals.json")
    (attachment,) = json.loads(globals_file.read_text())["attachments"]
    assert attachment["name"] == "Traceability matrix (operations x rules)"
    assert (out / "allure" / attachment["source"]).read_text() == (
        out / "traceability.txt"
    ).read_text()


@pytest.mark.parametrize(
    ("selection", "narrowed"),
    [
        ([], False),
        (["-k", "refuses"], True),
        (["-m", "stet_covers"], True),
        (["--stet-id", "test_skips"], True),
    ],
)
def test_a_selection_says_its_empty_cells_may_be_outside_it(
    pytester: pytest.Pytester, selection: list[str], narrowed: bool
) -> None:
    """A pointed run (-k, -m, --id) leaves most cells EMPTY: the count says why, and the JSON
    says the run was a selection, so neither reads as missing coverage of a full run."""
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest_subprocess(
        "--stet-results", "out", "-p", "no:cacheprovider", *selection
    )
    (count,) = [line for line in result.outlines if line.startswith("EMPTY cells: ")]
    assert ("a selection: the cells of the tests it leaves out are EMPTY" in count) is narrowed
    data = json.loads((pytester.path / "out" / "traceability.json").read_text())
    assert data["narrowed"] is narrowed


def test_a_misspelt_marker_is_one_line_naming_the_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_bad="""
        import pytest

        @pytest.mark.stet_covers("sign", on="accounts")
        def test_x():
            pass
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*test_bad.py:3: stet_covers: unknown rule 'sign' (known: mtls,*"])


def test_run_matrix_prints_the_project_matrix_and_sends_nothing(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    done = cli("run", "--matrix", timeout=120, env={REPORTS_ENV: str(reports)})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["operation", *(r.short for r in RULES)]
    assert any(
        line.startswith("accounts x signature: ") and "SEC-NO-SIGNATURE" in line for line in lines
    )
    assert f"accounts x digest: n/a, {NOT_APPLICABLE[('accounts', 'digest')]}" in lines
    assert not reports.exists()  # no results directory: nothing ran


def test_the_reports_page_names_every_rule_and_operation() -> None:
    page = (ROOT / "docs" / "reports.md").read_text(encoding="utf-8")
    section = page.split("## Traceability matrix", 1)[1]
    missing = [n for n in (*RULE_NAMES, *OPERATION_NAMES) if f"`{n}`" not in section]
    assert not missing


def test_run_matrix_piped_into_head_ends_quietly() -> None:
    command = f"{shlex.join(cli_command('run', '--matrix'))} | head -1"
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("operation ")
