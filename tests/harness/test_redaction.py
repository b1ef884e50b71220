"""Secrets never reach failure messages, logs or reports."""

from __future__ import annotations

import json

import httpx

from stet_conformance.http.client import MAX_BODY_SHOWN, Exchange
from stet_conformance.http.redact import REDACTED, Redactor

TOKEN = "Uq3Bd2PN9hIQFnIjev7pTGIfJFA86ScjuRsm7oOet717pcXH"
REFRESH = "h9knGKzI52OUs0bpCr70G21SxoyKbSPaAHAKmdmetILZgvyi"
SIGNATURE = (
    'keyId="https://bank.example/certs/qseal_ab",algorithm="rsa-sha256",'
    'headers="(request-target) digest",signature="c2lnbmF0dXJlLXZhbHVlLXNlY3JldA=="'
)


def test_secret_headers_are_replaced_whatever_their_case() -> None:
    redactor = Redactor()
    headers = [
        ("Authorization", f"Bearer {TOKEN}"),
        ("signature", SIGNATURE),
        ("Cookie", "session=abc"),
        ("Set-Cookie", "session=abc; HttpOnly"),
        ("Proxy-Authorization", "Basic eA=="),
        ("X-Request-ID", "rid-1"),
        ("Content-Type", "application/json"),
    ]
    assert redactor.headers(headers) == [
        ("Authorization", REDACTED),
        ("signature", REDACTED),
        ("Cookie", REDACTED),
        ("Set-Cookie", REDACTED),
        ("Proxy-Authorization", REDACTED),
        ("X-Request-ID", "rid-1"),
        ("Content-Type", "application/json"),
    ]


def test_known_secrets_are_removed_from_other_headers() -> None:
    redactor = Redactor([TOKEN])
    assert redactor.headers([("Location", f"https://tpp/cb?t={TOKEN}")]) == [
        ("Location", f"https://tpp/cb?t={REDACTED}")
    ]


def test_json_secret_fields_nested() -> None:
    body = {
        "access_token": TOKEN,
        "token_type": "Bearer",
        "nested": {"Refresh_Token": REFRESH, "list": [{"code": "auth-code-123"}, {"other": 1}]},
        "id_token": "",
        "password": None,
    }
    out = Redactor().body(json.dumps(body).encode(), "application/json")
    data = json.loads(out)
    assert data["access_token"] == REDACTED
    assert data["token_type"] == "Bearer"
    assert data["nested"]["Refresh_Token"] == REDACTED
    assert data["nested"]["list"] == [{"code": REDACTED}, {"other": 1}]
    # empty values stay visible: they are not secrets and show what the bank sent
    assert data["id_token"] == ""
    assert data["password"] is None
    assert TOKEN not in out
    assert REFRESH not in out


def test_json_is_detected_without_a_content_type() -> None:
    out = Redactor().body(f'  [{{"access_token": "{TOKEN}"}}]', "")
    assert TOKEN not in out
    assert REDACTED in out


def test_invalid_json_still_loses_known_secrets() -> None:
    out = Redactor([TOKEN]).body(f'{{"access_token": "{TOKEN}"', "application/json")
    assert TOKEN not in out
    assert REDACTED in out


def test_form_fields() -> None:
    body = f"grant_type=refresh_token&refresh_token={REFRESH}&client_id=PSDFR&code=abc123"
    out = Redactor().body(body.encode(), "application/x-www-form-urlencoded")
    assert out == (
        f"grant_type=refresh_token&refresh_token={REDACTED}&client_id=PSDFR&code={REDACTED}"
    )


def test_form_fields_only_for_form_bodies() -> None:
    assert Redactor().body("code=abc123", "text/plain") == "code=abc123"


def test_known_secret_values_anywhere_in_text() -> None:
    redactor = Redactor([TOKEN])
    text = f"error: token {TOKEN} is not valid for /accounts?x={TOKEN}"
    assert redactor.text(text) == f"error: token {REDACTED} is not valid for /accounts?x={REDACTED}"
    assert redactor.body(f"<p>{TOKEN}</p>".encode(), "text/html") == f"<p>{REDACTED}</p>"


def test_longest_secret_first() -> None:
    short = "abcdef"
    long = "abcdef-ghijkl"
    for redactor in (Redactor([short, long]), Redactor([long, short])):
        assert redactor.text(f"{long} {short}") == f"{REDACTED} {REDACTED}"
    added = Redactor([short])
    added.add(long)
    assert added.text(f"x{long}x") == f"x{REDACTED}x"


def test_very_short_secrets_are_ignored() -> None:
    redactor = Redactor(["abc", ""])
    redactor.add("xyz")
    assert redactor.text("abc xyz") == "abc xyz"


def _exchange() -> Exchange:
    request = httpx.Request(
        "POST",
        f"https://bank.example/oauth/token?hint={TOKEN}",
        headers={
            "Authorization": f"Bearer {TOKEN}",
            "Signature": SIGNATURE,
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Request-ID": "rid-1",
        },
        content=f"grant_type=refresh_token&refresh_token={REFRESH}".encode(),
    )
    response = httpx.Response(
        200,
        json={"access_token": "fresh-access-token-value", "refresh_token": REFRESH, "ok": 1},
        headers={"X-Request-ID": "rid-1", "Set-Cookie": "sid=cookie-value-secret"},
        request=request,
    )
    return Exchange(request, response, 0.0421)


def test_exchange_render_never_shows_secrets() -> None:
    text = _exchange().render(Redactor([TOKEN]))
    for secret in (
        TOKEN,
        REFRESH,
        "c2lnbmF0dXJlLXZhbHVlLXNlY3JldA==",
        "fresh-access-token-value",
        "cookie-value-secret",
    ):
        assert secret not in text
    lines = text.splitlines()
    assert lines[0] == f"> POST https://bank.example/oauth/token?hint={REDACTED}"
    assert f"> authorization: {REDACTED}" in lines
    assert f"> signature: {REDACTED}" in lines
    assert "> x-request-id: rid-1" in lines
    assert "< 200 OK  (42 ms)" in lines
    assert f"< set-cookie: {REDACTED}" in lines
    assert f"grant_type=refresh_token&refresh_token={REDACTED}" in lines
    assert '  "ok": 1' in lines


def test_exchange_render_truncates_long_bodies_after_redaction() -> None:
    request = httpx.Request("GET", "https://bank.example/x")
    response = httpx.Response(
        500, content=("x" * 10_000 + TOKEN).encode(), headers={"Content-Type": "text/plain"}
    )
    text = Exchange(request, response, 0.0).render(Redactor([TOKEN]))
    body_line = text.splitlines()[-1]
    assert body_line == "x" * MAX_BODY_SHOWN


def test_exchange_repr_has_no_headers() -> None:
    text = repr(_exchange())
    assert text == "<Exchange POST /oauth/token -> 200>"
    assert TOKEN not in text
    assert "Bearer" not in text
    assert "rid-1" not in text


def test_secrets_handed_out_by_a_response_are_learned() -> None:
    redactor = Redactor()
    redactor.learn(
        302,
        [
            (
                "Location",
                "https://tpp.example/cb?state=s1&code=c0de%2Bvalue#access_token=frag-token",
            ),
            ("X-Other", "https://tpp.example/cb?code=not-learned"),
        ],
        b"",
    )
    redactor.learn(200, [], json.dumps({"access_token": TOKEN, "refresh_token": REFRESH}).encode())
    text = f"c0de%2Bvalue c0de+value frag-token {TOKEN} {REFRESH} s1 not-learned"
    assert redactor.text(text) == " ".join([REDACTED] * 5 + ["s1", "not-learned"])


def test_a_fallback_jwt_named_jwt_is_learned() -> None:
    """fallback.token_param: a bank may hand the fallback JWT over as ``?jwt=``."""
    redactor = Redactor()
    redactor.learn(302, [("Location", "https://bank.example/login?jwt=aaaa.bbbb.cccc")], b"")
    assert redactor.text("login?jwt=aaaa.bbbb.cccc") == f"login?jwt={REDACTED}"


def test_only_credible_secrets_are_learned() -> None:
    """Top-level fields of a 2xx JSON object, at least 8 characters long."""
    redactor = Redactor()
    redactor.learn(200, [], json.dumps({"data": {"code": "nested-value"}, "token": 123}).encode())
    redactor.learn(200, [], b'[{"access_token": "in-a-list"}]')
    redactor.learn(200, [], b'{"access_token": "not json')
    redactor.learn(200, [], b'{"code": "1234567"}')
    redactor.learn(400, [], b'{"code": "INVALID_REQUEST", "message": "bad"}')
    text = "nested-value 123 in-a-list not json 1234567 INVALID_REQUEST"
    assert redactor.text(text) == text
