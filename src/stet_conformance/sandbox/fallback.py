"""The PSD2 contingency access (RTS art. 33; seed: "How to use the fallback mode?").

``POST /stet/psd2/oauth/token`` with the header ``fallback: 1``, ``grant_type=client_credentials``,
the TPP's ``client_id`` and its QWAC answers ``302 Found`` (an HTML body, as in the seed's
example) whose ``Location`` is the online-banking login page with a JWT for the redirect
(``?token=``). The login page (``GET /online-banking/login``) accepts only such a token, for
ten minutes. A client_id that is not the QWAC's is ``401 invalid_client``; mTLS itself is
required by the server for every connection. Variant login-redirects: the login page answers 302
to a single sign-on page instead of a form; variant fallback-token-jwt names the parameter ``jwt``
(the portal names none; its profile declares ``fallback.token_param``); variant
fallback-refusal-html refuses a client_id that is not the QWAC's with a 403 HTML page.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from html import escape
from urllib.parse import urlencode

from starlette.responses import Response

from stet_conformance.sandbox.responses import oauth_error
from stet_conformance.sandbox.state import FALLBACK_LIFETIME, SCOPES, SandboxState

LOGIN_PATH = "/online-banking/login"
SSO_PATH = "/online-banking/sso"
_KEY = secrets.token_bytes(32)  # signs the redirect JWTs of this process
_FOUND = (
    '<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n<title>302 Found</title>\n'
    '</head><body>\n<h1>Found</h1>\n<p>The document has moved <a href="{href}">here</a>.</p>\n'
    "</body></html>\n"
)
_HTML = "text/html; charset=iso-8859-1"


def token_param(state: SandboxState) -> str:
    """The query parameter that carries the redirect's JWT."""
    return "jwt" if "fallback-token-jwt" in state.choices else "token"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _jwt(claims: dict[str, object]) -> str:
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(_KEY, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def token_request(form: dict[str, str], state: SandboxState, tpp: str, base_url: str) -> Response:
    """The fallback token request: 302 to the login page, or an RFC 6749 error."""
    if form.get("client_id") != tpp and "fallback-client-id-unchecked" not in state.faults:
        if "fallback-refusal-html" in state.choices:  # the portal gives no error format
            page = "<html><body><h1>403 Forbidden</h1></body></html>\n"
            return Response(page.encode(), 403, media_type=_HTML)
        return oauth_error(401, "invalid_client", "client_id is not the QWAC's identifier")
    if form.get("grant_type") != "client_credentials":
        return oauth_error(400, "unsupported_grant_type", "fallback mode uses client_credentials")
    scopes = frozenset(form.get("scope", "aisp").split())
    if not scopes or not scopes <= SCOPES:
        return oauth_error(400, "invalid_scope", "scope must be among aisp, pisp, cbpii")
    expires = state.clock() + FALLBACK_LIFETIME
    claims = {
        "iss": base_url.rstrip("/"),
        "sub": tpp,
        "aud": "online-banking",
        "scope": " ".join(sorted(scopes)),
        "exp": int(expires.timestamp()),
        "jti": secrets.token_hex(8),
    }
    token = _jwt(claims)
    state.fallback[token] = (tpp, expires)
    location = base_url.rstrip("/") + LOGIN_PATH
    if "fallback-location-no-token" not in state.faults:
        location += "?" + urlencode({token_param(state): token})
    body = _FOUND.format(href=escape(location)).encode("iso-8859-1")
    headers = {"Location": location, "Cache-Control": "no-store"}
    return Response(body, 302, headers, media_type=_HTML)


def login_page(query: dict[str, str], state: SandboxState, tpp: str) -> Response:
    """The online-banking login page the fallback redirect leads to (a stub)."""
    found = state.fallback.get(query.get(token_param(state), ""))
    if found is None or found[0] != tpp or found[1] <= state.clock():
        page = "<html><body><h1>401 Unauthorized</h1><p>Session expired.</p></body></html>\n"
        return Response(page.encode(), 401, media_type=_HTML)
    if "login-redirects" in state.choices:
        body = _FOUND.format(href=SSO_PATH).encode("iso-8859-1")
        return Response(body, 302, {"Location": SSO_PATH}, media_type=_HTML)
    page = (
        "<html><head><title>Banque BCP - Espace client</title></head><body>"
        "<h1>Connexion</h1><form method=post><label>Identifiant <input name=login></label>"
        "<button>Valider</button></form></body></html>\n"
    )
    return Response(page.encode(), 200, media_type=_HTML)
