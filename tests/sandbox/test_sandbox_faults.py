"""Each fault switched on changes the behaviour it names (checked against a fresh sandbox)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager

import httpx
import pytest
from sandbox_helpers import BASE, Api, check_registry

from stet_conformance.http.signing import RequestOptions
from stet_conformance.http.tls import client_context
from stet_conformance.sandbox.server import SandboxServer

Fresh = Callable[[Sequence[str]], AbstractContextManager[Api]]
LEA_ID = "125790009204004305180"
LEA_TX = f"/accounts/{LEA_ID}/transactions"


def _day(days_ago: int) -> str:
    return f"{dt.datetime.now(dt.UTC).date() - dt.timedelta(days=days_ago)}T00:00:00.000Z"


def test_unknown_fault_rejected(tmp_path: object) -> None:
    with pytest.raises(ValueError, match="valid:"):
        SandboxServer(tmp_path, ["nope"])  # type: ignore[arg-type]


def _balance(api: Api) -> httpx.Response:
    return api.get(f"/accounts/{LEA_ID}/balances")


CHECKS, check = check_registry()


@check("accounts-wrong-scope-ok")
def _(api: Api) -> None:
    assert api.get("/accounts", scope="pisp").status_code == 200
    assert api.get(f"/accounts/{LEA_ID}/balances", scope="pisp").status_code == 403


@check("balances-post-200")
def _(api: Api) -> None:
    response = api.call("POST", f"/accounts/{LEA_ID}/balances", json={})
    assert response.status_code == 200
    assert response.json()["balances"][0]["balanceAmount"]["amount"] == "-150.00"


@check("balance-sign-dropped")
def _(api: Api) -> None:
    assert _balance(api).json()["balances"][0]["balanceAmount"]["amount"] == "150.00"


@check("balance-amount-number")
def _(api: Api) -> None:
    assert _balance(api).json()["balances"][0]["balanceAmount"]["amount"] == -150.0


@check("zero-balance-204")
def _(api: Api) -> None:
    zero = api.get("/accounts/175159000004003580740/balances", persona="CLAIRE")
    assert zero.status_code == 204
    assert _balance(api).status_code == 200


@check("unknown-account-403")
def _(api: Api) -> None:
    assert api.get("/accounts/CPT30014684067/balances").status_code == 403
    assert api.get("/accounts/CPT30014684067/transactions").status_code == 404


@check("datefrom-exclusive")
def _(api: Api) -> None:
    # LEA's main account books one operation today and one yesterday (40 over 62 days).
    items = api.get(LEA_TX, params={"dateFrom": _day(1)}).json()["transactions"]
    assert [t["bookingDate"] for t in items] == [_day(0)[:10]]


@check("dateto-inclusive")
def _(api: Api) -> None:
    items = api.get(LEA_TX, params={"dateFrom": _day(1), "dateTo": _day(0)}).json()
    assert [t["bookingDate"] for t in items["transactions"]] == [_day(0)[:10], _day(1)[:10]]


@check("depth-unchecked")
def _(api: Api) -> None:
    assert api.get(LEA_TX, params={"dateFrom": _day(200)}).status_code == 200


@check("offset-500")
def _(api: Api) -> None:
    assert api.get(LEA_TX, params={"dateFrom": _day(3)[:-1] + "+0000"}).status_code == 500
    assert api.get(LEA_TX, params={"dateFrom": _day(3)[:-1] + "+00:00"}).status_code == 200


@check("empty-history-200")
def _(api: Api) -> None:
    response = api.get("/accounts/175159000004003580740/transactions", persona="CLAIRE")
    assert response.status_code == 200
    assert response.json()["transactions"] == []


@check("cap-ignored")
def _(api: Api) -> None:
    response = api.get("/accounts/125790070008600007165/transactions", persona="EDME")
    assert len(response.json()["transactions"]) == 2000


@check("status-pdng")
def _(api: Api) -> None:
    statuses = {t["status"] for t in api.get(LEA_TX).json()["transactions"]}
    assert statuses == {"PDNG", "BOOK"}


@check("request-id-not-echoed")
def _(api: Api) -> None:
    response = api.get("/accounts")
    assert response.status_code == 200 and "x-request-id" not in response.headers


@check("signature-unchecked")
def _(api: Api) -> None:
    forged = f'keyId="{api.profile["signing"]["key_id"]}",algorithm="rsa-sha256",'
    forged += 'headers="(request-target) digest psu-ip-address",signature="AAAA"'
    assert api.get("/accounts", headers={"Signature": forged}).status_code == 200
    assert api.get("/accounts", sign=False).status_code == 400


@check("expired-token-no-invalid-token")
def _(api: Api) -> None:
    response = api.get("/accounts", token=api.profile["personas"]["LEA"]["expired_tokens"]["aisp"])
    assert response.status_code == 401
    assert "invalid_token" not in response.text
    assert "invalid_token" not in response.headers.get("www-authenticate", "")


@check("cross-psu-access")
def _(api: Api) -> None:
    assert api.get("/accounts/125790009204002211873/balances").status_code == 200


@check("identity-consent-ignored")
def _(api: Api) -> None:
    assert api.get("/end-user-identity", persona="TECHNCO").status_code == 200


@check("accounts-extra-account")
def _(api: Api) -> None:
    assert len(api.get("/accounts", persona="CLAIRE").json()["accounts"]) == 3


@check("error-body-html")
def _(api: Api) -> None:
    response = api.get("/accounts/CPT30014684067/balances")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")


@check("error-model-no-status")
def _(api: Api) -> None:
    body = api.get("/accounts/CPT30014684067/balances").json()
    assert "status" not in body and body["error"] == "Not Found"


@check("hal-content-type-wrong")
def _(api: Api) -> None:
    assert api.get("/accounts").headers["content-type"].startswith("text/plain")


# A PUT /consents body that revokes every account of the persona.
NO_CONSENT = {
    "balances": [],
    "transactions": [],
    "psuIdentity": False,
    "trustedBeneficiaries": False,
}


@check("consent-merged")
def _(api: Api) -> None:
    assert api.call("PUT", "/consents", json=NO_CONSENT).status_code == 201
    assert _balance(api).status_code == 200


@check("consent-revoke-final")
def _(api: Api) -> None:
    restore = {**NO_CONSENT, "balances": [{"iban": "FR7612579000920400430518020"}]}
    assert api.call("PUT", "/consents", json=restore).status_code == 201  # not revoked yet
    assert api.call("PUT", "/consents", json=NO_CONSENT).status_code == 201
    assert api.call("PUT", "/consents", json=restore).status_code == 403
    assert _balance(api).status_code == 403  # still revoked


@check("consents-put-200")
def _(api: Api) -> None:
    assert api.call("PUT", "/consents", json=NO_CONSENT).status_code == 200
    assert _balance(api).status_code == 403


@check("rate-limit-missing")
def _(api: Api) -> None:
    for _ in range(6):
        assert api.get("/accounts", psu_ip_address=False).status_code == 200


@check("token-client-id-unchecked")
def _(api: Api) -> None:
    refresh = api.profile["personas"]["LEA"]["refresh_tokens"]["aisp"]
    form = {"grant_type": "refresh_token", "refresh_token": refresh, "client_id": "PSDFR-X-1"}
    assert api.client.post(api.profile["oauth"]["token_url"], data=form).status_code == 200


@check("mtls-optional-on-balances")
def _(api: Api) -> None:
    context = client_context(api.server.pki.ca_cert, None, None)  # no client certificate
    with httpx.Client(base_url=api.server.base_url, verify=context, auth=api.client.auth) as bare:

        def get(path: str) -> int:
            options = RequestOptions(token=api.token())
            return bare.get(BASE + path, extensions={"stet": options}).status_code

        assert get(f"/accounts/{LEA_ID}/balances") == 200
        assert get("/accounts") == 401
        token = bare.post(api.profile["oauth"]["token_url"], data={"grant_type": "x"})
        assert (token.status_code, token.json()["error"]) == (401, "invalid_client")
    assert _balance(api).status_code == 200  # the QWAC still works


@check("self-href-wrong")
def _(api: Api) -> None:
    assert _balance(api).json()["_links"]["self"]["href"] == "/stet/psd2/v1.4.2/accounts"


@check("wrong-method-200-on-identity")
def _(api: Api) -> None:
    response = api.call("POST", "/end-user-identity", persona="MARC")
    assert (response.status_code, response.json()["connectedPsu"]) == (200, "Marc Sandboxm")
    assert api.call("POST", "/accounts").status_code == 405


@check("consents-malformed-body-accepted")
def _(api: Api) -> None:
    headers = {"Content-Type": "application/json"}
    malformed = api.client.put(
        f"{BASE}/consents",
        content=b'{"balances": [',
        headers=headers,
        extensions={"stet": RequestOptions(token=api.token())},
    )
    assert malformed.status_code == 201
    assert api.call("PUT", "/consents", json={"balances": []}).status_code == 400
    assert _balance(api).status_code == 200  # LEA's consent is unchanged


@check("consents-other-psu-iban-accepted")
def _(api: Api) -> None:
    claire = {"balances": [{"iban": "FR7617515900000400358074026"}], "transactions": []}
    body = {**claire, "psuIdentity": False, "trustedBeneficiaries": False}
    assert api.call("PUT", "/consents", json=body).status_code == 201
    assert api.get("/accounts/175159000004003580740/balances").status_code == 200  # a leak


@check("identity-wrong-scope-ok")
def _(api: Api) -> None:
    assert api.get("/end-user-identity", persona="MARC", scope="pisp").status_code == 200
    assert api.get("/accounts", persona="MARC", scope="pisp").status_code == 403


@check("revoke-token-optional")
def _(api: Api) -> None:
    revoke_url = api.profile["oauth"]["revoke_url"]
    assert api.client.post(revoke_url, data={"token_type_hint": "refresh_token"}).status_code == 200


@pytest.mark.parametrize("fault", sorted(CHECKS))
def test_fault_changes_behaviour(fresh: Fresh, fault: str) -> None:
    with fresh([fault]) as api:
        CHECKS[fault](api)
