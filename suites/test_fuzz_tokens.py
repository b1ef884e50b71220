"""Bearer tokens: unknown and expired are 401; a token without aisp is 403; malformed is refused.

Seed: Get your token (expired -> 401 invalid_token, in WWW-Authenticate or in the body) and the
acceptance tests' "incorrect scope = pisp -> 403". A malformed Authorization header is 401, or
400 invalid_request (RFC 6750 3.1), and never a 5xx.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stet_conformance.fuzz import oracles
from stet_conformance.fuzz.plugin import fuzz_settings
from stet_conformance.fuzz.session import FuzzSession
from stet_conformance.fuzz.strategies import malformed_authorizations, unknown_bearer_tokens
from stet_conformance.http.signing import RequestOptions

PERSONAS = st.sampled_from(["LEA", "CLAIRE", "GEORGES"])
ENDPOINTS = st.sampled_from(["accounts", "balances", "transactions"])


def _path(fuzz: FuzzSession, persona: str, endpoint: str) -> str:
    if endpoint == "accounts":
        return "/accounts"
    return f"/accounts/{fuzz.account(persona, endpoint)['resource_id']}/{endpoint}"


@pytest.mark.stet_covers("token", on=["accounts", "balances", "transactions"])
@fuzz_settings()
@given(persona=PERSONAS, endpoint=ENDPOINTS, authorization=malformed_authorizations())
def test_malformed_authorization_is_refused(
    fuzz: FuzzSession, persona: str, endpoint: str, authorization: str
) -> None:
    options = RequestOptions(token=None)
    exchange = fuzz.send(
        persona,
        "GET",
        _path(fuzz, persona, endpoint),
        headers={"Authorization": authorization},
        options=options,
    )
    fuzz.check(exchange, oracles.conforms(exchange, [400, 401], fuzz.run.schemas))


@pytest.mark.stet_covers("token", on=["accounts", "balances", "transactions"])
@fuzz_settings()
@given(persona=PERSONAS, endpoint=ENDPOINTS, token=unknown_bearer_tokens())
def test_unknown_token_is_401(fuzz: FuzzSession, persona: str, endpoint: str, token: str) -> None:
    exchange = fuzz.send(persona, "GET", _path(fuzz, persona, endpoint), token=token)
    fuzz.check(exchange, oracles.conforms(exchange, [401], fuzz.run.schemas))


@pytest.mark.stet_covers("token", on=["accounts", "balances", "transactions"])
@fuzz_settings(scale=0.5)
@given(persona=PERSONAS, endpoint=ENDPOINTS)
def test_expired_token_is_401_invalid_token(fuzz: FuzzSession, persona: str, endpoint: str) -> None:
    token = fuzz.token(persona, "aisp", "expired_tokens")
    exchange = fuzz.send(persona, "GET", _path(fuzz, persona, endpoint), token=token)
    problems = oracles.conforms(exchange, [401], fuzz.run.schemas)
    if exchange.status == 401:
        problems += oracles.oauth_error_problems(exchange, "invalid_token", fuzz.run.schemas)
    fuzz.check(exchange, problems)


@pytest.mark.stet_covers("scope", on=["accounts", "balances", "transactions"])
@fuzz_settings(scale=0.5)
@given(persona=PERSONAS, endpoint=ENDPOINTS, scope=st.sampled_from(["pisp", "cbpii"]))
def test_wrong_scope_token_is_403(
    fuzz: FuzzSession, persona: str, endpoint: str, scope: str
) -> None:
    token = fuzz.token(persona, scope)
    exchange = fuzz.send(persona, "GET", _path(fuzz, persona, endpoint), token=token)
    fuzz.check(exchange, oracles.conforms(exchange, [403], fuzz.run.schemas))
