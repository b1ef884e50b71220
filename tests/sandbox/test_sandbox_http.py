"""The conformant sandbox over real mTLS: resources per the seed, and the authentication ladder."""

from __future__ import annotations

import base64
import datetime as dt
import stat
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import yaml
from cryptography import x509
from sandbox_helpers import BASE, Api, load_key, open_api

from stet_conformance.http.signing import Signer
from stet_conformance.http.tls import client_context
from stet_conformance.sandbox import data
from stet_conformance.sandbox.personas import load_bank
from stet_conformance.sandbox.pki import TPP_ID
from stet_conformance.sandbox.server import SandboxServer
from stet_conformance.shared import cavage

Fresh = Callable[[Sequence[str]], AbstractContextManager[Api]]
BANK = load_bank()
LEA_ID = "125790009204004305180"
CLAIRE_EMPTY = "175159000004003580740"
GEORGES_ID = "125790009204002211873"
HAL = "application/hal+json; charset=utf-8"


def assert_error(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    body = response.json()
    assert body["status"] == status
    assert {"timestamp", "error", "message", "path"} <= body.keys()
    return dict(body)


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def test_profile_file(sandbox: SandboxServer) -> None:
    assert stat.S_IMODE(sandbox.profile_path.stat().st_mode) == 0o600
    profile = yaml.safe_load(sandbox.profile_path.read_text())
    assert profile["base_url"] == f"https://127.0.0.1:{sandbox.port}"
    assert profile["tls"]["client_cert"] == "pki/qwac.pem"
    assert profile["oauth"]["client_id"] == TPP_ID
    qseal = x509.load_pem_x509_certificate(sandbox.pki.qseal_cert.read_bytes())
    assert profile["signing"]["key_id"].endswith("/certs/qseal_" + cavage.fingerprint(qseal))
    assert set(profile["personas"]) == set(BANK.personas)
    assert set(profile["personas"]["LEA"]["tokens"]) == {"aisp", "pisp", "cbpii"}
    assert set(profile["personas"]["LEA"]["expired_tokens"]) == {"aisp"}


def test_key_id_url_serves_the_qseal(api: Api) -> None:
    url = urlsplit(api.profile["signing"]["key_id"]).path
    response = api.client.get(url)
    assert response.status_code == 200
    assert response.content == api.server.pki.qseal_cert.read_bytes()


def test_accounts_lea_after_consent(api: Api) -> None:
    response = api.get("/accounts", headers={"X-Request-ID": "id-1234567890111121 1"})
    assert response.status_code == 200
    assert response.headers["content-type"] == HAL
    assert response.headers["x-request-id"] == "id-1234567890111121 1"
    body = response.json()
    assert body["_links"] == {"self": {"templated": False, "href": f"{BASE}/accounts"}}
    first = body["accounts"][0]
    assert first["accountId"] == {"iban": "FR7612579000920400430518020"}
    assert first["resourceId"] == LEA_ID
    assert first["name"] == "LEA SANDBOXA"
    assert (first["currency"], first["psuStatus"], first["usage"]) == (
        "EUR",
        "Account Holder",
        "PRIV",
    )
    assert first["_links"]["balances"]["href"] == f"{BASE}/accounts/{LEA_ID}/balances"
    assert first["_links"]["transactions"]["href"] == f"{BASE}/accounts/{LEA_ID}/transactions"
    assert first["balances"][0]["balanceAmount"] == {"amount": "-150.00", "currency": "EUR"}
    assert len(body["accounts"]) == 2


def test_accounts_claire_has_two(api: Api) -> None:
    assert len(api.get("/accounts", persona="CLAIRE").json()["accounts"]) == 2


def test_identity_marc_and_technco(api: Api) -> None:
    accounts = api.get("/accounts", persona="MARC").json()
    assert accounts["_links"]["endUserIdentity"]["href"] == f"{BASE}/end-user-identity"
    response = api.get("/end-user-identity", persona="MARC")
    assert response.status_code == 200
    assert response.json() == {
        "connectedPsu": "Marc Sandboxm",
        "connectedPsuFirstName": "Marc",
        "connectedPsuLastName": "Sandboxm",
        "_links": {"self": {"templated": False, "href": f"{BASE}/end-user-identity"}},
    }
    assert "endUserIdentity" not in api.get("/accounts", persona="TECHNCO").json()["_links"]
    assert_error(api.get("/end-user-identity", persona="TECHNCO"), 403)


def test_balances_lea_negative(api: Api) -> None:
    response = api.get(f"/accounts/{LEA_ID}/balances")
    assert response.status_code == 200
    assert response.headers["content-type"] == HAL
    assert response.json() == {
        "balances": [
            {
                "name": f"Solde comptable au {today():%d/%m/%Y}",
                "balanceType": "CLBD",
                "balanceAmount": {"amount": "-150.00", "currency": "EUR"},
                "referenceDate": today().isoformat(),
            }
        ],
        "_links": {
            "self": {"templated": False, "href": f"{BASE}/accounts/{LEA_ID}/balances"},
            "parent-list": {"templated": False, "href": f"{BASE}/accounts"},
            "transactions": {"templated": True, "href": f"{BASE}/accounts/{LEA_ID}/transactions"},
        },
    }


def test_balances_claire_zero_and_positive(api: Api) -> None:
    zero = api.get(f"/accounts/{CLAIRE_EMPTY}/balances", persona="CLAIRE")
    assert zero.json()["balances"][0]["balanceAmount"]["amount"] == "0.00"
    positive = api.get("/accounts/175159000008003580740/balances", persona="CLAIRE")
    assert positive.json()["balances"][0]["balanceAmount"]["amount"] == "2318.09"


def test_balances_unknown_and_other_psu_404(api: Api) -> None:
    body = assert_error(api.get("/accounts/CPT30014684067/balances"), 404)
    assert body["path"] == f"{BASE}/accounts/CPT30014684067/balances"
    assert body["error"] == "Not Found"
    assert_error(api.get(f"/accounts/{GEORGES_ID}/balances"), 404)
    assert_error(api.get(f"/accounts/{GEORGES_ID}/transactions"), 404)


def test_transactions_claire_empty_204(api: Api) -> None:
    response = api.get(f"/accounts/{CLAIRE_EMPTY}/transactions", persona="CLAIRE")
    assert response.status_code == 204
    assert response.content == b""
    assert "x-request-id" in response.headers


def test_transactions_edme_capped_at_500(api: Api) -> None:
    response = api.get("/accounts/125790070008600007165/transactions", persona="EDME")
    assert response.status_code == 200
    items = response.json()["transactions"]
    assert len(items) == 500
    account = BANK.personas["EDME"].accounts[0]
    newest = data.transactions_for(account, 62, today())[:500]
    assert [t["entryReference"] for t in items] == [t.entry_reference for t in newest]


def test_transactions_lea_whole_history(api: Api) -> None:
    response = api.get(f"/accounts/{LEA_ID}/transactions")
    assert response.status_code == 200
    body = response.json()
    assert len(body["transactions"]) == 40
    assert body["_links"]["parent-list"]["href"] == f"{BASE}/accounts"
    assert {t["status"] for t in body["transactions"]} == {"OTHR", "BOOK"}
    for item in body["transactions"]:
        age = (today() - dt.date.fromisoformat(item["bookingDate"])).days
        assert item["status"] == ("OTHR" if age < 2 else "BOOK")
        assert len(item["entryReference"]) == 40


def test_transactions_georges_without_entry_reference(api: Api) -> None:
    items = api.get(f"/accounts/{GEORGES_ID}/transactions", persona="GEORGES").json()
    assert items["transactions"]
    assert all("entryReference" not in t for t in items["transactions"])


def _expected(
    account_index: int, date_from: dt.datetime | None, date_to: dt.datetime | None
) -> int:
    account = BANK.personas["GEORGES"].accounts[account_index]
    return len(data.select(data.transactions_for(account, 62, today()), date_from, date_to))


def test_transactions_date_filters(api: Api) -> None:
    day = today() - dt.timedelta(days=20)
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    end = start + dt.timedelta(days=10)
    path = f"/accounts/{GEORGES_ID}/transactions"
    for params, date_from, date_to in (
        ({"dateFrom": f"{day}T00:00:00.000Z"}, start, None),
        ({"dateTo": f"{day}T00:00:00.000+00:00"}, None, start),
        (
            {"dateFrom": f"{day}T01:00:00.000+0100", "dateTo": f"{end:%Y-%m-%d}T00:00:00"},
            start,
            end,
        ),
    ):
        items = api.get(path, persona="GEORGES", params=params).json()["transactions"]
        assert len(items) == _expected(0, date_from, date_to)
        dates = {dt.date.fromisoformat(t["bookingDate"]) for t in items}
        assert day in dates or date_from is None
        if date_from is not None:
            assert min(dates) >= day
        if date_to is not None:
            assert max(dates) < date_to.date()


@pytest.mark.parametrize(
    "params",
    [
        {"dateFrom": "2026-13-45T00:00:00.000Z"},
        {"dateTo": "yesterday"},
        {"dateFrom": "2026-01-01"},
    ],
)
def test_transactions_invalid_date_400(api: Api, params: dict[str, str]) -> None:
    assert_error(
        api.get(f"/accounts/{GEORGES_ID}/transactions", persona="GEORGES", params=params), 400
    )


def test_transactions_depth_and_order(api: Api) -> None:
    limit = data.history_start(today(), 62)
    path = f"/accounts/{LEA_ID}/transactions"
    ok = api.get(path, params={"dateFrom": f"{limit:%Y-%m-%d}T00:00:00.000Z"})
    assert ok.status_code == 200
    older = limit - dt.timedelta(seconds=1)
    body = assert_error(api.get(path, params={"dateFrom": f"{older:%Y-%m-%dT%H:%M:%S}Z"}), 400)
    assert "out of bound" in str(body["message"])
    reversed_range = {"dateFrom": f"{today()}T00:00:00Z", "dateTo": f"{limit:%Y-%m-%d}T00:00:00Z"}
    assert_error(api.get(path, params=reversed_range), 400)


def test_trusted_beneficiaries_501_and_unknown_path_404(api: Api) -> None:
    assert_error(api.get("/trusted-beneficiaries"), 501)
    assert_error(api.get("/payment-requests"), 404)


def test_funds_confirmation(api: Api) -> None:
    request = {
        "paymentCoverageRequestId": "MyCoverage123456",
        "instructedAmount": {"amount": "100.00", "currency": "EUR"},
        "accountId": {"iban": "FR7612579000920400851811524"},
    }
    response = api.call("POST", "/funds-confirmations", scope="cbpii", json=request)
    assert response.status_code == 200
    assert response.json() == {
        "request": request,
        "result": True,
        "_links": {"self": {"templated": False, "href": f"{BASE}/funds-confirmations"}},
    }
    poor = dict(request, accountId={"iban": "FR7612579000920400430518020"})
    assert (
        api.call("POST", "/funds-confirmations", scope="cbpii", json=poor).json()["result"] is False
    )
    foreign = dict(request, accountId={"iban": "FR7612579000920400221187355"})
    assert_error(api.call("POST", "/funds-confirmations", scope="cbpii", json=foreign), 403)
    assert_error(api.call("POST", "/funds-confirmations", scope="cbpii", json={"x": 1}), 400)
    assert_error(api.call("POST", "/funds-confirmations", json=request), 403)


def test_consents_replace_and_revoke(fresh: Fresh) -> None:
    lea = BANK.personas["LEA"]
    main, second = (a.iban for a in lea.accounts)
    with fresh(()) as api:
        only_main = {
            "balances": [{"iban": main}],
            "transactions": [{"iban": second}],
            "psuIdentity": True,
            "trustedBeneficiaries": False,
        }
        response = api.call("PUT", "/consents", json=only_main)
        assert response.status_code == 201
        assert response.content == b""
        body = api.get("/accounts").json()
        assert "endUserIdentity" in body["_links"]
        first, other = body["accounts"]
        assert set(first["_links"]) == {"balances"} and "balances" in first
        assert set(other["_links"]) == {"transactions"} and "balances" not in other
        assert api.get(f"/accounts/{LEA_ID}/balances").status_code == 200
        assert_error(api.get(f"/accounts/{LEA_ID}/transactions"), 403)
        assert api.get("/end-user-identity").status_code == 200
        revoke = dict(only_main, balances=[], transactions=[], psuIdentity=False)
        assert api.call("PUT", "/consents", json=revoke).status_code == 201
        for account in api.get("/accounts").json()["accounts"]:
            assert not {"resourceId", "_links", "balances"} & account.keys()
        assert_error(api.get(f"/accounts/{LEA_ID}/balances"), 403)
        assert_error(api.call("PUT", "/consents", json={"balances": []}), 400)
        foreign = dict(only_main, balances=[{"iban": "FR7612579000920400221187355"}])
        assert_error(api.call("PUT", "/consents", json=foreign), 400)
        assert_error(api.call("PUT", "/consents", json=only_main, scope="pisp"), 403)
        assert_error(api.call("POST", "/consents", json=only_main), 405)


# --- authentication ladder ------------------------------------------------------------------


def test_no_client_certificate_refused_at_tls(sandbox: SandboxServer) -> None:
    context = client_context(sandbox.pki.ca_cert, None, None)
    with httpx.Client(verify=context) as client, pytest.raises(httpx.TransportError):
        client.get(f"{sandbox.base_url}{BASE}/accounts")


def test_request_id_required(api: Api) -> None:
    assert_error(api.get("/accounts", request_id=False), 400)
    long_id = "x" * 71
    response = api.get("/accounts", headers={"X-Request-ID": long_id})
    assert_error(response, 400)
    assert response.headers["x-request-id"] == long_id
    assert api.get("/accounts", headers={"X-Request-ID": "y" * 70}).status_code == 200


def test_signature_required_and_verified(api: Api, sandbox: SandboxServer) -> None:
    body = assert_error(api.get("/accounts", sign=False), 400)
    assert "Signature" in str(body["message"])
    bad = Signer(load_key(sandbox.pki.other_qseal_key), api.profile["signing"]["key_id"])
    with open_api(sandbox, signer=bad) as other:
        body = assert_error(other.get("/accounts"), 400)
        assert "verification" in str(body["message"])
    assert_error(api.get("/accounts", headers={"Signature": 'keyId="x"'}), 400)


def test_digest_checked(api: Api) -> None:
    wrong = "SHA-256=" + base64.b64encode(b"\0" * 32).decode()
    body = assert_error(api.get("/accounts", headers={"Digest": wrong}), 400)
    assert "Digest" in str(body["message"])
    assert_error(api.get("/accounts", digest=False), 400)
    sha512 = "SHA-512=" + base64.b64encode(__import__("hashlib").sha512(b"").digest()).decode()
    assert api.get("/accounts", headers={"Digest": sha512}).status_code == 200


def test_key_ids(api: Api, sandbox: SandboxServer) -> None:
    key = load_key(sandbox.pki.qseal_key)
    cert = x509.load_pem_x509_certificate(sandbox.pki.qseal_cert.read_bytes())
    for key_id, status in (
        ("https://example.test/certs/qseal_" + "0" * 64, 400),
        ("SN=1,CA=CN=nobody", 400),
        (cavage.serial_key_id(cert), 200),
        ("https://tpp.example/keys/myQsealCertificate_" + cavage.fingerprint(cert), 200),
    ):
        with open_api(sandbox, signer=Signer(key, key_id)) as client:
            assert client.get("/accounts").status_code == status, key_id


def test_signed_headers_must_cover_psu_ip_address(api: Api, sandbox: SandboxServer) -> None:
    narrow = Signer(
        load_key(sandbox.pki.qseal_key),
        api.profile["signing"]["key_id"],
        headers=["(request-target)", "digest"],
    )
    with open_api(sandbox, signer=narrow) as client:
        assert_error(client.get("/accounts"), 400)
        assert client.get("/accounts", psu_ip_address=False, persona="CLAIRE").status_code == 200


def test_tokens(api: Api) -> None:
    response = api.get("/accounts", token="nope")
    assert_error(response, 401)
    assert "invalid_token" not in response.text
    expired = api.profile["personas"]["LEA"]["expired_tokens"]["aisp"]
    response = api.get("/accounts", token=expired)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert_error(api.get("/accounts", scope="pisp"), 403)
    assert_error(api.get(f"/accounts/{LEA_ID}/balances", scope="pisp"), 403)
    assert_error(api.get(f"/accounts/{LEA_ID}/transactions", scope="pisp"), 403)


def test_wrong_methods_405(api: Api) -> None:
    for path in ("/accounts", f"/accounts/{LEA_ID}/balances", f"/accounts/{LEA_ID}/transactions"):
        response = api.call("POST", path, json={})
        assert_error(response, 405)
        assert response.headers["allow"] == "GET"


def test_rate_limit_without_psu_ip_address(api: Api) -> None:
    path = "/accounts/125790009208003344120/balances"
    for _ in range(4):
        assert api.get(path, persona="GEORGES", psu_ip_address=False).status_code == 200
    assert_error(api.get(path, persona="GEORGES", psu_ip_address=False), 429)
    assert api.get(path, persona="GEORGES").status_code == 200


def test_oauth_flow(api: Api) -> None:
    oauth = api.profile["oauth"]
    params = {
        "response_type": "code",
        "client_id": TPP_ID,
        "redirect_uri": "https://www.mycallback.com/",
        "scope": "aisp",
        "state": "s-42",
        "psu": "CLAIRE",
    }
    response = api.client.get(oauth["authorize_url"], params=params)
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert location.netloc == "www.mycallback.com"
    query = parse_qs(location.query)
    assert query["state"] == ["s-42"]
    form = {
        "grant_type": "authorization_code",
        "code": query["code"][0],
        "redirect_uri": "https://www.mycallback.com/",
        "client_id": TPP_ID,
    }
    token = api.client.post(oauth["token_url"], data=form)
    assert token.status_code == 200
    issued = token.json()
    assert issued["token_type"] == "Bearer" and issued["expires_in"] == 3600
    assert issued["scope"] == "aisp"
    accounts = api.get("/accounts", token=issued["access_token"])
    assert accounts.json()["accounts"][0]["name"] == "CLAIRE SANDBOXC"
    reused = api.client.post(oauth["token_url"], data=form)
    assert (reused.status_code, reused.json()["error"]) == (400, "invalid_grant")
    refresh_form = {
        "grant_type": "refresh_token",
        "refresh_token": issued["refresh_token"],
        "client_id": TPP_ID,
    }
    refreshed = api.client.post(oauth["token_url"], data=refresh_form)
    assert refreshed.status_code == 200
    new_token = refreshed.json()["access_token"]
    assert api.get("/accounts", token=new_token).status_code == 200
    revoked = api.client.post(oauth["revoke_url"], data={"token": issued["refresh_token"]})
    assert revoked.status_code == 200
    assert_error(api.get("/accounts", token=new_token), 401)
    assert api.client.post(oauth["token_url"], data=refresh_form).json()["error"] == "invalid_grant"


def test_revoke_without_a_token_is_invalid_request(api: Api) -> None:
    """RFC 7009 2.1: the token parameter is required (RFC 6749 5.2: a missing one is 400)."""
    revoke_url = api.profile["oauth"]["revoke_url"]
    response = api.client.post(revoke_url, data={"token_type_hint": "refresh_token"})
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")
    assert api.client.post(revoke_url, data={"token": "unknown"}).status_code == 200


def test_oauth_client_id_mismatch(api: Api) -> None:
    oauth = api.profile["oauth"]
    refresh = api.profile["personas"]["MARC"]["refresh_tokens"]["aisp"]
    form = {"grant_type": "refresh_token", "refresh_token": refresh, "client_id": "PSDFR-X-1"}
    response = api.client.post(oauth["token_url"], data=form)
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")
    ok = api.client.post(oauth["token_url"], data=dict(form, client_id=TPP_ID))
    assert ok.status_code == 200 and ok.json()["scope"] == "aisp"


def test_other_tpp_cannot_use_first_tpp_token(sandbox: SandboxServer) -> None:
    with open_api(
        sandbox, cert=sandbox.pki.other_qwac_cert, key=sandbox.pki.other_qwac_key
    ) as other:
        assert_error(other.get("/accounts"), 401)
