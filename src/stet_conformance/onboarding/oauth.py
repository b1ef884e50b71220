"""The bank's token endpoint over mutual TLS: code exchange and refresh (seed: Get/Refresh your
token). Errors carry the OAuth error code and description, never a token.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx

from stet_conformance.config.profile import Profile, with_refreshed_token
from stet_conformance.config.token_store import StoredToken, TokenStore, TokenStoreError
from stet_conformance.errors import ConfigError, StetConformanceError
from stet_conformance.http.bounded import Bounds, TransportError, bounded_client, send_bounded
from stet_conformance.http.budget import BudgetExhausted, RequestBudget
from stet_conformance.http.client import mtls_context
from stet_conformance.http.jsonbody import loads

REFRESH_MARGIN = dt.timedelta(seconds=60)


class OAuthError(StetConformanceError):
    """The token endpoint refused or could not be reached (message is safe to print)."""


@dataclass(frozen=True)
class TokenResponse:
    access_token: str
    refresh_token: str | None
    expires_in: float | None
    scope: str

    def __repr__(self) -> str:
        return f"<TokenResponse scope={self.scope!r} expires_in={self.expires_in}>"


def require(value: str | None, setting: str, profile: Profile) -> str:
    if not value:
        raise ConfigError(f"{profile.source}: {setting} is not set; the OAuth flow needs it")
    return value


class OAuthClient:
    """``POST token_url`` with the QWAC and ``client_id`` (a context manager)."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.token_url = require(profile.oauth.token_url, "oauth.token_url", profile)
        self.client_id = require(profile.oauth.client_id, "oauth.client_id", profile)
        self._http = bounded_client(mtls_context(profile.tls), profile.limits)
        self._bounds = Bounds.of(profile.limits, self.token_url, "oauth.token_url")

    def __enter__(self) -> OAuthClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._http.close()

    def exchange_code(self, code: str, redirect_uri: str, verifier: str | None) -> TokenResponse:
        # Seed: the authorization-code request is sent without `scope`.
        form = {
            "grant_type": "authorization_code",
            "client_id": self.client_id,
            "code": code,
            "redirect_uri": redirect_uri,
        }
        if verifier:
            form["code_verifier"] = verifier
        return self._post(form)

    def refresh(self, refresh_token: str) -> TokenResponse:
        return self._post(
            {
                "grant_type": "refresh_token",
                "client_id": self.client_id,
                "refresh_token": refresh_token,
            }
        )

    def _post(self, form: dict[str, str]) -> TokenResponse:
        """One bounded exchange with the token endpoint (the run's limits and timeouts)."""
        request = self._http.build_request(
            "POST", self.token_url, data=form, headers={"X-Request-ID": str(uuid.uuid4())}
        )
        try:
            response = send_bounded(self._http, request, self._bounds)
        except TransportError as exc:
            raise OAuthError(str(exc)) from None
        body = _json(response)
        if response.status_code != 200:
            error = str(body.get("error") or "no error code")
            description = str(body.get("error_description") or body.get("message") or "")
            detail = f"{error}: {description[:200]}" if description else error
            raise OAuthError(f"token endpoint answered {response.status_code} ({detail})")
        access = body.get("access_token")
        if not isinstance(access, str) or not access:
            raise OAuthError("token endpoint answered 200 without an access_token")
        refresh = body.get("refresh_token")
        expires = body.get("expires_in")
        return TokenResponse(
            access_token=access,
            refresh_token=refresh if isinstance(refresh, str) and refresh else None,
            expires_in=float(expires) if isinstance(expires, int | float) else None,
            scope=str(body.get("scope") or ""),
        )


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = loads(response.content)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def refresh_store(
    profile: Profile,
    budget: RequestBudget | None = None,
    margin: dt.timedelta = REFRESH_MARGIN,
    now: dt.datetime | None = None,
) -> tuple[Profile, list[str]]:
    """Refresh the profile's stored access tokens that expire within ``margin``; write back.

    Returns the profile with the fresh tokens (a run does not load it again) and one line per
    token refreshed or that could not be; a failure does not stop the run (the scenarios
    needing that token are then skipped). Each refresh is a request of the run: it is paid
    from ``budget`` first, and not sent when the budget is spent.
    """
    if profile.token_store is None or not profile.token_store.exists():
        return profile, []
    now = now or dt.datetime.now(dt.UTC)
    try:
        store = TokenStore.load(profile.token_store)
    except TokenStoreError as exc:
        raise ConfigError(str(exc)) from None
    due = [
        (persona, scope, token)
        for persona, scope, token in store.entries(profile.base_url)
        if token.refresh_token and token.expires_within(margin, now)
    ]
    if not due:
        return profile, []
    lines = []
    with OAuthClient(profile) as client:
        for persona, scope, token in due:
            assert token.refresh_token is not None
            try:
                if budget is not None:
                    budget.spend(persona)
                answer = client.refresh(token.refresh_token)
            except (OAuthError, BudgetExhausted) as exc:
                lines.append(f"token store: {persona}/{scope}: refresh failed: {exc}")
                continue
            fresh: StoredToken = token.refreshed(
                answer.access_token, answer.refresh_token, answer.expires_in, now
            )
            store.put(profile.base_url, persona, scope, fresh)
            profile = with_refreshed_token(profile, persona, scope, token, fresh)
            until = f"{fresh.expires_at:%H:%M} UTC" if fresh.expires_at else "no expiry given"
            lines.append(f"token store: refreshed {persona}/{scope} access token (until {until})")
    store.save()
    return profile, lines
