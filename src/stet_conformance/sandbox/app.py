"""The reference STET PSD2 v1.4.2 sandbox of "Banque BCP" as a Starlette application.

One catch-all route does its own routing, so that the checks run in the bank's order: mTLS,
X-Request-ID, Signature/Digest, bearer token, method (405), scope (403), resource (404/403) and
the daily rate limit (429). ``X-Request-ID`` is echoed byte for byte on every response.
A header sent twice is read as its first value (X-Request-ID, PSU-IP-Address) and signed as both
values joined with ", " (draft-cavage); the request is answered normally.

``POST /sandbox/reset`` is not the bank's: the harness calls it once at the start of a run (the
sandbox's profile declares it as ``sandbox.reset_path``), so every run against a long-running
sandbox starts from the state it started with. It needs only the client certificate.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from urllib.parse import unquote

from cryptography.hazmat.primitives import serialization
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from stet_conformance.sandbox import auth, endpoints, fallback, oauth, pisp
from stet_conformance.sandbox.endpoints import Context
from stet_conformance.sandbox.payment_requests import CONFIRMATION
from stet_conformance.sandbox.responses import BASE, ApiError, error_response, hal_response
from stet_conformance.sandbox.state import SandboxState
from stet_conformance.shared import cavage

RESET_PATH = "/sandbox/reset"
_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
_ACCOUNT_PATH = re.compile(re.escape(BASE) + r"/accounts/([^/]+)/(balances|transactions)")
_CONFIRMATION_PATH = re.compile(
    re.escape(BASE) + r"/payment-requests/([^/]+)/" + re.escape(CONFIRMATION)
)
_SIMPLE = {
    f"{BASE}/accounts": ("accounts", "GET"),
    f"{BASE}/consents": ("consents", "PUT"),
    f"{BASE}/end-user-identity": ("identity", "GET"),
    f"{BASE}/trusted-beneficiaries": ("beneficiaries", "GET"),
    f"{BASE}/funds-confirmations": ("funds", "POST"),
}
_REQUIRED_SCOPE = {"funds": "cbpii", "confirmation": "pisp"}
_SCOPE_FAULTS = {
    "accounts": "accounts-wrong-scope-ok",
    "consents": "consents-wrong-scope-ok",
    "balances": "balances-wrong-scope-ok",
    "transactions": "transactions-wrong-scope-ok",
    "funds": "funds-wrong-scope-ok",
    "identity": "identity-wrong-scope-ok",
    "confirmation": "confirmation-aisp-ok",
}
# Faults that answer a wrong method with something other than 405: (kind, fault) -> status.
_METHOD_FAULTS = {
    ("accounts", "accounts-post-404"): 404,
    ("transactions", "transactions-post-400"): 400,
}
_MEDIA_RANGE = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+/[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_ACCEPTABLE = ("*/*", "application/*", "application/json", "application/hal+json")


def _route(raw_path: str) -> tuple[str, str, str] | None:
    """(kind, allowed method, account resource id) of a resource path."""
    if raw_path in _SIMPLE:
        kind, method = _SIMPLE[raw_path]
        return kind, method, ""
    match = _ACCOUNT_PATH.fullmatch(raw_path)
    if match is None:
        confirmation = _CONFIRMATION_PATH.fullmatch(raw_path)
        if confirmation is None:
            return None
        return "confirmation", "POST", unquote(confirmation.group(1))
    return match.group(2), "GET", unquote(match.group(1))


def build_app(state: SandboxState) -> Starlette:
    """The ASGI application serving ``state``."""
    qseal_pem = state.qseal_cert.public_bytes(serialization.Encoding.PEM)
    qseal_path = f"/certs/qseal_{cavage.fingerprint(state.qseal_cert)}"

    async def endpoint(request: Request) -> Response:
        raw_id = next((v for k, v in request.scope["headers"] if k == b"x-request-id"), None)
        try:
            response = await _handle(request, state, qseal_path, qseal_pem)
        except ApiError as exc:
            response = error_response(
                exc, request.url.path, state.faults, state.clock(), state.choices
            )
        if raw_id is not None and "request-id-sanitized" in state.faults:
            raw_id = re.sub(rb"[^A-Za-z0-9-]", b"", raw_id)
        if raw_id is not None and "request-id-not-echoed" not in state.faults:
            response.raw_headers.append((b"x-request-id", raw_id))
        return response

    return Starlette(routes=[Route("/{path:path}", endpoint, methods=_METHODS)])


async def _handle(
    request: Request, state: SandboxState, qseal_path: str, qseal_pem: bytes
) -> Response:
    raw_path = request.scope["raw_path"].decode("latin-1")
    tpp = _tls_tpp(request, state, raw_path)
    if raw_path.startswith(oauth.PREFIX + "/"):
        return await oauth.handle(request, state, tpp, raw_path[len(oauth.PREFIX) + 1 :])
    if raw_path == qseal_path and request.method == "GET":
        return Response(qseal_pem, media_type="application/x-pem-file")
    if request.url.path == fallback.LOGIN_PATH and request.method == "GET":
        return fallback.login_page(dict(request.query_params), state, tpp)
    if raw_path == RESET_PATH:
        return await _reset(request, state)
    route = _route(raw_path)
    if route is None:
        raise ApiError(404, "no such resource")
    kind, allowed, account_id = route
    if "duplicate-header-500" in state.faults:
        names = [name for name, _ in request.scope["headers"]]
        if len(names) != len(set(names)):
            raise ApiError(500, "Internal Server Error")
    auth.check_request_id(request, state)
    body = await request.body()
    auth.check_signature(request, body, state)
    caller = auth.check_token(request, _token_tpp(request, tpp, state), state)
    if "ipv6-psu-ip-500" in state.faults and ":" in request.headers.get("psu-ip-address", ""):
        raise ApiError(500, "Internal Server Error")
    if "accept-negotiated" in state.choices:
        _check_accept(request.headers.get("accept"))
    if request.method != allowed:
        _wrong_method(kind, request.method, allowed, state)
    scope = _REQUIRED_SCOPE.get(kind, "aisp")
    if scope not in caller.token.scopes and _SCOPE_FAULTS.get(kind) not in state.faults:
        raise ApiError(403, f"the access token lacks the {scope} scope")
    ctx = Context(request, state, caller, body)
    handlers: dict[str, Callable[[], Response]] = {
        "accounts": lambda: endpoints.accounts(ctx),
        "balances": lambda: endpoints.balances(ctx, account_id),
        "transactions": lambda: endpoints.transactions(ctx, account_id),
        "consents": lambda: endpoints.consents(ctx),
        "identity": lambda: endpoints.identity(ctx),
        "funds": lambda: endpoints.funds_confirmation(ctx),
        "confirmation": lambda: pisp.confirm(ctx, account_id),
    }
    if kind == "beneficiaries":
        if "beneficiaries-200-empty" in state.faults:
            links = {"self": {"href": f"{BASE}/trusted-beneficiaries"}}
            return hal_response({"beneficiaries": [], "_links": links}, state.faults)
        if "beneficiaries-400" in state.choices:  # the portal: "not implemented at all, HTTP400"
            raise ApiError(400, "trusted beneficiaries are not implemented")
        raise ApiError(501, "trusted beneficiaries are not available at this bank")
    return handlers[kind]()


async def _reset(request: Request, state: SandboxState) -> Response:
    """``POST /sandbox/reset`` with ``{"run": "<id>"}``: 204 (whether or not the id was new)."""
    if request.method != "POST":
        raise ApiError(405, "method not allowed", headers={"Allow": "POST"})
    try:
        run_id = json.loads(await request.body())["run"]
    except (ValueError, TypeError, KeyError):
        run_id = None
    if not isinstance(run_id, str) or not run_id:
        raise ApiError(400, 'a JSON object {"run": "<the run\'s id>"} is required')
    state.reset(run_id)
    return Response(status_code=204)


def _tls_tpp(request: Request, state: SandboxState, raw_path: str) -> str:
    """The QWAC's TPP (fault mtls-optional-on-balances: balances without a client certificate
    are served to the TPP the token was issued to)."""
    if (
        "mtls-optional-on-balances" in state.faults
        and auth.client_certificate(request) is None
        and raw_path.endswith("/balances")
    ):
        value = request.headers.get("authorization", "").partition(" ")[2].strip()
        found = state.access.get(value)
        if found is not None:
            return found.tpp
    try:
        return auth.client_tpp(request)
    except ApiError as exc:  # the OAuth endpoints name a client they cannot authenticate
        if raw_path.startswith(oauth.PREFIX + "/"):
            exc.error = "invalid_client"
        raise


def _token_tpp(request: Request, tpp: str, state: SandboxState) -> str:
    """The TPP a token must belong to: the caller's (fault token-not-bound-to-tpp: its own)."""
    if "token-not-bound-to-tpp" in state.faults:
        value = request.headers.get("authorization", "").partition(" ")[2].strip()
        found = state.access.get(value)
        if found is not None:
            return found.tpp
    return tpp


def _check_accept(value: str | None) -> None:
    """Variant accept-negotiated: a malformed Accept is 400, one without JSON is 406."""
    if value is None:
        return
    ranges = [part.split(";", 1)[0].strip().lower() for part in value.split(",")]
    if not all(_MEDIA_RANGE.fullmatch(item) for item in ranges):
        raise ApiError(400, "the Accept header is not a list of media ranges")
    if not any(item in _ACCEPTABLE for item in ranges):
        raise ApiError(406, "the resources are served as application/hal+json")


def _wrong_method(kind: str, method: str, allowed: str, state: SandboxState) -> None:
    """Raise the 405 (or a POST fault's status); returns only for the faults that serve it
    (balances-post-200, wrong-method-200-on-identity)."""
    faults = state.faults
    if method == "POST" and kind == "consents" and "consents-post-403" in state.choices:
        raise ApiError(403, "request refused")  # the portal's CON-3 result column
    if method == "POST" and kind == "balances" and "balances-post-200" in faults:
        return
    if method == "POST" and kind == "identity" and "wrong-method-200-on-identity" in faults:
        return
    if method == "GET" and kind == "confirmation" and "confirmation-get-404" in faults:
        raise ApiError(404, "no such resource")
    for (fault_kind, fault), status in _METHOD_FAULTS.items():
        if method == "POST" and fault_kind == kind and fault in faults:
            raise ApiError(status, "request refused")
    raise ApiError(405, "method not allowed", headers={"Allow": allowed})
