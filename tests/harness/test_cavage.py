"""draft-cavage HTTP signatures: published vectors, header parsing, the signer and StetAuth."""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from stet_conformance.http.signing import RequestOptions, Signer, StetAuth
from stet_conformance.shared import cavage

VECTORS = json.loads(
    (Path(__file__).parents[1] / "vectors" / "cavage_appendix_c.json").read_text(encoding="utf-8")
)
EMPTY_DIGEST = "SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
URL = "https://bank.example/stet/psd2/v1.4.2/consents?dateFrom=2024-01-01&x=a%20b"


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    loaded = load_pem_private_key(VECTORS["private_key_pem"].encode("ascii"), None)
    assert isinstance(loaded, rsa.RSAPrivateKey)
    return loaded


# --- Appendix C vectors -------------------------------------------------------------------------


@pytest.mark.parametrize("case", VECTORS["cases"], ids=lambda c: c["name"].split()[0])
def test_appendix_c_signatures_are_reproduced_byte_for_byte(
    key: rsa.RSAPrivateKey, case: dict[str, Any]
) -> None:
    request = VECTORS["request"]
    text = cavage.signing_string(
        request["method"], request["path"], request["headers"], case["headers"]
    )
    signature = cavage.sign(key, text)
    assert base64.b64encode(signature).decode("ascii") == case["signature"]
    assert cavage.verify(key.public_key(), text, signature)


def test_appendix_c3_signing_string_layout() -> None:
    request = VECTORS["request"]
    names = VECTORS["cases"][2]["headers"]
    text = cavage.signing_string(request["method"], request["path"], request["headers"], names)
    assert text.splitlines() == [
        "(request-target): post /foo?param=value&pet=dog",
        "host: example.com",
        "date: Sun, 05 Jan 2014 21:31:40 GMT",
        "content-type: application/json",
        "digest: SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=",
        "content-length: 18",
    ]
    assert not text.endswith("\n")


def test_body_digest_of_the_appendix_body() -> None:
    body = VECTORS["request"]["body"].encode("utf-8")
    assert cavage.body_digest(body) == VECTORS["request"]["headers"]["digest"]


def test_body_digest_of_an_empty_body() -> None:
    assert cavage.body_digest(b"") == EMPTY_DIGEST


def test_signing_string_strips_values_and_names_a_missing_header() -> None:
    text = cavage.signing_string("GET", "/a", {"date": "  Mon  "}, ["date"])
    assert text == "date: Mon"
    with pytest.raises(KeyError, match="digest"):
        cavage.signing_string("GET", "/a", {"date": "x"}, ["date", "digest"])


# --- Signature header parse / format ------------------------------------------------------------


def test_signature_header_round_trip() -> None:
    params = cavage.SignatureParams(
        "https://bank.example/certs/qseal_ab12",
        cavage.ALGORITHM,
        ("(request-target)", "digest", "x-request-id"),
        bytes(range(40)),
    )
    header = params.to_header()
    assert header.startswith('keyId="https://bank.example/certs/qseal_ab12",algorithm="rsa-sha256"')
    assert cavage.parse_signature_header(header) == params


def test_parse_tolerates_spaces_and_lowercases_header_names() -> None:
    value = (
        'keyId = "k1" , algorithm="rsa-sha256",  headers="(request-target) Date",signature="QUJD"'
    )
    parsed = cavage.parse_signature_header(value)
    assert parsed.key_id == "k1"
    assert parsed.headers == ("(request-target)", "date")
    assert parsed.signature == b"ABC"


def test_parse_defaults_headers_to_date_and_algorithm_to_empty() -> None:
    parsed = cavage.parse_signature_header('keyId="k",signature="QUJD"')
    assert parsed.headers == ("date",)
    assert parsed.algorithm == ""


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('algorithm="rsa-sha256",headers="date",signature="QUJD"', "no keyId"),
        ('keyId="",signature="QUJD"', "no keyId"),
        ('keyId="k",headers="date"', "no signature"),
        ('keyId="k",signature="not base64!"', "not base64"),
        ('keyId="k",signature="QUJ"', "not base64"),
        ("garbage", "not a list"),
        ('keyId="k" signature="QUJD"', "not a list"),
        ('keyId=k,signature="QUJD"', "not a list"),
        ('keyId="k",signature="QUJD",,', "not a list"),
    ],
)
def test_parse_errors(value: str, message: str) -> None:
    with pytest.raises(cavage.SignatureFormatError, match=message):
        cavage.parse_signature_header(value)


def test_signature_format_error_is_a_value_error() -> None:
    assert issubclass(cavage.SignatureFormatError, ValueError)


def test_verify_is_false_on_a_tampered_string(key: rsa.RSAPrivateKey) -> None:
    text = "(request-target): get /accounts\nx-request-id: 1"
    signature = cavage.sign(key, text)
    assert cavage.verify(key.public_key(), text, signature)
    assert not cavage.verify(key.public_key(), text.replace("1", "2"), signature)
    assert not cavage.verify(key.public_key(), text, signature[:-1] + b"\x00")


# --- Signer.names_for ---------------------------------------------------------------------------


def _signer(key: rsa.RSAPrivateKey, headers: tuple[str, ...] | None = None) -> Signer:
    return Signer(key, "key-1", headers)


def test_names_for_strict_default_set(key: rsa.RSAPrivateKey) -> None:
    headers = httpx.Headers(
        {
            "PSU-User-Agent": "ua",
            "Date": "Mon",
            "Content-Type": "application/json",
            "Digest": "d",
            "X-Request-ID": "r",
            "psu-ip-address": "1.2.3.4",
            "Authorization": "Bearer t",
            "Accept": "application/json",
        }
    )
    assert _signer(key).names_for(headers) == [
        "(request-target)",
        "digest",
        "x-request-id",
        "content-type",
        "date",
        "psu-ip-address",
        "psu-user-agent",
    ]


def test_names_for_leaves_out_absent_headers(key: rsa.RSAPrivateKey) -> None:
    headers = httpx.Headers({"X-Request-ID": "r"})
    assert _signer(key).names_for(headers) == ["(request-target)", "x-request-id"]


def test_names_for_with_a_profile_list(key: rsa.RSAPrivateKey) -> None:
    signer = _signer(key, ("x-request-id", "(request-target)", "digest", "psu-ip-address"))
    headers = httpx.Headers({"Digest": "d", "X-Request-ID": "r", "PSU-User-Agent": "ua"})
    # profile order; absent psu-ip-address dropped; unlisted psu-user-agent not added
    assert signer.names_for(headers) == ["x-request-id", "(request-target)", "digest"]


# --- StetAuth -----------------------------------------------------------------------------------


def _request(
    options: RequestOptions | None = None,
    *,
    content: bytes | None = b'{"psuIdentity": false}',
    headers: dict[str, str] | None = None,
    method: str = "PUT",
) -> httpx.Request:
    extensions = {"stet": options} if options is not None else {}
    return httpx.Request(
        method,
        URL,
        content=content,
        headers={"Content-Type": "application/json", **(headers or {})},
        extensions=extensions,
    )


def _drive(auth: StetAuth, request: httpx.Request) -> httpx.Request:
    flow = auth.auth_flow(request)
    sent = next(flow)
    with pytest.raises(StopIteration):
        flow.send(httpx.Response(200, request=sent))
    return sent


def _verify(key: rsa.RSAPrivateKey, request: httpx.Request) -> cavage.SignatureParams:
    params = cavage.parse_signature_header(request.headers["signature"])
    lowered = {k.lower(): v for k, v in request.headers.items()}
    text = cavage.signing_string(
        request.method, request.url.raw_path.decode("ascii"), lowered, params.headers
    )
    assert cavage.verify(key.public_key(), text, params.signature)
    return params


def test_stet_auth_adds_every_header_and_a_verifiable_signature(key: rsa.RSAPrivateKey) -> None:
    auth = StetAuth(_signer(key), psu_ip_address="192.0.2.7")
    request = _request(RequestOptions(token="tok-abc"))
    sent = _drive(auth, request)

    assert sent.headers["authorization"] == "Bearer tok-abc"
    request_id = sent.headers["x-request-id"]
    assert str(uuid.UUID(request_id)) == request_id
    assert sent.headers["psu-ip-address"] == "192.0.2.7"
    assert sent.headers["digest"] == cavage.body_digest(b'{"psuIdentity": false}')

    params = _verify(key, sent)
    assert params.key_id == "key-1"
    assert params.algorithm == "rsa-sha256"
    assert params.headers == (
        "(request-target)",
        "digest",
        "x-request-id",
        "content-type",
        "psu-ip-address",
    )
    assert "authorization" not in params.headers


def test_signature_covers_the_query_string(key: rsa.RSAPrivateKey) -> None:
    sent = _drive(StetAuth(_signer(key)), _request(RequestOptions(token="t")))
    params = cavage.parse_signature_header(sent.headers["signature"])
    lowered = {k.lower(): v for k, v in sent.headers.items()}
    text = cavage.signing_string("PUT", "/stet/psd2/v1.4.2/consents", lowered, params.headers)
    assert not cavage.verify(key.public_key(), text, params.signature)
    full = cavage.signing_string(
        "PUT", "/stet/psd2/v1.4.2/consents?dateFrom=2024-01-01&x=a%20b", lowered, params.headers
    )
    assert cavage.verify(key.public_key(), full, params.signature)


def test_each_request_gets_a_fresh_request_id(key: rsa.RSAPrivateKey) -> None:
    auth = StetAuth(_signer(key))
    first = _drive(auth, _request()).headers["x-request-id"]
    second = _drive(auth, _request()).headers["x-request-id"]
    assert first != second


def test_digest_of_an_empty_body(key: rsa.RSAPrivateKey) -> None:
    sent = _drive(StetAuth(_signer(key)), _request(content=None, method="GET"))
    assert sent.headers["digest"] == EMPTY_DIGEST
    assert "digest" in _verify(key, sent).headers


def test_default_options_add_no_authorization(key: rsa.RSAPrivateKey) -> None:
    sent = _drive(StetAuth(_signer(key), "192.0.2.7"), _request())
    assert "authorization" not in sent.headers
    assert "signature" in sent.headers


@pytest.mark.parametrize(
    ("option", "header"),
    [
        ("sign", "signature"),
        ("digest", "digest"),
        ("request_id", "x-request-id"),
        ("psu_ip_address", "psu-ip-address"),
    ],
)
def test_request_options_switch_each_part_off(
    key: rsa.RSAPrivateKey, option: str, header: str
) -> None:
    options = RequestOptions(token="tok", **{option: False})
    sent = _drive(StetAuth(_signer(key), "192.0.2.7"), _request(options))
    assert header not in sent.headers
    others = {"signature", "digest", "x-request-id", "psu-ip-address"} - {header}
    assert all(name in sent.headers for name in others)
    if option != "sign":
        assert header not in _verify(key, sent).headers


def test_no_psu_ip_address_when_not_configured(key: rsa.RSAPrivateKey) -> None:
    sent = _drive(StetAuth(_signer(key), None), _request())
    assert "psu-ip-address" not in sent.headers


def test_no_signature_without_a_signer() -> None:
    sent = _drive(StetAuth(None), _request(RequestOptions(token="t")))
    assert "signature" not in sent.headers
    assert sent.headers["authorization"] == "Bearer t"


def test_existing_headers_are_not_overwritten(key: rsa.RSAPrivateKey) -> None:
    given = {
        "Authorization": "Basic abc",
        "X-Request-ID": "my-id",
        "PSU-IP-Address": "10.0.0.1",
        "Digest": EMPTY_DIGEST,
        "Signature": 'keyId="x",signature="QUJD"',
    }
    sent = _drive(StetAuth(_signer(key), "192.0.2.7"), _request(RequestOptions("t"), headers=given))
    for name, value in given.items():
        assert sent.headers.get_list(name) == [value]


def test_caller_headers_are_signed_as_sent(key: rsa.RSAPrivateKey) -> None:
    sent = _drive(
        StetAuth(_signer(key), "192.0.2.7"),
        _request(headers={"X-Request-ID": "my-id", "Digest": EMPTY_DIGEST}),
    )
    params = _verify(key, sent)
    assert {"x-request-id", "digest"} <= set(params.headers)
