"""The OAuth2 authorization-code flow with PKCE for one persona and scope (``login``).

The PSU logs in at the bank in a browser; the bank redirects to a loopback listener
(``http://127.0.0.1:PORT/callback``) that takes the code once; the code is exchanged over mTLS
with a PKCE verifier (S256) and the tokens go to the token store. ``state`` is random and
checked, so a stray or forged redirect cannot plant another PSU's code. ``login --disposable N``
runs the flow N times and keeps only each grant's refresh token, in the store's pool of
disposable tokens that the revocation scenarios consume. ``login --codes N`` stops each of N
flows before the exchange and stores the code with its verifier and redirect_uri, for the
scenarios that exchange a code themselves (code flow, code reuse, redirect-URI mismatch).
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import parse_qsl, urlencode, urlsplit

from stet_conformance.config.profile import Profile
from stet_conformance.config.token_store import AuthorizationCode, StoredToken, locked_store
from stet_conformance.errors import StetConformanceError
from stet_conformance.onboarding.oauth import OAuthClient, TokenResponse, require
from stet_conformance.shared.pkce import pkce_pair

CALLBACK_PATH = "/callback"


class LoginFailed(StetConformanceError):
    """The PSU or the bank did not complete the flow (exit 1, one line, no token)."""


def authorize_url(
    profile: Profile,
    scope: str,
    redirect_uri: str,
    state: str,
    challenge: str | None,
    extra: Mapping[str, str] = {},
) -> str:
    base = require(profile.oauth.authorize_url, "oauth.authorize_url", profile)
    params = {
        "response_type": "code",
        "client_id": require(profile.oauth.client_id, "oauth.client_id", profile),
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": state,
    }
    if challenge:
        params |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    params |= dict(extra)
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}{urlencode(params)}"


class _Handler(BaseHTTPRequestHandler):
    server: CallbackListener

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path != CALLBACK_PATH:
            self.send_error(404)
            return
        params = dict(parse_qsl(url.query))
        ok = "code" in params
        text = (
            "Login complete: stet-conformance has the authorization code. You can close this tab."
            if ok
            else "The bank did not return an authorization code; see the terminal."
        )
        body = f"<!doctype html><title>stet-conformance</title><p>{text}</p>\n".encode()
        self.send_response(200 if ok else 400)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.server.deliver(params)

    def log_message(self, format: str, *args: object) -> None:  # the query holds the code
        return


class CallbackListener(HTTPServer):
    """A one-shot loopback HTTP listener for the bank's redirect (a context manager)."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        super().__init__((host, port), _Handler)
        self.params: dict[str, str] | None = None
        self._received = threading.Event()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{CALLBACK_PATH}"

    def deliver(self, params: dict[str, str]) -> None:
        if self.params is None:  # first redirect wins
            self.params = params
            self._received.set()

    def wait(self, timeout: float) -> dict[str, str]:
        if not self._received.wait(timeout) or self.params is None:
            raise LoginFailed(f"no redirect reached {self.redirect_uri} within {timeout:.0f} s")
        return self.params

    def __enter__(self) -> CallbackListener:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.shutdown()
        self.server_close()


@dataclass(frozen=True)
class LoginRequest:
    persona: str
    scope: str
    store: Path
    port: int = 0
    timeout: float = 300.0
    pkce: bool = True
    extra: Mapping[str, str] | None = None
    redirect_uri: str | None = None  # a registered non-loopback URI: the user pastes the URL


def code_from(params: Mapping[str, str], state: str) -> str:
    """The code of a redirect, after checking ``state`` and the OAuth ``error``."""
    if "error" in params:
        description = params.get("error_description", "")[:200]
        raise LoginFailed(
            f"the bank answered error={params['error']}"
            + (f" ({description})" if description else "")
        )
    if not secrets.compare_digest(params.get("state", ""), state):
        raise LoginFailed("the redirect's state does not match the request (possible CSRF); retry")
    code = params.get("code")
    if not code:
        raise LoginFailed("the redirect carries no authorization code")
    return code


Announce = Callable[[str, str], None]
Ask = Callable[[str], str] | None


def authorize_code(
    profile: Profile, request: LoginRequest, announce: Announce, ask: Ask = None
) -> AuthorizationCode:
    """The PSU's authorization in a browser: a new code, not exchanged yet.

    ``announce(url, redirect_uri)`` shows the URL (and may open a browser). With
    ``request.redirect_uri``, nothing listens: ``ask`` reads the URL the browser was sent to.
    """
    verifier, challenge = pkce_pair() if request.pkce else (None, None)
    state = secrets.token_urlsafe(24)
    extra = dict(request.extra or {})
    if request.redirect_uri is not None:
        if ask is None:
            raise LoginFailed("--redirect-uri needs an interactive terminal to paste the URL")
        redirect_uri = request.redirect_uri
        url = authorize_url(profile, request.scope, redirect_uri, state, challenge, extra)
        announce(url, redirect_uri)
        params = dict(parse_qsl(urlsplit(ask("URL the browser was redirected to: ").strip()).query))
    else:
        with CallbackListener(request.port) as listener:
            redirect_uri = listener.redirect_uri
            url = authorize_url(profile, request.scope, redirect_uri, state, challenge, extra)
            announce(url, redirect_uri)
            params = listener.wait(request.timeout)
    code = code_from(params, state)
    return AuthorizationCode(code, redirect_uri, verifier, dt.datetime.now(dt.UTC))


def authorize(
    profile: Profile, request: LoginRequest, announce: Announce, ask: Ask = None
) -> TokenResponse:
    """The PSU's authorization in a browser, its code exchanged: a new grant's tokens."""
    code = authorize_code(profile, request, announce, ask)
    with OAuthClient(profile) as client:
        return client.exchange_code(code.code, code.redirect_uri, code.code_verifier)


def login(
    profile: Profile, request: LoginRequest, announce: Announce, ask: Ask = None
) -> StoredToken:
    """The persona's tokens for the scope, from a new authorization, into the token store."""
    answer = authorize(profile, request, announce, ask)
    now = dt.datetime.now(dt.UTC)
    token = StoredToken(
        access_token=answer.access_token,
        refresh_token=answer.refresh_token,
        expires_at=now + dt.timedelta(seconds=answer.expires_in) if answer.expires_in else None,
        obtained_at=now,
        authorized_at=now,
        scope=answer.scope or request.scope,
    )
    with locked_store(request.store) as store:
        store.put(profile.base_url, request.persona, request.scope, token)
    return token


def login_disposable(
    profile: Profile, request: LoginRequest, announce: Announce, ask: Ask = None
) -> None:
    """One more disposable refresh token, from its own authorization, into the token store's
    pool (``login --disposable N``); the persona's own tokens are left as they are."""
    answer = authorize(profile, request, announce, ask)
    if answer.refresh_token is None:
        raise LoginFailed("the bank answered without a refresh token: nothing to keep")
    with locked_store(request.store) as store:
        store.add_disposable(
            profile.base_url,
            request.persona,
            request.scope,
            answer.refresh_token,
            dt.datetime.now(dt.UTC),
        )


def login_code(
    profile: Profile, request: LoginRequest, announce: Announce, ask: Ask = None
) -> AuthorizationCode:
    """One more authorization code, not exchanged, into the token store (``login --codes N``):
    a scenario exchanges it within ``oauth.code_max_age``."""
    code = authorize_code(profile, request, announce, ask)
    with locked_store(request.store) as store:
        store.add_code(profile.base_url, request.persona, request.scope, code)
    return code
