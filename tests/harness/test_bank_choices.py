"""What a bank declares where its sources leave a choice (``identity_available``,
``transaction_statuses``, ``fallback.token_param``), and expectations no stricter than their
sources: tolerated nulls, the unverified identity schema, /revoke bodies, unknown tokens. Real
scenarios against the sandbox's variants (the other legitimate choice) and faults (still caught)."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from stet_conformance.checks import CheckContext, Expect, run_checks
from stet_conformance.checks.base import EXTRAPOLATED_ERROR_MODEL
from stet_conformance.checks.data import evaluate
from stet_conformance.checks.schemas import default_store
from stet_conformance.config.profile import load_profile
from stet_conformance.config.settings import BankChoices
from stet_conformance.errors import UsageError
from stet_conformance.fuzz import oracles
from stet_conformance.http.client import Exchange, StetClient
from stet_conformance.http.redact import Redactor
from stet_conformance.http.signing import RequestOptions
from stet_conformance.sandbox.server import SandboxServer
from stet_conformance.scenario.loader import load_all
from stet_conformance.scenario.model import Scenario
from stet_conformance.scenario.runner import RunContext, StepResult, plan_scenario, run_scenario
from stet_conformance.shared.resources import scenarios_dir
from stet_conformance.verdict import Level, level_of

ANY_SOURCE = "a source"


def _start(
    source: SandboxServer,
    directory: Path,
    faults: Sequence[str] = (),
    variants: Sequence[str] = (),
) -> SandboxServer:
    shutil.copytree(source.pki.directory, directory / "pki")  # reuse the session's PKI (fast)
    return SandboxServer(directory, faults, variants=variants)


@pytest.fixture(scope="module")
def banks(
    sandbox: SandboxServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, SandboxServer]]:
    """The conformant sandbox, both variants, and the faults of these areas."""
    started = {
        "choices": _start(sandbox, tmp_path_factory.mktemp("choices"), variants=["choices"]),
        "data": _start(sandbox, tmp_path_factory.mktemp("data"), variants=["data"]),
        "faults": _start(
            sandbox,
            tmp_path_factory.mktemp("faults"),
            faults=[
                "status-pdng",
                "fallback-location-no-token",
                "identity-no-connected-psu",
                "signature-optional",
                "signature-unchecked",
            ],
        ),
    }
    started["data-broken-self"] = _start(
        sandbox, tmp_path_factory.mktemp("broken"), faults=["self-href-wrong"], variants=["data"]
    )
    with started["choices"], started["data"], started["faults"], started["data-broken-self"]:
        yield {**started, "conformant": sandbox}


@pytest.fixture(scope="module")
def scenarios() -> dict[str, Scenario]:
    return {s.id: s for s in load_all(sorted(scenarios_dir().glob("*.yaml")))}


def _profile_with(server: SandboxServer, directory: Path, extra: str) -> Path:
    """The server's own profile plus ``extra`` settings, beside a copy of its PKI."""
    shutil.copytree(server.pki.directory, directory / "pki", dirs_exist_ok=True)
    path = directory / "profile.yaml"
    path.write_text(server.profile_path.read_text(encoding="utf-8") + extra, encoding="utf-8")
    return path


def _run(profile_path: Path, scenario: Scenario) -> tuple[list[StepResult], Redactor]:
    profile = load_profile(profile_path)
    redactor = Redactor(profile.secrets())
    client = StetClient.for_profile(profile, redactor)
    try:
        return run_scenario(scenario, RunContext(profile, client, default_store())), redactor
    finally:
        client.close()


def _verdict(results: list[StepResult]) -> tuple[list[str], list[str]]:
    failures = [f"{r.step.name}: {f.message}" for r in results for f in r.failures]
    return failures, [w.authority for r in results for w in r.warnings]


# --- the profile --------------------------------------------------------------------------------


def test_the_defaults_are_the_portals(sandbox: SandboxServer) -> None:
    choices = load_profile(sandbox.profile_path).choices
    assert choices == BankChoices(True, ("BOOK", "OTHR"), "token")


def test_a_profile_declares_its_choices(sandbox: SandboxServer, tmp_path: Path) -> None:
    extra = (
        "identity_available: false\ntransaction_statuses: [BOOK, PDNG, OTHR]\n"
        "fallback: {token_param: jwt}\n"
    )
    choices = load_profile(_profile_with(sandbox, tmp_path, extra)).choices
    assert choices == BankChoices(False, ("BOOK", "PDNG", "OTHR"), "jwt")
    declared = _profile_with(sandbox, tmp_path, "vars: {fuzz: {signature_status: 401}}\n")
    assert load_profile(declared).choices.signature_status == (401,)


@pytest.mark.parametrize(
    ("extra", "setting"),
    [
        ("transaction_statuses: [BOOK, DONE]\n", "transaction_statuses"),
        ("transaction_statuses: []\n", "transaction_statuses"),
        ("identity_available: no\n", "identity_available"),
        ("fallback: {token_param: 'a b'}\n", "fallback.token_param"),
        ("fallback: {param: jwt}\n", "fallback"),
        ("vars: {fuzz: {signature_status: [200]}}\n", "vars.fuzz.signature_status"),
        ("vars: {fuzz: {signature_status: '401'}}\n", "vars.fuzz.signature_status"),
        ("vars: {fuzz: {signature_status: []}}\n", "vars.fuzz.signature_status"),
        # STET defines no response for 422: no source gives its format, the checks could not
        # judge the ErrorModel the matrix would count
        ("vars: {fuzz: {signature_status: [401, 422]}}\n", "vars.fuzz.signature_status"),
        ("vars: {fuzz: {signature_status: true}}\n", "vars.fuzz.signature_status"),
    ],
)
def test_a_wrong_choice_is_refused_naming_the_setting(
    sandbox: SandboxServer, tmp_path: Path, extra: str, setting: str
) -> None:
    with pytest.raises(UsageError) as info:
        load_profile(_profile_with(sandbox, tmp_path, extra))
    message = str(info.value)
    assert "profile.yaml:" in message and setting in message and "\n" not in message


# --- the other legitimate choice passes, the faults are still caught ----------------------------


@pytest.mark.parametrize(
    ("bank", "scenario_id", "step"),
    [
        ("data", "IDN-1", "identity is not available - refused"),
        ("data", "IDN-2", "identity is not available - refused"),
        ("conformant", "IDN-1", "the identity is served"),
        ("choices", "TRX-1", "request"),
        ("choices", "TRX-CAP-500", "request"),
        (
            "choices",
            "FBK-1",
            "the redirect opens the login page (or leads on to a single sign-on page)",
        ),
        ("data", "OAU-REVOKE-REFRESH", "the refresh token is refused"),
        ("choices", "SEC-UNKNOWN-TOKEN", "request"),
        ("choices", "SEC-NO-SIGNATURE", "request"),  # 401, declared in its profile
        ("choices", "SEC-BAD-SIGNATURE", "request"),
        ("choices", "SEC-DIGEST-MISMATCH", "request"),
        ("choices", "RUL-SIGNATURE-BENEFICIARIES", "a Signature that does not verify"),
        ("choices", "RUL-SIGNATURE-CONFIRMATION", "a Signature that does not verify"),
        ("choices", "RUL-DIGEST-FUNDS", "request"),
    ],
)
def test_the_other_legitimate_choice_passes(
    banks: dict[str, SandboxServer],
    scenarios: dict[str, Scenario],
    bank: str,
    scenario_id: str,
    step: str,
) -> None:
    results, _ = _run(banks[bank].profile_path, scenarios[scenario_id])
    assert _verdict(results)[0] == []
    assert results[-1].step.name == step  # the steps for the declared setting ran, to the end


def test_a_dry_run_lists_only_the_steps_for_the_declared_setting(
    banks: dict[str, SandboxServer], scenarios: dict[str, Scenario]
) -> None:
    for bank, step in (("conformant", "the identity is served"), ("data", "not available")):
        (line,) = plan_scenario(scenarios["IDN-1"], load_profile(banks[bank].profile_path))
        assert line.startswith("IDN-1 [") and step in line


def test_identity_declared_unavailable_but_served_fails(
    banks: dict[str, SandboxServer], scenarios: dict[str, Scenario], tmp_path: Path
) -> None:
    profile = _profile_with(banks["conformant"], tmp_path, "identity_available: false\n")
    failures, _ = _verdict(_run(profile, scenarios["IDN-1"])[0])
    assert failures == [
        "identity is not available - refused: expected HTTP 400 or 403 or 404 or 501, got 200"
    ]


@pytest.mark.parametrize(
    ("scenario_id", "found"),
    [
        ("TRX-1", "'PDNG'"),  # not declared: the portal's BOOK and OTHR
        ("TRX-CAP-500", "'PDNG'"),
        ("FBK-1", "cannot save 'fallback_token'"),
    ],
)
def test_the_faults_of_these_areas_are_still_caught(
    banks: dict[str, SandboxServer], scenarios: dict[str, Scenario], scenario_id: str, found: str
) -> None:
    failures, _ = _verdict(_run(banks["faults"].profile_path, scenarios[scenario_id])[0])
    assert failures and found in failures[0]


@pytest.mark.parametrize(
    ("bank", "extra", "scenario_id", "found"),
    [
        ("faults", "", "SEC-NO-SIGNATURE", "expected HTTP 400, got 200"),  # signature-optional
        ("faults", "", "SEC-BAD-SIGNATURE", "expected HTTP 400, got 200"),  # signature-unchecked
        ("faults", "vars: {fuzz: {signature_status: [401]}}\n", "SEC-BAD-SIGNATURE", "got 200"),
        ("faults", "vars: {fuzz: {signature_status: [401]}}\n", "RUL-SIGNATURE-FUNDS", "got 200"),
        ("conformant", "vars: {fuzz: {signature_status: [401]}}\n", "SEC-NO-SIGNATURE", "got 400"),
        ("choices", "undeclared", "SEC-BAD-SIGNATURE", "expected HTTP 400, got 401"),
    ],
)
def test_a_signature_refusal_is_the_declared_status_only(
    banks: dict[str, SandboxServer],
    scenarios: dict[str, Scenario],
    tmp_path: Path,
    bank: str,
    extra: str,
    scenario_id: str,
    found: str,
) -> None:
    """The declared status replaces the portal's 400; a bank serving a bad signature, or
    answering a status it does not declare, still fails."""
    profile = _profile_with(banks[bank], tmp_path, extra) if extra else banks[bank].profile_path
    if extra == "undeclared":  # the 401 bank, its profile without vars.fuzz.signature_status
        text = profile.read_text(encoding="utf-8").replace("undeclared", "")
        profile.write_text(text.replace('"fuzz": {"signature_status": [401]}', ""), "utf-8")
    failures, _ = _verdict(_run(profile, scenarios[scenario_id])[0])
    assert failures and found in failures[0]


@pytest.mark.parametrize(
    ("bank", "scenario_id", "warned"),
    [
        ("data", "PIS-2", {"content_type", "error_model"}),
        ("data", "TBN-1", {"content_type", "error_model"}),
        ("data", "IDN-2", {"content_type", "error_model"}),
        ("choices", "PIS-2", {"error_model"}),
    ],
)
def test_a_409_or_501_without_an_error_model_is_a_warning(
    banks: dict[str, SandboxServer],
    scenarios: dict[str, Scenario],
    bank: str,
    scenario_id: str,
    warned: set[str],
) -> None:
    """Switches error-409-501-text (data) and error-409-501-bare (choices): STET defines no
    ErrorModel, so no JSON body, for these codes: their absence is an extrapolated
    recommendation, not a failure."""
    results = _run(banks[bank].profile_path, scenarios[scenario_id])[0]
    assert _verdict(results)[0] == []
    warnings = [w for r in results for w in r.warnings]
    assert {w.check for w in warnings} == warned
    assert all(w.authority.startswith("extrapolated from STET 1.4.0.47") for w in warnings)


@pytest.mark.parametrize(
    "scenario_id",
    ["RUL-HAL-ACCOUNTS", "RUL-HAL-BALANCES", "RUL-HAL-TRANSACTIONS", "RUL-HAL-FUNDS", "PIS-1"],
)
def test_hrefs_relative_to_the_api_base_point_to_their_resource(
    banks: dict[str, SandboxServer], scenarios: dict[str, Scenario], scenario_id: str
) -> None:
    """Variant hal-relative (data): ``accounts/X/balances``, as STET's examples write hrefs."""
    assert _verdict(_run(banks["data"].profile_path, scenarios[scenario_id])[0])[0] == []


def test_a_relative_href_naming_another_resource_still_fails(
    banks: dict[str, SandboxServer], scenarios: dict[str, Scenario]
) -> None:
    results, _ = _run(banks["data-broken-self"].profile_path, scenarios["RUL-HAL-BALANCES"])
    failures, _ = _verdict(results)
    assert failures and "'accounts' does not point to /accounts/" in failures[0]


def test_an_identity_outside_the_unverified_schema_warns(
    banks: dict[str, SandboxServer], scenarios: dict[str, Scenario]
) -> None:
    for bank in ("faults", "choices"):  # fault identity-no-connected-psu, variant identity-lean
        failures, warnings = _verdict(_run(banks[bank].profile_path, scenarios["IDN-1"])[0])
        assert failures == [] and len(warnings) == 1
        assert "no source in hand" in warnings[0]


def test_the_fallback_jwt_under_another_name_is_redacted(
    banks: dict[str, SandboxServer], scenarios: dict[str, Scenario]
) -> None:
    results, redactor = _run(banks["choices"].profile_path, scenarios["FBK-1"])
    exchange = results[0].exchange
    assert exchange is not None
    (jwt,) = parse_qs(urlsplit(exchange.response.headers["location"]).query)["jwt"]
    assert jwt not in "\n".join(r.exchange.render(redactor) for r in results if r.exchange)


# --- the checks and the oracle -------------------------------------------------------------------


def _exchange(status: int, body: bytes, content_type: str = "application/json") -> Exchange:
    request = httpx.Request("GET", "https://bank.example/x")
    headers = {"Content-Type": content_type}
    return Exchange(request, httpx.Response(status, content=body, headers=headers), 0.0)


def _checked(exchange: Exchange, **expect: object) -> list[tuple[str, Level]]:
    failures = run_checks(CheckContext(exchange, Expect.of(expect), default_store()))
    return [(f.message, f.level) for f in failures]


def _transactions(**fields: object) -> bytes:
    item = {
        "transactionAmount": {"amount": "1.00", "currency": "EUR"},
        "creditDebitIndicator": "DBIT",
        "status": "BOOK",
        "bookingDate": "2026-11-30",
        "remittanceInformation": ["x"],
        **fields,
    }
    return json.dumps({"transactions": [item] * 5, "_links": {"self": {"href": "/t"}}}).encode()


def test_a_null_resource_id_or_entry_reference_is_one_warning() -> None:
    found = _checked(
        _exchange(200, _transactions(resourceId=None, entryReference=None)),
        status=200,
        schema="transactions",
    )
    assert found == [
        (
            "null where STET wants a string or no field: transactions[0].resourceId, "
            "transactions[0].entryReference, transactions[1].resourceId (and 7 more)",
            Level.RECOMMENDATION,
        )
    ]
    assert _checked(_exchange(200, _transactions()), status=200, schema="transactions") == []
    wrong = _checked(_exchange(200, _transactions(resourceId=7)), status=200, schema="transactions")
    assert wrong and all(level is Level.MUST for _, level in wrong)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-32-le"])
def test_a_tolerated_null_is_found_in_every_json_encoding(encoding: str) -> None:
    """The walk is skipped only for a body without the bytes ``null``: not for UTF-16/32."""
    text = _transactions(resourceId=None).decode()
    found = _checked(_exchange(200, text.encode(encoding)), status=200, schema="transactions")
    assert [level for _, level in found] == [Level.RECOMMENDATION]
    assert "transactions[0].resourceId" in found[0][0]


def test_null_in_a_string_is_no_null() -> None:
    body = _transactions(resourceId="null", remittanceInformation=["null"])
    assert _checked(_exchange(200, body), status=200, schema="transactions") == []


def test_the_identity_schema_warns_but_a_non_json_identity_fails() -> None:
    (shape,) = _checked(
        _exchange(200, b'{"lastName": "D"}'), status=200, schema="end_user_identity"
    )
    assert shape == (
        "end_user_identity: (body): 'connectedPsu' is a required property",
        Level.RECOMMENDATION,
    )
    html = _checked(_exchange(200, b"<html>", "text/html"), status=200, schema="end_user_identity")
    assert ("the body is not valid JSON", Level.MUST) in html
    empty = _checked(_exchange(200, b""), status=200, schema="end_user_identity")
    assert empty == [("expected a end_user_identity body, got an empty body", Level.MUST)]


def test_any_media_type_where_no_source_specifies_the_body() -> None:
    text = _exchange(200, b"revoked\n", "text/plain")
    assert _checked(text, status=200, content_type="*/*") == []
    assert _checked(text, status=200) == [
        ("body is not JSON: Content-Type 'text/plain'", Level.MUST)
    ]


def test_an_unknown_token_is_any_refusal_and_401_is_recommended() -> None:
    error = b'{"status": %d, "message": "refused"}'

    def levels(status: int, preferred: tuple[int, ...] = (401,)) -> list[Level]:
        exchange = _exchange(status, error % status if status >= 400 else b'{"accounts": []}')
        refusals = [400, 401, 403]
        found = oracles.preferring(exchange, refusals, preferred, ANY_SOURCE, default_store())
        return [level_of(p) for p in found]

    assert levels(401) == []
    assert levels(403) == levels(400) == [Level.RECOMMENDATION]
    assert levels(200) == [Level.MUST]
    assert levels(400, (400, 401)) == [] and levels(403, (400, 401)) == [Level.RECOMMENDATION]


# --- PIS-1, PIS-6: what a bank need not give, what an earlier run leaves ------------------------


def _reset(bank: SandboxServer) -> None:
    """The sandbox's start state again, as at a run's start (payment requests unconfirmed)."""
    bank.state.reset(uuid.uuid4().hex)


def test_pis1_checks_the_amount_only_where_the_profile_declares_it(
    banks: dict[str, SandboxServer], scenarios: dict[str, Scenario], tmp_path: Path
) -> None:
    ids_only = 'vars: {payment_requests: {LEA: [{resource_id: "PR-LEA-0001"}]}}\n'
    _reset(banks["conformant"])
    profile = _profile_with(banks["conformant"], tmp_path / "ids", ids_only)
    results, _ = _run(profile, scenarios["PIS-1"])
    assert _verdict(results) == ([], [])
    _reset(banks["conformant"])
    wrong = ids_only.replace('"PR-LEA-0001"', '"PR-LEA-0001", amount: "99.99"')
    failures, _ = _verdict(
        _run(_profile_with(banks["conformant"], tmp_path, wrong), scenarios["PIS-1"])[0]
    )
    assert len(failures) == 1 and "99.99" in failures[0]
    _reset(banks["conformant"])


def test_pis6_served_by_an_earlier_run_passes_with_409(
    banks: dict[str, SandboxServer], scenarios: dict[str, Scenario]
) -> None:
    bank = banks["choices"].profile_path  # confirmation-body-optional: served without a body
    _reset(banks["choices"])
    first, _ = _run(bank, scenarios["PIS-6"])
    again, _ = _run(bank, scenarios["PIS-6"])  # the request it confirmed, not renewed
    assert [r.exchange.status for r in (*first, *again) if r.exchange] == [200, 409]
    assert _verdict(again) == ([], [EXTRAPOLATED_ERROR_MODEL])  # error-409-501-bare: no body
    _reset(banks["choices"])


@pytest.mark.parametrize("status", ["ACTC", "RCVD", "PDNG", "ACSP"])
def test_pis1_accepts_any_status_but_rjct(scenarios: dict[str, Scenario], status: str) -> None:
    (assertion,) = [
        a
        for a in scenarios["PIS-1"].steps[0].expect.data
        if a["path"] == "paymentRequest.paymentInformationStatus"
    ]
    body = {"paymentRequest": {"paymentInformationStatus": status}}
    assert evaluate(body, dict(assertion)) == []
    rejected = {"paymentRequest": {"paymentInformationStatus": "RJCT"}}
    assert evaluate(rejected, dict(assertion)) != []


# --- OAuth and fallback: what a bank may do that the portal does not forbid ---------------------


def _send_form(profile_path: Path, url: str, form: dict[str, str]) -> None:
    profile = load_profile(profile_path)
    client = StetClient.for_profile(profile, Redactor(profile.secrets()))
    try:
        body = "&".join(f"{k}={v}" for k, v in form.items()).encode("ascii")
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        client.send("POST", url, headers=headers, content=body, options=RequestOptions(token=None))
    finally:
        client.close()


def test_a_bank_that_revoked_the_tokens_on_misuse_passes_with_warnings(
    sandbox: SandboxServer, scenarios: dict[str, Scenario], tmp_path: Path
) -> None:
    with _start(sandbox, tmp_path) as bank:
        profile = load_profile(bank.profile_path)
        lea, revoke = profile.personas.credentials["LEA"], profile.oauth.revoke_url
        assert revoke is not None and profile.oauth.client_id is not None
        for token in (lea.tokens["aisp"], lea.refresh_tokens["aisp"]):  # as on misuse
            _send_form(
                bank.profile_path, revoke, {"token": token, "client_id": profile.oauth.client_id}
            )
        results, _ = _run(bank.profile_path, scenarios["OAU-TOKEN-OTHER-TPP"])
    failures, warnings = _verdict(results)
    assert failures == [] and len(results) == len(scenarios["OAU-TOKEN-OTHER-TPP"].steps)
    assert len(warnings) == 2 and all("revoked at any moment" in w for w in warnings)


def test_a_refresh_that_rotates_undeclared_warns_and_keeps_the_old_token_untested(
    sandbox: SandboxServer, scenarios: dict[str, Scenario], tmp_path: Path
) -> None:
    with _start(sandbox, tmp_path, faults=["refresh-token-rotated"]) as bank:
        results, _ = _run(bank.profile_path, scenarios["OAU-REFRESH-ROTATION"])
    assert [r.step.name for r in results] == ["not rotating - refresh"]
    failures, warnings = _verdict(results)
    assert failures == [] and len(warnings) == 1 and "RFC 6749 6" in warnings[0]


def test_the_same_refresh_token_is_still_required_where_none_other_came_back(
    banks: dict[str, SandboxServer], scenarios: dict[str, Scenario]
) -> None:
    results, _ = _run(banks["conformant"].profile_path, scenarios["OAU-REFRESH-ROTATION"])
    assert [r.step.name for r in results] == [
        "not rotating - refresh",
        "not rotating - the same refresh token still refreshes",
    ]
    assert _verdict(results) == ([], [])


def test_a_refused_fallback_request_in_another_format_passes_with_warnings(
    banks: dict[str, SandboxServer], scenarios: dict[str, Scenario]
) -> None:
    for scenario_id in ("FBK-2", "FBK-3"):  # variant fallback-refusal-html: 403, an HTML page
        (result,), _ = _run(banks["choices"].profile_path, scenarios[scenario_id])
        assert result.exchange is not None and result.exchange.status == 403
        assert result.failures == []
        assert sorted(w.check for w in result.warnings) == ["content_type", "oauth_error"]


def test_the_fallback_login_page_in_another_media_type_is_a_warning(
    scenarios: dict[str, Scenario],
) -> None:
    step = scenarios["FBK-1"].steps[1]
    page = _exchange(200, b"login\n", "text/plain")
    assert run_checks(CheckContext(page, step.expect, default_store())) == []
    assert step.recommend is not None and "content_type" in step.recommend.expect.given


def test_a_schema_names_the_2xx_body_and_an_allowed_error_is_an_error_model() -> None:
    refused = _exchange(401, b'{"status": 401, "message": "revoked"}')
    assert _checked(refused, status=[200, 401], schema="accounts") == []
    served = _exchange(200, b'{"status": 401}')
    assert _checked(served, status=[200, 401], schema="accounts") != []
