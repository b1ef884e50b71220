"""Each legitimate variant switch takes the other answer it names (checked on a fresh sandbox),
the data variant's profile describes the data it serves, and names never collide with faults."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import yaml
from sandbox_helpers import BASE, Api, check_registry, load_key, open_api

from stet_conformance.http.signing import RequestOptions, Signer
from stet_conformance.sandbox.faults import FAULTS
from stet_conformance.sandbox.server import SandboxServer
from stet_conformance.sandbox.variants import SWITCHES, VARIANTS, parse_variants
from stet_conformance.shared.resources import fixtures_dir

Start = Callable[[Sequence[str]], AbstractContextManager[Api]]
LEA_ID = "125790009204004305180"
LEA_TX = f"/accounts/{LEA_ID}/transactions"
GEORGES_TX = "/accounts/125790009204002211873/transactions"  # no entryReference (TRX-7)
CLAIRE_IBAN = "FR7617515900000800358074006"
LEA_CONSENT = {
    "balances": [],
    "transactions": [],
    "psuIdentity": False,
    "trustedBeneficiaries": False,
}


@pytest.fixture
def start(sandbox: SandboxServer, tmp_path: Path) -> Start:
    """A short-lived sandbox with some variants, reusing the session's PKI (fast)."""

    @contextmanager
    def run(variants: Sequence[str] = ("choices",)) -> Iterator[Api]:
        directory = tmp_path / "-".join(variants)
        shutil.copytree(sandbox.pki.directory, directory / "pki")
        with SandboxServer(directory, variants=variants) as server, open_api(server) as api:
            yield api

    return run


def _day(days_ago: int, suffix: str = ".000Z") -> str:
    return f"{dt.datetime.now(dt.UTC).date() - dt.timedelta(days=days_ago)}T00:00:00{suffix}"


def _oauth(api: Api, name: str) -> str:
    return str(api.profile["oauth"][name])


def _refresh(api: Api, token: str, client_id: str = "PSDFR-ACPR-13807") -> httpx.Response:
    form = {"grant_type": "refresh_token", "refresh_token": token, "client_id": client_id}
    return api.client.post(_oauth(api, "token_url"), data=form)


def _lea_refresh(api: Api) -> str:
    return str(api.profile["personas"]["LEA"]["refresh_tokens"]["aisp"])


CHECKS, check = check_registry()
LEA_IBAN = "FR7612579000920400851811524"


def _funds(api: Api, reference: str, amount: str, iban: str = LEA_IBAN) -> httpx.Response:
    """POST /funds-confirmations for ``amount`` EUR on ``iban``."""
    body = {
        "paymentCoverageRequestId": reference,
        "instructedAmount": {"amount": amount, "currency": "EUR"},
        "accountId": {"iban": iban},
    }
    return api.call("POST", "/funds-confirmations", scope="cbpii", json=body)


@check("funds-other-psu-400")
def _(api: Api) -> None:
    assert _funds(api, "v-1", "1.00", CLAIRE_IBAN).status_code == 400


@check("funds-amount-comma")
def _(api: Api) -> None:
    answer = _funds(api, "v-comma", "12,50")
    assert answer.status_code == 200
    assert float(answer.json()["request"]["instructedAmount"]["amount"]) == 12.5


@check("unconsented-404")
def _(api: Api) -> None:
    assert api.call("PUT", "/consents", json=LEA_CONSENT).status_code == 201
    assert api.get(f"/accounts/{LEA_ID}/balances").status_code == 404


@check("consents-post-403")
def _(api: Api) -> None:
    assert api.call("POST", "/consents", json={}).status_code == 403
    assert api.call("POST", "/accounts", json={}).status_code == 405


@check("beneficiaries-400")
def _(api: Api) -> None:
    assert api.get("/trusted-beneficiaries").status_code == 400


@check("payment-request-400")
def _(api: Api) -> None:
    for resource in ("PR-UNKNOWN-0000", "PR-CLAIRE-0001"):
        path = f"/payment-requests/{resource}/o-confirmation"
        assert api.call("POST", path, scope="pisp", json={}).status_code == 400


@check("confirmation-body-optional")
def _(api: Api) -> None:
    path = "/payment-requests/PR-LEA-0003/o-confirmation"
    assert api.call("POST", path, scope="pisp").status_code == 200


@check("other-tpp-token-403")
def _(api: Api) -> None:
    pki = api.server.pki
    with open_api(api.server, cert=pki.other_qwac_cert, key=pki.other_qwac_key) as other:
        assert other.get("/accounts", token=api.token()).status_code == 403
    assert api.get("/accounts").status_code == 200


@check("malformed-authorization-400")
def _(api: Api) -> None:
    response = api.get("/accounts", headers={"Authorization": "Bearer two words"})
    assert response.status_code == 400
    assert 'error="invalid_request"' in response.headers["www-authenticate"]
    assert api.get("/accounts", headers={"Authorization": "Basic abc"}).status_code == 401


@check("refresh-client-invalid-grant")
def _(api: Api) -> None:
    response = _refresh(api, _lea_refresh(api), client_id="PSDFR-X-1")
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")


@check("login-redirects")
def _(api: Api) -> None:
    form = {"client_id": "PSDFR-ACPR-13807", "grant_type": "client_credentials"}
    found = api.client.post(_oauth(api, "token_url"), data=form, headers={"fallback": "1"})
    login = api.client.get(found.headers["location"])
    assert login.status_code == 302 and login.headers["location"].endswith("/sso")


@check("fallback-refusal-html")
def _(api: Api) -> None:
    form = {"client_id": "PSDFR-ACPR-00000", "grant_type": "client_credentials"}
    refused = api.client.post(_oauth(api, "token_url"), data=form, headers={"fallback": "1"})
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("text/html")


@check("inverted-window-204")
def _(api: Api) -> None:
    response = api.get(LEA_TX, params={"dateFrom": _day(5), "dateTo": _day(20)})
    assert response.status_code == 204 and not response.content


@check("accept-negotiated")
def _(api: Api) -> None:
    assert api.get("/accounts", headers={"Accept": "garbage"}).status_code == 400
    assert api.get("/accounts", headers={"Accept": "text/html"}).status_code == 406
    assert api.get("/accounts", headers={"Accept": "*/*;q=0.5"}).status_code == 200


@check("refresh-rotates")
def _(api: Api) -> None:
    assert api.profile["oauth"]["rotates_refresh_token"] is True
    first = _refresh(api, _lea_refresh(api)).json()
    assert first["refresh_token"] != _lea_refresh(api)
    assert _refresh(api, _lea_refresh(api)).status_code == 400
    assert _refresh(api, first["refresh_token"]).status_code == 200


@check("revoke-204")
def _(api: Api) -> None:
    form = {"token": _lea_refresh(api), "client_id": "PSDFR-ACPR-13807"}
    response = api.client.post(_oauth(api, "revoke_url"), data=form)
    assert response.status_code == 204 and not response.content


@check("revoke-access-unsupported")
def _(api: Api) -> None:
    issued = _refresh(api, _lea_refresh(api)).json()
    url = _oauth(api, "revoke_url")
    form = {"token": issued["access_token"], "client_id": "PSDFR-ACPR-13807"}
    refused = api.client.post(url, data=form)
    assert refused.status_code == 400
    assert refused.json()["error"] == "unsupported_token_type"
    assert api.get("/accounts", token=issued["access_token"]).status_code == 200
    form["token"] = issued["refresh_token"]
    assert api.client.post(url, data=form).status_code == 204  # refresh tokens still revocable
    assert api.get("/accounts", token=issued["access_token"]).status_code == 401


@check("token-lean")
def _(api: Api) -> None:
    body = _refresh(api, _lea_refresh(api)).json()
    assert body["token_type"] == "bearer" and "scope" not in body


@check("pkce-required")
def _(api: Api) -> None:
    params = {
        "response_type": "code",
        "client_id": "PSDFR-ACPR-13807",
        "redirect_uri": "https://tpp.example/cb",
        "scope": "aisp",
        "psu": "LEA",
    }
    url = _oauth(api, "authorize_url")
    assert api.client.get(url, params=params).status_code == 400
    params |= {"code_challenge": "x" * 43, "code_challenge_method": "S256"}
    response = api.client.get(url, params=params)
    assert response.status_code == 303
    assert response.headers["content-type"].startswith("text/html")
    assert parse_qs(urlsplit(response.headers["location"]).query)["code"]


@check("invalid-token-in-body")
def _(api: Api) -> None:
    expired = api.profile["personas"]["LEA"]["expired_tokens"]["aisp"]
    response = api.get("/accounts", token=expired)
    assert response.status_code == 401
    assert "invalid_token" not in response.headers["www-authenticate"]
    assert response.json()["error"] == "invalid_token"


@check("long-request-id-ok")
def _(api: Api) -> None:
    response = api.get("/accounts", headers={"X-Request-ID": "a" * 71})
    assert response.status_code == 200 and response.headers["x-request-id"] == "a" * 71


@check("content-type-lenient")
def _(api: Api) -> None:
    request = api.client.build_request(
        "PUT",
        BASE + "/consents",
        content=json.dumps(LEA_CONSENT).encode(),
        headers={"Content-Type": "text/plain"},
        extensions={"stet": RequestOptions(token=api.token())},
    )
    assert api.client.send(request).status_code == 201


def _signed_by(api: Api, headers: Sequence[str], algorithm: str | None = None) -> httpx.Response:
    key_id = api.profile["signing"]["key_id"]
    signer = Signer(load_key(api.server.pki.qseal_key), key_id, headers)
    request = api.client.build_request(
        "GET", BASE + "/accounts", extensions={"stet": RequestOptions(token=api.token())}
    )
    request.headers["Digest"] = "SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    request.headers["X-Request-ID"] = "variant-signature"
    request.headers["PSU-IP-Address"] = "192.0.2.10"
    value = signer.signature_header(request)
    if algorithm is not None:
        value = value.replace('algorithm="rsa-sha256"', f'algorithm="{algorithm}"')
    request.headers["Signature"] = value
    return api.client.send(request)


@check("signature-lean")
def _(api: Api) -> None:
    assert _signed_by(api, ["(request-target)"]).status_code == 200
    assert _signed_by(api, ["digest", "x-request-id"]).status_code == 401  # signature-401
    stale = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
    dated = api.get("/accounts", headers={"Date": stale.strftime("%a, %d %b %Y %H:%M:%S GMT")})
    assert dated.status_code == 200


@check("algorithm-from-key")
def _(api: Api) -> None:
    names = ["(request-target)", "digest", "x-request-id", "psu-ip-address"]
    assert _signed_by(api, names, "rsa-sha512").status_code == 200
    assert _signed_by(api, names, "hmac-sha256").status_code == 401  # signature-401


@check("signature-401")
def _(api: Api) -> None:
    assert api.profile["vars"]["fuzz"] == {"signature_status": [401]}
    bad = {"Signature": 'keyId="x",algorithm="rsa-sha256",headers="digest",signature="QUFB"'}
    assert api.get("/accounts", sign=False).status_code == 401
    assert api.get("/accounts", headers=bad).json()["status"] == 401
    assert api.get("/accounts", request_id=False).status_code == 400  # not a signature


@check("date-millis-required")
def _(api: Api) -> None:
    assert api.get(LEA_TX, params={"dateFrom": _day(3, "Z")}).status_code == 400
    assert api.get(LEA_TX, params={"dateFrom": _day(3)}).status_code == 200


@check("zone-less-paris")
def _(api: Api) -> None:
    # Yesterday 00:00 in Paris is the instant yesterday's operation is imputed (impute-paris):
    # inside the window; read as UTC, it would not be.
    local = _day(1)[:10] + "T00:00:00.000"
    items = api.get(LEA_TX, params={"dateFrom": local}).json()
    assert {t["bookingDate"] for t in items["transactions"]} == {_day(0)[:10], _day(1)[:10]}


@check("impute-paris")
def _(api: Api) -> None:
    # Yesterday's operation is imputed at 00:00 Paris, the evening before in UTC: inside
    # [2 days ago, yesterday) in UTC; the day before's is not.
    window = {"dateFrom": _day(2), "dateTo": _day(1)}
    items = api.get(LEA_TX, params=window).json()
    assert {t["bookingDate"] for t in items["transactions"]} == {_day(1)[:10]}
    assert api.profile["imputation"] == {"timezone": "Europe/Paris"}


@check("empty-date-absent")
def _(api: Api) -> None:
    assert api.get(LEA_TX, params={"dateFrom": ""}).status_code == 200


@check("negative-offset-400")
def _(api: Api) -> None:
    day = (dt.datetime.now(dt.UTC) - dt.timedelta(days=20)).strftime("%Y-%m-%dT20:00:00.000")
    assert api.get(LEA_TX, params={"dateFrom": day + "-05:00"}).status_code == 400
    assert api.get(LEA_TX, params={"dateFrom": day + "+05:00"}).status_code == 200


@check("injection-waf-403")
def _(api: Api) -> None:
    assert api.get(LEA_TX, params={"dateTo": "' OR '1'='1"}).status_code == 403
    assert api.get(LEA_TX, params={"dateTo": "null"}).status_code == 400  # no pattern: the bank


@check("standing-order-references")
def _(api: Api) -> None:
    items = api.get(LEA_TX).json()["transactions"]
    assert len(items) > 30 and items[0]["entryReference"] == items[30]["entryReference"]


@check("account-currency-only-in-id")
def _(api: Api) -> None:
    accounts = api.get("/accounts").json()["accounts"]
    assert accounts and all("currency" not in a for a in accounts)
    assert {a["accountId"]["currency"] for a in accounts} == {"EUR"}


@check("oldest-first")
def _(api: Api) -> None:
    dates = [t["bookingDate"] for t in api.get(LEA_TX).json()["transactions"]]
    assert dates == sorted(dates) and dates[0] < dates[-1]


@check("account-currency-in-id")
def _(api: Api) -> None:
    accounts = api.get("/accounts").json()["accounts"]
    assert {a["accountId"]["currency"] for a in accounts} == {"EUR"}


@check("balance-xpcd-too")
def _(api: Api) -> None:
    balances = api.get(f"/accounts/{LEA_ID}/balances").json()["balances"]
    assert [b["balanceType"] for b in balances] == ["CLBD", "XPCD"]


@check("consent-body-json")
def _(api: Api) -> None:
    consent = {**LEA_CONSENT, "balances": [{"iban": "FR7612579000920400430518020"}]}
    response = api.call("PUT", "/consents", json=consent)
    assert response.status_code == 201 and response.json() == {}


@check("consent-lenient")
def _(api: Api) -> None:
    """trustedBeneficiaries may be left out; another PSU's account is dropped, never served."""
    without = {k: v for k, v in LEA_CONSENT.items() if k != "trustedBeneficiaries"}
    assert api.call("PUT", "/consents", json=without).status_code == 201
    claire = {**LEA_CONSENT, "balances": [{"iban": "FR7617515900000400358074026"}]}
    assert api.call("PUT", "/consents", json=claire).status_code == 201
    assert api.get("/accounts/175159000004003580740/balances").status_code in (403, 404)


@check("error-model-lean")
def _(api: Api) -> None:
    body = api.get("/accounts/CPT30014684067/balances").json()
    assert set(body) == {"timestamp", "status", "message"} and body["timestamp"].endswith("+0000")


@check("hal-json-absolute")
def _(api: Api) -> None:
    response = api.get("/accounts")
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["_links"]["self"]["href"] == f"{api.server.base_url}{BASE}/accounts"


def _confirmed_twice(api: Api) -> httpx.Response:
    """The second confirmation of LEA's first payment request: its 409."""
    requests = api.profile.get("vars", {}).get("payment_requests", {})
    request_id = requests["LEA"][0]["resource_id"] if requests else "PR-LEA-0001"
    path = f"/payment-requests/{request_id}/o-confirmation"
    assert api.call("POST", path, scope="pisp", json={}).status_code == 200
    return api.call("POST", path, scope="pisp", json={})


@check("error-409-501-bare")
def _(api: Api) -> None:
    """In choices, whose beneficiaries answer 400 (beneficiaries-400): the 409 shows it."""
    second = _confirmed_twice(api)
    assert (second.status_code, second.content) == (409, b"")
    assert api.get("/accounts/nope/balances").json()["status"] == 404  # STET's: an ErrorModel


@check("error-409-501-text")
def _(api: Api) -> None:
    beneficiaries, second = api.get("/trusted-beneficiaries"), _confirmed_twice(api)
    assert (beneficiaries.status_code, second.status_code) == (501, 409)
    for response in (beneficiaries, second):
        assert response.text and response.headers["content-type"] == "text/plain; charset=utf-8"
    assert api.get("/accounts/nope/balances").json()["status"] == 404  # STET's: an ErrorModel


@check("hal-relative")
def _(api: Api) -> None:
    accounts = api.get("/accounts").json()
    assert accounts["_links"]["self"]["href"] == "accounts"
    first = accounts["accounts"][0]  # balances consented: all of LEA's accounts
    balances = f"accounts/{first['resourceId']}/balances"
    assert first["_links"]["balances"]["href"] == balances
    assert api.get(f"/{balances}").json()["_links"]["self"]["href"] == balances


@check("confirmation-lean")
def _(api: Api) -> None:
    path = "/payment-requests/PR-LEA-0001/o-confirmation"
    request = api.call("POST", path, scope="pisp", json={}).json()["paymentRequest"]
    assert "resourceId" not in request and request["paymentInformationStatus"] == "ACCP"


@check("amounts-short")
def _(api: Api) -> None:
    report = _funds(api, "v-2", "10.00").json()
    assert report["request"]["instructedAmount"]["amount"] == "10.0"
    path = "/payment-requests/PR-LEA-0001/o-confirmation"
    request = api.call("POST", path, scope="pisp", json={}).json()["paymentRequest"]
    assert request["creditTransferTransaction"][0]["instructedAmount"]["amount"] == "25.0"


@check("identity-lean")
def _(api: Api) -> None:
    body = api.get("/end-user-identity", persona="MARC").json()
    assert set(body) == {"connectedPsuLastName"}


@check("identity-unavailable")
def _(api: Api) -> None:
    assert api.profile["identity_available"] is False
    response = api.get("/end-user-identity", persona="MARC")
    assert response.status_code == 501  # a text body (error-409-501-text)


@check("unknown-token-403")
def _(api: Api) -> None:
    assert api.get("/accounts", token="no-such-token").status_code == 403
    basic = api.get("/accounts", headers={"Authorization": "Basic abc"})
    assert basic.status_code == 401  # no bearer token at all: still the challenge


@check("fallback-token-jwt")
def _(api: Api) -> None:
    assert api.profile["fallback"] == {"token_param": "jwt"}
    form = {"client_id": "PSDFR-ACPR-13807", "grant_type": "client_credentials"}
    found = api.client.post(_oauth(api, "token_url"), data=form, headers={"fallback": "1"})
    query = parse_qs(urlsplit(found.headers["location"]).query)
    assert set(query) == {"jwt"} and query["jwt"][0].count(".") == 2


@check("revoke-text-body")
def _(api: Api) -> None:
    form = {"token": _lea_refresh(api), "client_id": "PSDFR-ACPR-13807"}
    response = api.client.post(_oauth(api, "revoke_url"), data=form)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain") and response.content


@check("pending-pdng")
def _(api: Api) -> None:
    assert api.profile["transaction_statuses"] == ["BOOK", "PDNG"]
    statuses = {t["status"] for t in api.get(LEA_TX).json()["transactions"]}
    assert statuses == {"BOOK", "PDNG"}


@check("transaction-nulls")
def _(api: Api) -> None:
    items = api.get(GEORGES_TX, persona="GEORGES").json()["transactions"]
    assert all(t["resourceId"] is None and t["entryReference"] is None for t in items)
    booked = api.get(LEA_TX).json()["transactions"]
    assert all(t["resourceId"] is None and t["entryReference"] for t in booked)


@check("quota-per-psu")
def _(api: Api) -> None:
    paths = ["/accounts", f"/accounts/{LEA_ID}/balances", LEA_TX, "/accounts", LEA_TX]
    codes = [api.get(path, psu_ip_address=False).status_code for path in paths]
    assert codes == [200, 200, 200, 200, 429]


@pytest.mark.parametrize("switch", sorted(CHECKS))
def test_switch_takes_the_other_answer(start: Start, switch: str) -> None:
    variant = next(name for name, switches in VARIANTS.items() if switch in switches)
    with start([variant]) as api:
        CHECKS[switch](api)


def test_every_behaviour_switch_is_checked_and_in_a_variant() -> None:
    assert set(CHECKS) | {"other-persona-data"} == set(SWITCHES)
    assert {s for switches in VARIANTS.values() for s in switches} == set(SWITCHES)
    assert not set(SWITCHES) & set(FAULTS), "a switch is a legitimate answer, never a fault"
    assert len(VARIANTS) >= 2


def test_unknown_variant_is_refused_with_the_valid_names(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown sandbox variant.*valid: choices, data"):
        parse_variants(["nope"])
    with pytest.raises(ValueError, match="unknown sandbox variant"):
        SandboxServer(tmp_path, variants=["nope"])


def test_data_variant_serves_and_declares_other_persona_data(start: Start) -> None:
    source = yaml.safe_load((fixtures_dir() / "personas-variant.yaml").read_text("utf-8"))
    with start(["data"]) as api:
        declared = api.profile["personas"]
        assert declared["TECHNCO"]["data"] == source["personas"]["TECHNCO"]
        ids_only = {  # as a bank gives them: PIS-1 then checks no amount
            persona: [{"resource_id": r["resource_id"]} for r in requests]
            for persona, requests in source["payment_requests"].items()
        }
        assert api.profile["vars"]["payment_requests"] == ids_only
        assert api.profile["oauth"]["rotates_refresh_token"] is False
        ibans = [a["accountId"]["iban"] for a in api.get("/accounts").json()["accounts"]]
        assert ibans == [a["iban"] for a in declared["LEA"]["data"]["accounts"]]
        assert len(api.get("/accounts", persona="TECHNCO").json()["accounts"]) == 1
        first = declared["GEORGES"]["data"]["accounts"][0]
        items = api.get(f"/accounts/{first['resource_id']}/transactions", persona="GEORGES")
        references = [t["entryReference"] for t in items.json()["transactions"]]
        assert "" in references and any(references), "mixed empty and filled entryReference"
        assert len(references) == first["transactions"]


def test_default_sandbox_profile_declares_no_data(api: Api) -> None:
    assert "vars" not in api.profile
    assert all("data" not in entry for entry in api.profile["personas"].values())
