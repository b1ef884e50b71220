"""The rest of the portal in the sandbox: token lifecycle, fallback mode, PISP confirmation."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sandbox_helpers import Api, open_api

from stet_conformance.http.signing import RequestOptions
from stet_conformance.sandbox.payment_requests import load_payment_requests
from stet_conformance.sandbox.pki import TPP_ID
from stet_conformance.sandbox.server import SandboxServer

Fresh = Callable[[Sequence[str]], AbstractContextManager[Api]]
CALLBACK = "https://www.mycallback.com/"
LEA_ACCOUNT = "FR7612579000920400851811524"


def issue(api: Api, persona: str = "LEA", scope: str = "aisp") -> dict[str, Any]:
    """authorize + token: a fresh token response for ``persona``."""
    oauth = api.profile["oauth"]
    params = {
        "response_type": "code",
        "client_id": TPP_ID,
        "redirect_uri": CALLBACK,
        "scope": scope,
        "psu": persona,
    }
    location = api.client.get(oauth["authorize_url"], params=params).headers["location"]
    code = parse_qs(urlsplit(location).query)["code"][0]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": CALLBACK,
        "client_id": TPP_ID,
    }
    response = api.client.post(oauth["token_url"], data=form)
    assert response.status_code == 200, response.text
    return dict(response.json())


def refresh(api: Api, token: str) -> httpx.Response:
    form = {"grant_type": "refresh_token", "refresh_token": token, "client_id": TPP_ID}
    return api.client.post(api.profile["oauth"]["token_url"], data=form)


def revoke(api: Api, token: str) -> None:
    assert api.client.post(api.profile["oauth"]["revoke_url"], data={"token": token}).is_success


def test_profile_has_the_second_qwac_and_the_rotation_setting(sandbox: SandboxServer) -> None:
    with open_api(sandbox) as api:
        assert api.profile["tls"]["other_client_cert"] == "pki/qwac-other.pem"
        assert api.profile["oauth"]["rotates_refresh_token"] is False


def test_redirect_uri_must_match_authorize(api: Api) -> None:
    oauth = api.profile["oauth"]
    params = {"response_type": "code", "client_id": TPP_ID, "redirect_uri": CALLBACK}
    params |= {"scope": "aisp", "psu": "LEA"}
    location = api.client.get(oauth["authorize_url"], params=params).headers["location"]
    form = {
        "grant_type": "authorization_code",
        "code": parse_qs(urlsplit(location).query)["code"][0],
        "redirect_uri": "https://other.example/",
        "client_id": TPP_ID,
    }
    response = api.client.post(oauth["token_url"], data=form)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")


def test_refresh_keeps_the_refresh_token_and_revoking_one_revokes_the_other(api: Api) -> None:
    issued = issue(api)
    first = refresh(api, issued["refresh_token"])
    assert first.status_code == 200
    assert first.json()["refresh_token"] == issued["refresh_token"]
    assert refresh(api, issued["refresh_token"]).status_code == 200
    revoke(api, first.json()["access_token"])  # an access token: its refresh token goes too
    for token in (issued["access_token"], first.json()["access_token"]):
        response = api.get("/accounts", token=token)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert refresh(api, issued["refresh_token"]).json()["error"] == "invalid_grant"


def test_token_bound_to_the_tpp(sandbox: SandboxServer, api: Api) -> None:
    issued = issue(api)
    pki = sandbox.pki
    with open_api(sandbox, cert=pki.other_qwac_cert, key=pki.other_qwac_key) as other:
        assert other.get("/accounts", token=issued["access_token"]).status_code == 401
    assert api.get("/accounts", token=issued["access_token"]).status_code == 200


def test_fallback_redirects_to_the_login_page_with_a_jwt(api: Api) -> None:
    form = {"client_id": TPP_ID, "grant_type": "client_credentials", "scope": "aisp"}
    url = api.profile["oauth"]["token_url"]
    response = api.client.post(url, data=form, headers={"fallback": "1", "X-Request-ID": "1234"})
    assert response.status_code == 302
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["x-request-id"] == "1234"
    location = urlsplit(response.headers["location"])
    assert location.path == "/online-banking/login"
    token = parse_qs(location.query)["token"][0]
    assert token.count(".") == 2  # a JWT
    assert api.client.get(response.headers["location"]).status_code == 200
    assert api.client.get("/online-banking/login?token=forged").status_code == 401
    mismatch = api.client.post(
        url, data=dict(form, client_id="PSDFR-X-1"), headers={"fallback": "1"}
    )
    assert (mismatch.status_code, mismatch.json()["error"]) == (401, "invalid_client")
    plain = api.client.post(url, data=form)  # without the header: no client_credentials grant
    assert (plain.status_code, plain.json()["error"]) == (400, "unsupported_grant_type")


def test_payment_request_fixture() -> None:
    saved = load_payment_requests()
    assert {r.persona for r in saved.values()} == {"LEA", "CLAIRE"}
    assert all(r.status == "ACTC" for r in saved.values())


def test_confirmation_lifecycle(fresh: Fresh) -> None:
    path = "/payment-requests/PR-LEA-0001/o-confirmation"
    with fresh(()) as api:
        assert api.call("POST", path, scope="aisp", json={}).status_code == 403
        assert api.call("GET", path, scope="pisp").status_code == 405
        assert api.call("POST", path, scope="pisp").status_code == 400  # no JSON body
        unknown = "/payment-requests/PR-NONE/o-confirmation"
        assert api.call("POST", unknown, scope="pisp", json={}).status_code == 404
        other = "/payment-requests/PR-CLAIRE-0001/o-confirmation"
        assert api.call("POST", other, scope="pisp", json={}).status_code == 404
        body = {"psuAuthenticationFactor": "12345678"}
        done = api.call("POST", path, scope="pisp", json=body)
        assert done.status_code == 200, done.text
        report = done.json()
        assert report["paymentRequest"]["paymentInformationStatus"] == "ACSP"
        assert report["paymentRequest"]["debtorAccount"] == {"iban": LEA_ACCOUNT}
        assert "confirmation" not in report["_links"]
        again = api.call("POST", path, scope="pisp", json={})
        assert again.status_code == 409 and again.json()["status"] == 409


@pytest.mark.parametrize(
    ("fault", "status"),
    [
        ("confirmation-twice-200", 200),
        ("confirmation-twice-400", 400),
        ("confirmation-status-unchanged", 200),
    ],
)
def test_confirmation_faults_answer_a_second_time(fresh: Fresh, fault: str, status: int) -> None:
    path = "/payment-requests/PR-LEA-0002/o-confirmation"
    with fresh([fault]) as api:
        assert api.call("POST", path, scope="pisp", json={}).status_code == 200
        assert api.call("POST", path, scope="pisp", json={}).status_code == status


def test_token_no_expires_in_fault_drops_only_the_lifetime(fresh: Fresh) -> None:
    with fresh(["token-no-expires-in"]) as api:
        issued = issue(api)
        assert "expires_in" not in issued
        assert {"access_token", "refresh_token", "token_type"} <= set(issued)
        refreshed = refresh(api, issued["refresh_token"])
        assert refreshed.status_code == 200 and "expires_in" not in refreshed.json()


def test_no_token_400_fault_changes_only_the_missing_token(fresh: Fresh) -> None:
    with fresh(["no-token-400"]) as api:
        missing = api.client.get("/stet/psd2/v1.4.2/accounts", extensions={"stet": _no_token()})
        assert missing.status_code == 400 and missing.json()["status"] == 400
        assert api.get("/accounts", token="unknown-token").status_code == 401


def _no_token() -> RequestOptions:
    return RequestOptions(token=None)


def test_reset_restores_the_start_state_once_per_run(fresh: Fresh) -> None:
    confirm = "/payment-requests/PR-LEA-0001/o-confirmation"
    lea_balances = "/accounts/125790009204004305180/balances"
    georges_balances = "/accounts/125790009208003344120/balances"
    revoke = dict(balances=[], transactions=[], psuIdentity=False, trustedBeneficiaries=False)
    with fresh(()) as api:
        reset_path = api.profile["sandbox"]["reset_path"]
        assert reset_path == "/sandbox/reset"

        def reset(run: str) -> int:
            return api.client.post(reset_path, json={"run": run}).status_code

        def use_up() -> None:  # revoke LEA's consent, spend GEORGES's unattended calls
            assert api.call("PUT", "/consents", json=revoke).status_code == 201
            for _ in range(4):
                api.get(georges_balances, persona="GEORGES", psu_ip_address=False)

        def observe() -> tuple[int, int, int]:  # confirms PR-LEA-0001 if it can
            return (
                api.call("POST", confirm, scope="pisp", json={}).status_code,
                api.get(lea_balances).status_code,
                api.get(georges_balances, persona="GEORGES", psu_ip_address=False).status_code,
            )

        assert api.call("POST", confirm, scope="pisp", json={}).status_code == 200
        use_up()
        assert reset("run-1") == 204
        assert observe() == (200, 200, 200)  # all as the sandbox started
        use_up()
        assert reset("run-1") == 204  # another worker of the same run: nothing undone
        assert observe() == (409, 403, 429)
        assert reset("run-2") == 204
        assert observe() == (200, 200, 200)
        assert api.client.post(reset_path, json={"id": "x"}).status_code == 400
        assert api.client.get(reset_path).status_code == 405


def test_rotation_fault_revokes_the_previous_refresh_token(fresh: Fresh) -> None:
    with fresh(["refresh-token-rotated"]) as api:
        issued = issue(api)
        rotated = refresh(api, issued["refresh_token"]).json()
        assert rotated["refresh_token"] != issued["refresh_token"]
        assert refresh(api, issued["refresh_token"]).status_code == 400


def test_beneficiaries_and_funds_faults(fresh: Fresh) -> None:
    request = {
        "paymentCoverageRequestId": "t-1",
        "instructedAmount": {"amount": "999999.00", "currency": "EUR"},
        "accountId": {"iban": LEA_ACCOUNT},
    }
    with fresh(["beneficiaries-200-empty", "funds-always-covered"]) as api:
        assert api.get("/trusted-beneficiaries").json()["beneficiaries"] == []
        report = api.call("POST", "/funds-confirmations", scope="cbpii", json=request)
        assert report.json()["result"] is True
