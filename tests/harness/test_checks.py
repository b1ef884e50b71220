"""Response checks on hand-built exchanges (no network)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from stet_conformance.checks import ALWAYS, CHECKS, CheckContext, Failure, run_checks
from stet_conformance.checks.expect import Expect, statuses
from stet_conformance.checks.schemas import default_store
from stet_conformance.http.client import Exchange

REQUEST_ID = "6f1d3c0e-1f0a-4c55-9c38-2f1a7d9e0b11"
BALANCES = {
    "balances": [
        {
            "name": "Solde comptable",
            "balanceAmount": {"amount": "-150.00", "currency": "EUR"},
            "balanceType": "CLBD",
        }
    ],
    "_links": {"self": {"href": "/stet/psd2/v1.4.2/accounts/1/balances"}},
}
ERROR = {"status": 404, "message": "unknown account"}


def exchange(
    status: int = 200,
    *,
    body: Any = None,
    content: bytes | None = None,
    content_type: str | None = "application/json",
    echo: str | None = REQUEST_ID,
    sent_id: str | None = REQUEST_ID,
    headers: dict[str, str] | None = None,
) -> Exchange:
    request_headers = {"X-Request-ID": sent_id} if sent_id is not None else {}
    request = httpx.Request("GET", "https://bank.example/x", headers=request_headers)
    if body is not None:
        content = json.dumps(body).encode("utf-8")
    response_headers = dict(headers or {})
    if content_type is not None and content:
        response_headers["Content-Type"] = content_type
    if echo is not None:
        response_headers["X-Request-ID"] = echo
    response = httpx.Response(
        status, content=content or b"", headers=response_headers, request=request
    )
    return Exchange(request, response, 0.012)


def ctx(ex: Exchange, **expect: Any) -> CheckContext:
    expect.setdefault("status", ex.status)
    return CheckContext(ex, Expect.of(expect), default_store())


def messages(failures: list[Failure], check: str | None = None) -> list[str]:
    return [f.message for f in failures if check is None or f.check == check]


def test_registry_and_always() -> None:
    assert list(CHECKS) == [
        "status",
        "request_id_echo",
        "content_type",
        "body_empty",
        "schema",
        "error_model",
        "oauth_error",
        "data",
    ]
    assert ALWAYS == ("status", "request_id_echo")
    assert str(Failure("status", "x")) == "[status] x"


# --- status -------------------------------------------------------------------------------------


def test_status() -> None:
    check = CHECKS["status"]
    assert check(ctx(exchange(201), status=201)) == []
    assert check(ctx(exchange(201), status=[200, 201])) == []
    assert check(ctx(exchange(201), status="201")) == []
    assert messages(check(ctx(exchange(500), status=[200, 201]))) == [
        "expected HTTP 200 or 201, got 500"
    ]
    assert statuses([200, "204"]) == (200, 204)
    with pytest.raises(ValueError, match="status must be HTTP codes, got 'OK'"):
        statuses("OK")


# --- request_id_echo ----------------------------------------------------------------------------


def test_request_id_echo() -> None:
    check = CHECKS["request_id_echo"]
    assert check(ctx(exchange(body={}))) == []
    assert messages(check(ctx(exchange(body={}, echo=None)))) == [
        "the response has no X-Request-ID header"
    ]
    (message,) = messages(check(ctx(exchange(body={}, echo="other"))))
    assert "'other'" in message
    assert REQUEST_ID in message
    # switched off by the scenario; nothing sent: nothing to echo
    assert check(ctx(exchange(body={}, echo=None), request_id_echo=False)) == []
    assert check(ctx(exchange(body={}, echo=None, sent_id=None))) == []


def test_request_id_echo_is_case_sensitive_on_the_value() -> None:
    failures = CHECKS["request_id_echo"](ctx(exchange(body={}, echo=REQUEST_ID.upper())))
    assert messages(failures, "request_id_echo")


# --- content_type -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "Application/HAL+JSON"],
)
def test_content_type_json_accepted(content_type: str) -> None:
    assert CHECKS["content_type"](ctx(exchange(body={}, content_type=content_type))) == []


@pytest.mark.parametrize("content_type", ["text/html", "text/plain", None])
def test_content_type_not_json(content_type: str | None) -> None:
    ex = exchange(content=b"<html>oops</html>", content_type=content_type)
    (message,) = messages(CHECKS["content_type"](ctx(ex)))
    assert message.startswith("body is not JSON: Content-Type")


def test_content_type_explicit_and_empty_body() -> None:
    check = CHECKS["content_type"]
    ex = exchange(content=b"a=b", content_type="application/x-www-form-urlencoded")
    assert check(ctx(ex, content_type="application/x-www-form-urlencoded")) == []
    (message,) = messages(check(ctx(exchange(body={}), content_type="text/plain")))
    assert "expected Content-Type text/plain" in message
    assert check(ctx(exchange(204, content_type="text/html"))) == []  # no body, no verdict


# --- body_empty ---------------------------------------------------------------------------------


def test_content_type_of_a_redirect_note_is_not_judged() -> None:
    """RFC 9110 15.4: a 3xx body is a hypertext note for the user agent, not an API body."""
    ex = exchange(303, content=b"<a href='x'>here</a>", content_type="text/html")
    assert CHECKS["content_type"](ctx(ex)) == []
    assert CHECKS["content_type"](ctx(ex, content_type="application/json"))  # asked: judged
    assert CHECKS["content_type"](ctx(exchange(400, content=b"<b>", content_type="text/html")))


def test_body_empty() -> None:
    check = CHECKS["body_empty"]
    assert messages(check(ctx(exchange(204, content=b"{}")))) == ["expected no body, got 2 bytes"]
    assert check(ctx(exchange(204))) == []
    assert check(ctx(exchange(200, body={}))) == []
    assert messages(check(ctx(exchange(201, body={}), body_empty=True)))
    assert check(ctx(exchange(204, content=b"{}"), body_empty=False)) == []


# --- schema -------------------------------------------------------------------------------------


def test_schema_valid_balances() -> None:
    assert CHECKS["schema"](ctx(exchange(body=BALANCES), schema="balances")) == []
    assert CHECKS["schema"](ctx(exchange(body={"x": 1}))) == []  # no schema asked


def test_schema_amount_as_number() -> None:
    body = json.loads(json.dumps(BALANCES))
    body["balances"][0]["balanceAmount"]["amount"] = -150.0
    (message,) = messages(CHECKS["schema"](ctx(exchange(body=body), schema="balances")))
    assert message.startswith("balances: .balances[0].balanceAmount.amount: ")
    assert "is not of type 'string'" in message


def test_schema_errors_are_limited_and_located() -> None:
    failures = CHECKS["schema"](ctx(exchange(body={"balances": []}), schema="balances"))
    text = messages(failures)
    assert any(m.startswith("balances: (body): '_links' is a required property") for m in text)
    assert any(m.startswith("balances: .balances:") for m in text)


def test_schema_on_empty_or_non_json_body() -> None:
    assert messages(CHECKS["schema"](ctx(exchange(), schema="balances"))) == [
        "expected a balances body, got an empty body"
    ]
    ex = exchange(content=b"<html>", content_type="text/html")
    assert messages(CHECKS["schema"](ctx(ex, schema="balances"))) == ["the body is not valid JSON"]


def test_schema_judges_2xx_answers_only() -> None:
    """A step allowing a refusal or a served answer (CBP-4) judges the schema when served."""
    refusal = exchange(403, body={"status": 403, "message": "scope"})
    assert CHECKS["schema"](ctx(refusal, schema="balances")) == []
    assert CHECKS["schema"](ctx(exchange(204), schema="balances")) == []
    assert messages(CHECKS["schema"](ctx(exchange(200, body={}), schema="balances")))


# --- error_model --------------------------------------------------------------------------------


def test_error_model_valid() -> None:
    assert CHECKS["error_model"](ctx(exchange(404, body=ERROR))) == []
    assert CHECKS["error_model"](ctx(exchange(200, body={}))) == []  # only for 4xx/5xx


def test_error_model_html_body() -> None:
    ex = exchange(404, content=b"<html>Not Found</html>", content_type="text/html")
    assert messages(CHECKS["error_model"](ctx(ex))) == ["the body is not valid JSON"]


def test_error_model_empty_body() -> None:
    assert messages(CHECKS["error_model"](ctx(exchange(500)))) == [
        "an error response without an ErrorModel body"
    ]


def test_error_model_missing_status() -> None:
    (message,) = messages(CHECKS["error_model"](ctx(exchange(400, body={"message": "bad"}))))
    assert "'status' is a required property" in message


def test_error_model_status_mismatch() -> None:
    failures = CHECKS["error_model"](ctx(exchange(403, body={"status": 401, "message": "x"})))
    assert messages(failures) == ["ErrorModel.status is 401, the HTTP status 403"]


def test_error_model_status_as_text() -> None:
    failures = CHECKS["error_model"](ctx(exchange(400, body={"status": "400", "message": "x"})))
    assert any("is not of type 'integer'" in m for m in messages(failures))
    assert "ErrorModel.status is 400, the HTTP status 400" in messages(failures)


def test_error_model_switched_off() -> None:
    ex = exchange(404, content=b"<html>", content_type="text/html")
    assert CHECKS["error_model"](ctx(ex, error_model=False)) == []
    # an OAuth error expectation replaces the ErrorModel unless error_model is set explicitly
    assert CHECKS["error_model"](ctx(ex, oauth_error="invalid_token")) == []
    assert CHECKS["error_model"](ctx(ex, oauth_error="invalid_token", error_model=True))


# --- oauth_error --------------------------------------------------------------------------------


def test_oauth_error_from_www_authenticate() -> None:
    header = 'Bearer realm="bank", error="invalid_token", error_description="expired"'
    ex = exchange(401, headers={"WWW-Authenticate": header})
    assert CHECKS["oauth_error"](ctx(ex, oauth_error="invalid_token")) == []
    (message,) = messages(CHECKS["oauth_error"](ctx(ex, oauth_error="insufficient_scope")))
    assert message == (
        "expected OAuth error 'insufficient_scope' (WWW-Authenticate or body 'error'), "
        "found 'invalid_token'"
    )


def test_oauth_error_from_body() -> None:
    ex = exchange(400, body={"error": "invalid_grant", "error_description": "x"})
    assert CHECKS["oauth_error"](ctx(ex, oauth_error="invalid_grant")) == []
    assert CHECKS["oauth_error"](ctx(ex, oauth_error="invalid_client"))


def test_oauth_error_one_of_the_allowed_codes() -> None:
    """RFC 6749 5.2 allows invalid_client or invalid_grant for a refresh of another client."""
    ex = exchange(400, body={"error": "invalid_grant"})
    allowed = ["invalid_client", "invalid_grant"]
    assert CHECKS["oauth_error"](ctx(ex, oauth_error=allowed)) == []
    (message,) = messages(CHECKS["oauth_error"](ctx(ex, oauth_error=["invalid_client", "x"])))
    assert message.startswith("expected OAuth error 'invalid_client' or 'x' (")


def test_oauth_error_none_found() -> None:
    ex = exchange(401, content=b"<html>", content_type="text/html")
    (message,) = messages(CHECKS["oauth_error"](ctx(ex, oauth_error="invalid_token")))
    assert message.endswith("found none")
    assert CHECKS["oauth_error"](ctx(ex)) == []  # not asked


# --- run_checks ---------------------------------------------------------------------------------


def test_run_checks_all_good() -> None:
    ex = exchange(body=BALANCES)
    expect = {
        "status": 200,
        "schema": "balances",
        "data": [{"path": "balances[balanceType=CLBD].balanceAmount.amount", "sign": "negative"}],
    }
    assert run_checks(CheckContext(ex, Expect.of(expect), default_store())) == []


def test_run_checks_collects_failures_in_check_order() -> None:
    body = {"balances": [], "_links": {"self": {"href": "/"}}}
    ex = exchange(body=body, echo=None, content_type="text/plain")
    expect = {"status": 200, "schema": "balances", "data": [{"path": "x", "exists": True}]}
    failures = run_checks(CheckContext(ex, Expect.of(expect), default_store()))
    assert [f.check for f in failures] == ["request_id_echo", "content_type", "schema", "data"]


def test_run_checks_skips_body_checks_when_the_status_is_wrong() -> None:
    ex = exchange(500, content=b"<html>", content_type="text/html", echo=None)
    expect = {"status": 200, "schema": "balances", "data": [{"path": "x", "exists": True}]}
    failures = run_checks(CheckContext(ex, Expect.of(expect), default_store()))
    assert [f.check for f in failures] == ["status", "request_id_echo"]


def test_exchange_body_and_repr() -> None:
    assert exchange(204).body is None
    assert exchange(body={"a": [1]}).body == {"a": [1]}
    with pytest.raises(ValueError):
        _ = exchange(content=b"{not json").body
    assert repr(exchange(404)) == "<Exchange GET /x -> 404>"
