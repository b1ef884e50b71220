"""The per-request shortcuts of the client and the checks (issue 18) answer as the plain code.

Each shortcut is compared with the straightforward version it replaced, on generated input: a
faster walk that skipped a null, a search that missed a secret field's name, or a signer that
read another set of headers than ``names_for`` would change a verdict or leak a secret.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from stet_conformance.checks.body import NULL_TOLERATED, _nulls
from stet_conformance.config.live import origin
from stet_conformance.http.redact import SECRET_FIELDS, _body_secrets
from stet_conformance.http.signing import Signer
from stet_conformance.shared import cavage

KEYS = st.sampled_from([*sorted(NULL_TOLERATED), *sorted(SECRET_FIELDS), "a", "b", "_links"])
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=30,
)


def _plain_nulls(value: Any, where: str = "") -> list[str]:
    """Every value visited, every path spelled: the walk ``_nulls`` shortens."""
    if isinstance(value, list):
        return [n for i, v in enumerate(value) for n in _plain_nulls(v, f"{where}[{i}]")]
    if not isinstance(value, dict):
        return []
    found = []
    for key, item in value.items():
        path = f"{where}.{key}" if where else str(key)
        found += [path] if item is None and key in NULL_TOLERATED else _plain_nulls(item, path)
    return found


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_tolerated_nulls_are_found_where_the_plain_walk_finds_them(body: Any) -> None:
    assert _nulls(body) == _plain_nulls(body)


def test_tolerated_nulls_deep_in_lists_keep_their_paths() -> None:
    body = {"a": [[{"resourceId": None}], {"b": {"entryReference": None, "a": None}}], "c": 1}
    assert _nulls(body) == ["a[0][0].resourceId", "a[1].b.entryReference"]
    assert _nulls([None, {"resourceId": None}]) == ["[1].resourceId"]


@pytest.mark.parametrize("name", sorted(SECRET_FIELDS))
def test_every_secret_field_of_a_body_is_found(name: str) -> None:
    content = json.dumps({"other": 1, name: "handed-out-value"}).encode()
    assert _body_secrets(content) == ["handed-out-value"]


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(KEYS, JSON, max_size=5) | JSON)
def test_a_body_is_searched_for_secrets_whenever_it_names_a_secret_field(body: Any) -> None:
    content = json.dumps(body).encode()
    markers = [f'"{name}"'.encode() for name in SECRET_FIELDS]
    plain = [] if not any(m in content for m in markers) else _plain_secrets(body)
    assert _body_secrets(content) == plain


def _plain_secrets(body: Any) -> list[str]:
    if not isinstance(body, dict):
        return []
    return [v for k, v in body.items() if k.lower() in SECRET_FIELDS and isinstance(v, str)]


def test_a_secret_field_name_inside_a_longer_name_is_not_a_marker() -> None:
    assert _body_secrets(b'{"codes": "x", "my_token": "y", "code": "z"}') == ["z"]
    assert _body_secrets(b'{"xcode": "abcdefgh"}') == []


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.mark.parametrize("listed", [None, ("x-request-id", "(request-target)", "psu-ip-address")])
def test_the_signature_names_the_headers_names_for_chooses(
    key: rsa.RSAPrivateKey, listed: tuple[str, ...] | None
) -> None:
    """Mixed case, a header sent twice, psu-* headers: the signer reads the headers once."""
    headers = [
        ("X-Request-ID", "r1"),
        ("PSU-User-Agent", "ua"),
        ("psu-ip-address", "192.0.2.1"),
        ("Digest", "SHA-256=x"),
        ("Accept", "a"),
        ("Accept", "b"),
    ]
    request = httpx.Request("GET", "https://bank.example/a?b=c", headers=headers)
    signer = Signer(key, "key-1", listed)
    params = cavage.parse_signature_header(signer.signature_header(request))
    assert list(params.headers) == signer.names_for(request.headers)
    lowered = {k.lower(): v for k, v in request.headers.items()}
    text = cavage.signing_string("GET", "/a?b=c", lowered, params.headers)
    assert cavage.verify(key.public_key(), text, params.signature)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://Bank.Example/stet?x=1", ("https", "bank.example", 443)),
        ("http://127.0.0.1/a", ("http", "127.0.0.1", 80)),
        ("https://[::1]:8443/a", ("https", "::1", 8443)),
    ],
)
def test_the_origin_of_a_parsed_url_is_the_origin_of_its_text(
    url: str, expected: tuple[str, str, int]
) -> None:
    """The client checks ``request.url`` (parsed already) as the profile's URL text."""
    assert origin(httpx.URL(url)) == origin(url) == expected
