"""Replay protection (a bank variant), the Content-Type of PUT /consents and duplicated headers.

Issue 7: a bank that promises replay protection refuses a second request with the same keyId and
Signature value within 5 minutes; the portal's bank does not promise it, so the default sandbox
accepts a replay. Issue 5: odd Content-Type and duplicated headers never give a 5xx.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import httpx
import pytest
from sandbox_helpers import BASE, PSU_IP, Api, load_key, open_api

from stet_conformance.http.signing import RequestOptions, Signer
from stet_conformance.sandbox.faults import variant_options
from stet_conformance.sandbox.personas import load_bank
from stet_conformance.sandbox.server import SandboxServer
from stet_conformance.sandbox.state import REPLAY_WINDOW, SandboxState
from stet_conformance.shared import cavage
from stet_conformance.shared.resources import fixtures_dir

Start = Callable[..., AbstractContextManager[Api]]
LEA_CONSENT = {
    "balances": [{"iban": "FR7612579000920400430518020"}, {"iban": "FR7612579000920400851811524"}],
    "transactions": [
        {"iban": "FR7612579000920400430518020"},
        {"iban": "FR7612579000920400851811524"},
    ],
    "psuIdentity": False,
    "trustedBeneficiaries": False,
}


@pytest.fixture
def start(sandbox: SandboxServer, tmp_path: Path) -> Start:
    """A short-lived sandbox (faults, replay protection), reusing the session's PKI."""

    @contextmanager
    def run(faults: Sequence[str] = (), *, replay_protection: bool = False) -> Iterator[Api]:
        directory = tmp_path / f"{'-'.join(faults) or 'clean'}-{replay_protection}"
        shutil.copytree(sandbox.pki.directory, directory / "pki")
        server = SandboxServer(directory, faults, replay_protection=replay_protection)
        with server, open_api(server) as client:
            yield client

    return run


def assert_error(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    body = response.json()
    assert body["status"] == status
    assert {"timestamp", "error", "message", "path"} <= body.keys()


def _signed(api: Api, method: str = "GET", path: str = "/accounts") -> httpx.Request:
    return api.client.build_request(
        method, BASE + path, extensions={"stet": RequestOptions(token=api.token())}
    )


def _twice(api: Api) -> tuple[httpx.Response, httpx.Response]:
    """One signed request sent twice as it is: the auth flow keeps its Signature."""
    request = _signed(api)
    first = api.client.send(request)
    signature = first.request.headers["signature"]
    second = api.client.send(request)
    assert second.request.headers["signature"] == signature
    assert second.request.headers["x-request-id"] == first.request.headers["x-request-id"]
    return first, second


# ---------------------------------------------------------------- replay protection


def test_default_sandbox_accepts_a_replay(api: Api) -> None:
    first, second = _twice(api)
    assert (first.status_code, second.status_code) == (200, 200)
    assert api.profile["replay_protection"] is False


def test_replay_protection_refuses_a_replay_with_400(start: Start) -> None:
    with start(replay_protection=True) as api:
        assert api.profile["replay_protection"] is True
        first, second = _twice(api)
        assert first.status_code == 200
        assert_error(second, 400)
        assert "replayed" in second.json()["message"]
        assert second.headers["x-request-id"] == first.request.headers["x-request-id"]
        assert api.get("/accounts").status_code == 200  # a new signature is fine


def test_only_verified_signatures_count_as_seen(start: Start) -> None:
    with start(replay_protection=True) as api:
        good = api.client.send(_signed(api))
        assert good.status_code == 200
        reused = good.request.headers["signature"]  # seen, but it does not sign a new X-Request-ID
        for _ in range(2):
            request = api.client.build_request(
                "GET",
                BASE + "/accounts",
                headers={"Signature": reused},
                extensions={"stet": RequestOptions(token=api.token())},
            )
            response = api.client.send(request)
            assert_error(response, 400)
            assert "verification failed" in response.json()["message"]


def test_fault_replay_accepted_turns_the_check_off(start: Start) -> None:
    with start(["replay-accepted"], replay_protection=True) as api:
        assert api.profile["replay_protection"] is True
        first, second = _twice(api)
        assert (first.status_code, second.status_code) == (200, 200)


def test_replay_window_is_five_minutes() -> None:
    now = [dt.datetime(2026, 1, 1, tzinfo=dt.UTC)]
    state = SandboxState(
        load_bank(fixtures_dir() / "personas.yaml"),
        frozenset(),
        None,  # type: ignore[arg-type]  # the certificate only serves to verify signatures
        "PSDFR-ACPR-13807",
        clock=lambda: now[0],
        replay_protection=True,
    )
    assert not state.replayed("key", b"sig")
    assert state.replayed("key", b"sig")
    assert not state.replayed("other-key", b"sig")
    now[0] += REPLAY_WINDOW - dt.timedelta(seconds=1)
    assert state.replayed("key", b"sig")
    now[0] += dt.timedelta(seconds=1)
    assert not state.replayed("key", b"sig")  # forgotten after 5 minutes, remembered again
    assert state.replayed("key", b"sig")
    assert len(state.signatures) == 1  # other-key expired too


def test_the_replay_fault_starts_the_variant_from_the_cli() -> None:
    assert variant_options(["replay-accepted"]) == {"replay_protection": True}
    assert variant_options(["signature-unchecked"]) == {}


# ---------------------------------------------------------------- Content-Type of PUT /consents


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "APPLICATION/JSON;charset=UTF-8"],
)
def test_consents_accept_application_json_variants(api: Api, content_type: str) -> None:
    response = api.call(
        "PUT", "/consents", json=LEA_CONSENT, headers={"Content-Type": content_type}
    )
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/xml", "multipart/form-data; boundary=x", "", "garbage"],
)
def test_consents_refuse_other_content_types_with_415(api: Api, content_type: str) -> None:
    response = api.call(
        "PUT", "/consents", json=LEA_CONSENT, headers={"Content-Type": content_type}
    )
    assert_error(response, 415)


def test_consents_without_content_type_is_415(api: Api) -> None:
    request = api.client.build_request(
        "PUT",
        BASE + "/consents",
        content=json.dumps(LEA_CONSENT).encode(),
        extensions={"stet": RequestOptions(token=api.token())},
    )
    assert "content-type" not in request.headers
    assert_error(api.client.send(request), 415)


def test_fault_content_type_500(start: Start) -> None:
    with start(["content-type-500"]) as api:
        headers = {"Content-Type": "text/plain"}
        response = api.call("PUT", "/consents", json=LEA_CONSENT, headers=headers)
        assert response.status_code == 500
        assert api.call("PUT", "/consents", json=LEA_CONSENT).status_code == 201


# ---------------------------------------------------------------- duplicated headers


def test_harness_signs_a_duplicated_header_as_its_values_joined(sandbox: SandboxServer) -> None:
    """draft-cavage 2.3: several values of one header are joined with ", " (the signer side)."""
    key = load_key(sandbox.pki.qseal_key)
    signer = Signer(key, "https://tpp.example/qseal_x")
    request = httpx.Request(
        "GET",
        "https://bank.example/a",
        headers=[("PSU-IP-Address", "192.0.2.1"), ("PSU-IP-Address", "192.0.2.2")],
    )
    assert signer.names_for(request.headers) == [cavage.REQUEST_TARGET, "psu-ip-address"]
    params = cavage.parse_signature_header(signer.signature_header(request))
    text = cavage.signing_string(
        "GET", "/a", {"psu-ip-address": "192.0.2.1, 192.0.2.2"}, params.headers
    )
    assert text.endswith("psu-ip-address: 192.0.2.1, 192.0.2.2")
    assert cavage.verify(key.public_key(), text, params.signature)


@pytest.mark.parametrize("header", ["X-Request-ID", "PSU-IP-Address"])
def test_duplicated_header_is_signed_verified_and_answered(api: Api, header: str) -> None:
    first, second = ("req-1", "req-2") if header == "X-Request-ID" else (PSU_IP, "192.0.2.77")
    request = api.client.build_request(
        "GET",
        BASE + "/accounts",
        headers=[(header, first), (header, second)],
        extensions={"stet": RequestOptions(token=api.token())},
    )
    response = api.client.send(request)
    assert response.status_code == 200, response.text
    sent = [v for k, v in response.request.headers.raw if k.lower() == header.lower().encode()]
    assert sent == [first.encode(), second.encode()]
    signed = cavage.parse_signature_header(response.request.headers["signature"]).headers
    assert header.lower() in signed
    if header == "X-Request-ID":
        assert response.headers["x-request-id"] == first  # the first value is the one read


def test_fault_duplicate_header_500(start: Start) -> None:
    with start(["duplicate-header-500"]) as api:
        request = api.client.build_request(
            "GET",
            BASE + "/accounts",
            headers=[("X-Request-ID", "a"), ("X-Request-ID", "a")],
            extensions={"stet": RequestOptions(token=api.token())},
        )
        assert api.client.send(request).status_code == 500
        assert api.get("/accounts").status_code == 200
