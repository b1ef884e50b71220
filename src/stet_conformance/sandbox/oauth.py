"""The bank's OAuth2 endpoints (authorization-code flow with refresh, and revocation).

mTLS is required; ``client_id`` must equal the QWAC's organizationIdentifier. The sandbox has no
login screen: ``GET /authorize`` takes the persona in a ``psu`` parameter and redirects at once.
Codes are single use and valid one hour (seed: Get your token). PKCE (RFC 7636) is optional
and S256 only: a code issued with a ``code_challenge`` is exchanged only with its verifier.
Variant switches (``state.choices``): pkce-required (no code without a challenge; 303 with an
HTML note), refresh-rotates, revoke-204, revoke-text-body (200 text/plain),
revoke-access-unsupported (RFC 7009 2: access tokens are not revocable), token-lean (no scope,
token_type bearer) and refresh-client-invalid-grant (RFC 6749 5.2: a refresh token "issued to
another client").
"""

from __future__ import annotations

import hmac
from html import escape
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from stet_conformance.sandbox import fallback
from stet_conformance.sandbox.responses import JSON, dumps, oauth_error
from stet_conformance.sandbox.state import CODE_LIFETIME, SCOPES, AuthCode, SandboxState, new_secret
from stet_conformance.shared.pkce import challenge as s256

PREFIX = "/stet/psd2/oauth"


async def handle(request: Request, state: SandboxState, tpp: str, endpoint: str) -> Response:
    if endpoint == "authorize" and request.method == "GET":
        return authorize(dict(request.query_params), state, tpp)
    if endpoint in ("token", "revoke") and request.method == "POST":
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        if (
            endpoint == "token"
            and request.headers.get("fallback", "").strip() == "1"
            and "fallback-ignored" not in state.faults
        ):
            return fallback.token_request(form, state, tpp, str(request.base_url))
        if endpoint == "token":
            return token(form, state, tpp)
        return revoke(form.get("token", ""), state, tpp)
    if endpoint in ("authorize", "token", "revoke"):
        return oauth_error(405, "invalid_request", "method not allowed")
    return oauth_error(404, "invalid_request", "unknown OAuth endpoint")


def revoke(value: str, state: SandboxState, tpp: str) -> Response:
    """RFC 7009: 200 (variant revoke-204: 204), whether the token was known or not; the variant
    revoke-access-unsupported revokes refresh tokens only (2.2.1 ``unsupported_token_type``).
    A request without the required ``token`` is 400 invalid_request (2.1; RFC 6749 5.2)."""
    if not value and "revoke-token-optional" not in state.faults:
        return oauth_error(400, "invalid_request", "the token parameter is required")
    if "revoke-access-unsupported" in state.choices and value in state.access:
        return oauth_error(400, "unsupported_token_type", "only refresh tokens can be revoked")
    state.revoke(value, tpp)
    if "revoke-text-body" in state.choices:  # RFC 7009 2.2: the body is not specified
        return Response(b"revoked\n", 200, media_type="text/plain")
    return Response(b"", 204 if "revoke-204" in state.choices else 200)


def _scopes(text: str) -> frozenset[str] | None:
    wanted = frozenset(text.split()) - {"offline_access"}
    return wanted if wanted and wanted <= SCOPES else None


def authorize(params: dict[str, str], state: SandboxState, tpp: str) -> Response:
    if params.get("response_type") != "code":
        return oauth_error(400, "unsupported_response_type", "response_type must be code")
    if params.get("client_id") != tpp:
        return oauth_error(401, "invalid_client", "client_id is not the QWAC's identifier")
    redirect_uri = params.get("redirect_uri", "")
    if not redirect_uri.startswith(("https://", "http://")):
        return oauth_error(400, "invalid_request", "redirect_uri is required")
    scopes = _scopes(params.get("scope", ""))
    if scopes is None:
        return oauth_error(400, "invalid_scope", "scope must be among aisp, pisp, cbpii")
    persona = params.get("psu", "").upper()
    if persona not in state.bank.personas:
        return oauth_error(400, "invalid_request", "psu must name a sandbox persona")
    challenge = params.get("code_challenge")
    if challenge is None and "pkce-required" in state.choices:
        return oauth_error(400, "invalid_request", "PKCE (code_challenge, S256) is required")
    if challenge is not None and params.get("code_challenge_method") != "S256":
        return oauth_error(400, "invalid_request", "code_challenge_method must be S256")
    code = AuthCode(
        new_secret(),
        persona,
        scopes,
        tpp,
        redirect_uri,
        state.clock() + CODE_LIFETIME,
        code_challenge=challenge,
    )
    state.codes[code.value] = code
    query = {"code": code.value}
    if "state" in params:
        query["state"] = params["state"]
    separator = "&" if "?" in redirect_uri else "?"
    location = f"{redirect_uri}{separator}{urlencode(query)}"
    if "pkce-required" in state.choices:  # RFC 9110 15.4: a short hypertext note
        note = f'<html><body><a href="{escape(location)}">Continue</a></body></html>\n'
        return Response(note, 303, {"Location": location}, media_type="text/html")
    return RedirectResponse(location, status_code=302)


def _verifier_matches(challenge: str | None, verifier: str | None) -> bool:
    """RFC 7636 S256: BASE64URL(SHA256(verifier)) without padding equals the challenge."""
    if challenge is None:
        return True
    if not verifier:
        return False
    return hmac.compare_digest(s256(verifier), challenge)


def token(form: dict[str, str], state: SandboxState, tpp: str) -> Response:
    grant = form.get("grant_type")
    faults = state.faults
    if form.get("client_id") != tpp and "token-client-id-unchecked" not in faults:
        if grant == "refresh_token" and "refresh-client-invalid-grant" in state.choices:
            return oauth_error(400, "invalid_grant", "the refresh token belongs to another client")
        return oauth_error(401, "invalid_client", "client_id is not the QWAC's identifier")
    if grant == "authorization_code":
        value = form.get("code", "")
        code = state.codes.get(value) if "code-reusable" in faults else state.codes.pop(value, None)
        if (
            code is None
            or code.tpp != tpp
            or code.expires_at <= state.clock()
            or (
                code.redirect_uri != form.get("redirect_uri")
                and "redirect-uri-unchecked" not in faults
            )
            or not _verifier_matches(code.code_challenge, form.get("code_verifier"))
        ):
            error = "invalid_request" if "bad-code-invalid-request" in faults else "invalid_grant"
            return oauth_error(400, error, "unknown, used or expired code")
        refresh = state.issue_refresh(code.persona, code.scopes, tpp)
    elif grant == "refresh_token":
        found = state.refresh.get(form.get("refresh_token", ""))
        if found is None or found.tpp != tpp:
            return oauth_error(400, "invalid_grant", "unknown or revoked refresh token")
        refresh = found
        # The fault rotates although the bank's profile says it does not; the variant says so.
        if "refresh-token-rotated" in faults or "refresh-rotates" in state.choices:
            del state.refresh[found.value]
            refresh = state.issue_refresh(found.persona, found.scopes, tpp)
    else:
        return oauth_error(400, "unsupported_grant_type", "use authorization_code or refresh_token")
    access = state.issue_access(refresh.persona, refresh.scopes, tpp, refresh=refresh.value)
    body = {
        "access_token": access.value,
        "token_type": "Bearer",
        "expires_in": 3600,
        "scope": " ".join(sorted(refresh.scopes)),
        "refresh_token": refresh.value,
    }
    if "token-lean" in state.choices:  # RFC 6749 5.1: scope optional, 7.1: case-insensitive
        body["token_type"] = "bearer"
        del body["scope"]
    if grant == "authorization_code" and "token-no-refresh-token" in faults:
        del body["refresh_token"]
    if "token-no-expires-in" in faults:
        del body["expires_in"]
    if grant == "refresh_token" and "refresh-token-unusable" in faults:
        del state.access[access.value]
    return Response(dumps(body), 200, {"Cache-Control": "no-store"}, media_type=JSON)
