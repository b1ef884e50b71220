"""The scenarios' recommendations: where the sources allow several answers but prefer one, the
other allowed answer passes with a warning citing the source, and the preferred one passes clean.
``stop_when`` ends the steps on an allowed answer that leaves nothing to check; ``oauth_error``
judges error answers only. A standing order's schedules share one entryReference; an account's
currency may sit in accountId; a scope the portal's SCOPES list allows, or a decimal comma, may be
served (a warning). Real scenarios against sandboxes with faults or the variants."""

from __future__ import annotations

import datetime as dt
import shutil
import textwrap
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import pytest

from stet_conformance.checks import CheckContext, Expect, run_checks
from stet_conformance.checks.schemas import default_store
from stet_conformance.config.profile import load_profile
from stet_conformance.errors import ScenarioError
from stet_conformance.http.client import Exchange, StetClient
from stet_conformance.http.redact import Redactor
from stet_conformance.sandbox.server import SandboxServer
from stet_conformance.scenario.loader import load_all, load_file
from stet_conformance.scenario.model import Scenario
from stet_conformance.scenario.runner import RunContext, StepResult, run_scenario
from stet_conformance.shared.resources import scenarios_dir
from stet_conformance.verdict import Level

# Faults that break only a recommendation, each of a scenario below (one sandbox for all).
RECOMMENDATION_FAULTS = (
    "request-id-optional",
    "digest-unchecked",
    "no-token-400",
    "confirmation-twice-400",
    "token-no-expires-in",
    "revoked-token-no-invalid-token",
    "funds-wrong-scope-ok",
    "confirmation-aisp-ok",
    "funds-amount-lenient",  # still a failure: its report echoes 12,50
    "transactions-wrong-scope-ok",
)
# scenario id -> (sandbox, the warning's check, words of its authority)
WARNED = {
    "SEC-NO-REQUEST-ID": ("faults", "status", "X-Request-ID required on every operation"),
    "SEC-DIGEST-MISMATCH": ("faults", "status", 'Digest is the "body synthesis"'),
    "SEC-NO-TOKEN": ("faults", "status", "RFC 6750 3 and 3.1"),
    "PIS-2": ("faults", "status", '409 "Conflict.'),
    "OAU-CODE-FLOW": ("faults", "data", "RFC 6749 5.1: expires_in"),
    "OAU-REVOKE-REFRESH": ("faults", "oauth_error", "RFC 6750 3: a refused access token"),
    "OAU-REVOKE-ACCESS": ("faults", "oauth_error", "RFC 6750 3: a refused access token"),
    "TBN-1": ("choices", "status", '501 "should be used'),
    "CON-1": ("choices", "body_empty", "the 201 response declares no schema"),
    "CON-3": ("choices", "status", "acceptance test 3"),
    "SEC-UNKNOWN-TOKEN": ("choices", "status", "RFC 6750 3.1"),
    "IDN-1": ("choices", "schema", "no source in hand"),
    "TRX-1": ("choices", "schema", "Swagger 2.0 has no null"),
    "CBP-3": ("faults", "status", "SCOPES for this endpoint also list"),
    "PIS-4": ("faults", "status", "SCOPES for the confirmation also list"),
    "CBP-4": ("choices", "status", "AmountType.amount pattern"),
    "SEC-SCOPE-CBPII-ON-TRANSACTIONS": ("faults", "status", "SCOPES for Get transactions"),
    "ACC-1": ("data", "data", "AccountResource: currency is required"),
}

CONFORMANT = {"target.identity_available": True}  # the settings of the sandbox's profile


def _started(
    source: SandboxServer, directory: Path, faults: Sequence[str] = (), variant: str = ""
) -> SandboxServer:
    shutil.copytree(source.pki.directory, directory / "pki")  # reuse the session's PKI (fast)
    return SandboxServer(directory, faults, variants=[variant] if variant else [])


@pytest.fixture(scope="module")
def sandboxes(
    sandbox: SandboxServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, SandboxServer]]:
    faulty = _started(sandbox, tmp_path_factory.mktemp("faults"), faults=RECOMMENDATION_FAULTS)
    choices = _started(sandbox, tmp_path_factory.mktemp("choices"), variant="choices")
    data = _started(sandbox, tmp_path_factory.mktemp("data"), variant="data")
    with faulty, choices, data:
        yield {"faults": faulty, "choices": choices, "data": data, "conformant": sandbox}


@pytest.fixture(scope="module")
def scenarios() -> dict[str, Scenario]:
    return {s.id: s for s in load_all(sorted(scenarios_dir().glob("*.yaml")))}


def _run(server: SandboxServer, scenario: Scenario) -> list[StepResult]:
    server.state.reset(uuid.uuid4().hex)  # as a run starts: the disposable tokens unused again
    profile = load_profile(server.profile_path)
    client = StetClient.for_profile(profile, Redactor(profile.secrets()))
    try:
        return run_scenario(scenario, RunContext(profile, client, default_store()))
    finally:
        client.close()


@pytest.mark.parametrize("scenario_id", sorted(WARNED))
def test_the_other_allowed_answer_passes_with_a_warning_citing_its_source(
    sandboxes: dict[str, SandboxServer], scenarios: dict[str, Scenario], scenario_id: str
) -> None:
    where, check, authority = WARNED[scenario_id]
    results = _run(sandboxes[where], scenarios[scenario_id])
    assert [f for r in results for f in r.failures] == []
    warnings = [w for r in results for w in r.warnings]
    assert [(w.check, w.level) for w in warnings] == [(check, Level.RECOMMENDATION)]
    assert authority in warnings[0].authority


@pytest.mark.parametrize("scenario_id", sorted([*WARNED, "TRX-CAP-500"]))
def test_the_conformant_sandbox_follows_every_recommendation(
    sandboxes: dict[str, SandboxServer], scenarios: dict[str, Scenario], scenario_id: str
) -> None:
    scenario = scenarios[scenario_id]
    results = _run(sandboxes["conformant"], scenario)
    assert [f for r in results for f in r.failures] == []
    assert [w for r in results for w in r.warnings] == []
    # every step for the conformant profile's settings ran (IDN-1 has one per identity_available)
    applies = [s for s in scenario.steps if all(CONFORMANT.get(k, v) == v for k, v in s.when)]
    assert len(results) == len(applies) + len(scenario.cleanup)


def test_a_standing_orders_shared_entry_reference_passes(
    sandboxes: dict[str, SandboxServer], scenarios: dict[str, Scenario]
) -> None:
    """The portal's entryReference section, Note 1: the schedules of a standing order share it."""
    results = _run(sandboxes["choices"], scenarios["TRX-CAP-500"])
    assert [f for r in results for f in r.failures] == []
    body = results[0].exchange.body if results[0].exchange else None
    references = [t.get("entryReference") for t in body["transactions"]]
    assert len(set(references)) < len(references)  # the variant did share some


def test_a_served_answer_must_still_be_well_formed(
    sandboxes: dict[str, SandboxServer], scenarios: dict[str, Scenario]
) -> None:
    """Serving "12,50" is allowed; a report echoing the amount outside STET's pattern is not
    (the fault funds-amount-lenient: still a failure)."""
    results = _run(sandboxes["faults"], scenarios["CBP-4"])
    failures = [f for r in results for f in r.failures]
    assert [f.check for f in failures] == ["schema"]
    assert "'12,50' does not match" in failures[0].message


@pytest.mark.parametrize("scenario_id", ["TRX-FROM-INCLUSIVE", "TRX-TO-EXCLUSIVE"])
def test_the_boundary_day_is_picked_inside_the_window_at_an_oldest_first_bank(
    sandboxes: dict[str, SandboxServer], scenarios: dict[str, Scenario], scenario_id: str
) -> None:
    """Not the oldest day listed (the depth limit, which a bank counting the depth to the
    instant refuses as dateFrom): a day of the last 30, whatever the order."""
    results = _run(sandboxes["choices"], scenarios[scenario_id])  # with oldest-first
    assert [f for r in results for f in r.failures] == []
    boundary = results[1].exchange.request.url.params if results[1].exchange else {}
    day = dt.date.fromisoformat(next(iter(boundary.values()))[:10])
    assert day >= dt.datetime.now(dt.UTC).date() - dt.timedelta(days=31)


def test_a_server_that_cannot_revoke_access_tokens_ends_the_scenario_with_a_warning(
    sandboxes: dict[str, SandboxServer], scenarios: dict[str, Scenario]
) -> None:
    scenario = scenarios["OAU-REVOKE-ACCESS"]
    names = [s.name for s in scenario.steps]
    at = names.index("revoke the access token")  # the steps after it are not run
    results = _run(sandboxes["choices"], scenario)
    assert [r.step.name for r in results] == names[: at + 1]
    assert [f for r in results for f in r.failures] == []
    warnings = results[-1].warnings
    assert [w.check for w in warnings] == ["status", "stop_when"]
    revoke = scenario.steps[at].recommend
    assert revoke is not None and {w.authority for w in warnings} == {revoke.authority}
    assert "unsupported_token_type" in warnings[1].message


# --- stop_when and oauth_error, on scenarios written here --------------------------------------


def _write(directory: Path, text: str) -> Path:
    path = directory / "x.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


STOPPING = """
- id: X-1
  title: t
  persona: CLAIRE
  steps:
    - name: first
      request: {method: GET, path: /accounts}
      expect: {status: [200, 403]}
      recommend: {status: 403, authority: a source}
      stop_when: {status: 200, reason: nothing left to check}
    - name: second
      request: {method: GET, path: /nowhere}
      expect: {status: 200}
  cleanup:
    - name: always
      request: {method: GET, path: /accounts}
      expect: {status: 200}
"""


def test_stop_when_ends_the_steps_and_still_runs_the_cleanup(
    sandboxes: dict[str, SandboxServer], tmp_path: Path
) -> None:
    (scenario,) = load_file(_write(tmp_path, STOPPING))
    results = _run(sandboxes["conformant"], scenario)
    assert [r.step.name for r in results] == ["first", "always"]
    assert [(w.check, w.authority) for w in results[0].warnings] == [
        ("status", "a source"),
        ("stop_when", "a source"),
    ]
    assert results[0].warnings[1].message == "the later steps were not run: nothing left to check"


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        (
            ["recommend: {status: 403, authority: a}", "stop_when: {status: 404, reason: r}"],
            ":7: stop_when: status must be among expect's status codes",
        ),
        (
            ["stop_when: {status: 200, reason: r}"],
            ":6: stop_when needs a recommend: with a status that leaves out its codes",
        ),
        (
            [
                "recommend: {data: [{path: a, exists: true}], authority: a}",
                "stop_when: {status: 200, reason: r}",
            ],
            ":7: stop_when needs a recommend: with a status that leaves out its codes",
        ),
        (
            [
                "recommend: {status: [200, 403], authority: a}",
                "stop_when: {status: 200, reason: r}",
            ],
            ":7: stop_when needs a recommend: with a status that leaves out its codes",
        ),
        (["stop_when: {status: 200}"], ":6: [0].steps[0].stop_when: missing key: 'reason'"),
    ],
)
def test_a_stop_when_that_could_end_silently_is_refused_with_its_line(
    tmp_path: Path, keys: list[str], message: str
) -> None:
    lines = ["- id: X-1", "  title: t", "  steps:", "    - request: {method: GET, path: /a}"]
    lines += ["      expect: {status: [200, 403]}"] + [f"      {key}" for key in keys]
    path = tmp_path / "x.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_file(path)
    assert message in str(info.value)


def test_stop_when_is_refused_in_cleanup(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
        - id: X-1
          title: t
          request: {method: GET, path: /a}
          expect: {status: 200}
          cleanup:
            - request: {method: GET, path: /a}
              expect: {status: [200, 403]}
              recommend: {status: 403, authority: a}
              stop_when: {status: 200, reason: r}
        """,
    )
    with pytest.raises(ScenarioError, match=r":9: stop_when is not allowed in cleanup steps"):
        load_file(path)


def _exchange(status: int, body: bytes) -> Exchange:
    request = httpx.Request("POST", "https://bank.example/revoke")
    headers = {"Content-Type": "application/json"}
    return Exchange(request, httpx.Response(status, content=body, headers=headers), 0.0)


@pytest.mark.parametrize(
    ("status", "body", "found"),
    [
        (200, b"", []),
        (204, b"", []),
        (400, b'{"error": "unsupported_token_type"}', []),
        (400, b'{"error": "invalid_request"}', ["oauth_error"]),
    ],
)
def test_oauth_error_judges_error_answers_only(status: int, body: bytes, found: list[str]) -> None:
    expect = Expect.of(
        {"status": [200, 204, 400], "oauth_error": "unsupported_token_type", "error_model": False}
    )
    failures = run_checks(CheckContext(_exchange(status, body), expect, default_store()))
    assert [f.check for f in failures if f.check != "request_id_echo"] == found
