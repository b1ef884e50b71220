"""Authorization codes for the scenarios that exchange one (code flow, code reuse, redirect-URI
mismatch): the token store's, from ``stet-conformance login --codes N``, or, at a target with
``sandbox.authorize_without_browser`` (the bundled sandbox), one its authorize hands out at once.

A code is short-lived and single use, so a scenario takes one at its first use and none is
shared. What a scenario sees (``authorization_code('LEA', 'aisp')``) is the code with the
redirect_uri and PKCE verifier its exchange needs; all of it is a secret for the redactor.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

from stet_conformance.config.profile import Profile
from stet_conformance.config.run_tokens import NoAuthorizationCode, RunTokens
from stet_conformance.config.token_store import AuthorizationCode
from stet_conformance.errors import TargetError
from stet_conformance.http.client import StetClient
from stet_conformance.http.signing import RequestOptions
from stet_conformance.shared.pkce import pkce_pair

REDIRECTS = (302, 303, 307)  # RFC 6749 4.1.2 (the pkce-required variant answers 303)


def take_code(
    tokens: RunTokens, client: StetClient, profile: Profile, persona: str, scope: str
) -> dict[str, Any]:
    """A fresh code for ``persona`` and ``scope`` as a scenario reads it; its values are
    redacted from now on. ``NoAuthorizationCode`` when neither source has one."""
    try:
        code = tokens.take_code(persona, scope)
    except NoAuthorizationCode:
        if not (profile.browserless_authorize and profile.oauth.authorize_url):
            raise
        code = browserless_code(client, profile, persona, scope)
    for secret in code.secrets():
        client.redactor.add(secret)
    return {
        "code": code.code,
        "redirect_uri": code.redirect_uri,
        "code_verifier": code.code_verifier,
    }


def placeholder_code(persona: str, scope: str) -> dict[str, Any]:
    """A dry run's code: nothing is taken or sent."""
    return {
        name: f"<authorization code {persona}/{scope}: {name}>"
        for name in ("code", "redirect_uri", "code_verifier")
    }


def browserless_code(
    client: StetClient, profile: Profile, persona: str, scope: str
) -> AuthorizationCode:
    """The bundled sandbox's shortcut: ``GET authorize?psu=<persona>`` redirects at once with a
    code (PKCE S256, a new verifier each time). Anything else leaves the scenario broken."""
    verifier, challenge = pkce_pair()
    redirect_uri = str(profile.variables["redirect_uri"])
    state = secrets.token_urlsafe(16)
    query = {
        "response_type": "code",
        "client_id": profile.oauth.client_id or "",
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": state,
        "psu": persona,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    url = profile.oauth.authorize_url or ""
    exchange = client.send("GET", url, params=query, options=RequestOptions(token=None))
    location = exchange.response.headers.get("location", "")
    found = parse_qs(urlsplit(location).query)
    if exchange.status not in REDIRECTS or found.get("state") != [state] or not found.get("code"):
        raise TargetError(
            f"the sandbox's browserless authorize (sandbox.authorize_without_browser) answered "
            f"{exchange.status} without a code for {persona}/{scope}"
        )
    now = dt.datetime.now(dt.UTC)
    return AuthorizationCode(found["code"][0], redirect_uri, verifier, now)
