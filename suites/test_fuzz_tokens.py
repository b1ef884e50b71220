"""Bearer tokens: expired is 401; unknown is refused; a token without aisp is 403; malformed is
refused.

Seed: Get your token (expired -> 401 invalid_token, in WWW-Authenticate or in the body) and the
acceptance tests' "incorrect scope = pisp -> 403" (a cbpii token too on accounts and balances,
whose rows say "scope <> aisp"; on transactions the portal's SCOPES list cbpii, so serving it is
only a warning). RFC 6750 3.1 only recommends the codes of a
refusal: a malformed Authorization header SHOULD get 400 invalid_request (or 401 when the value
reads as an invalid token), an unknown token SHOULD get 401. Any refusal (400, 401, 403) passes,
another than the recommended one is a warning; data or a 5xx fails.
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
MALFORMED_400 = (
    "RFC 6750 3.1: a malformed request SHOULD get 400 (invalid_request), an invalid token 401 "
    "(invalid_token)"
)
CBPII_ON_TRANSACTIONS_403 = (
    "STET 1.4.0.47 accountsTransactionsGet security (the AISP scope); but the Banque BCP portal's "
    "SCOPES for Get transactions history also list cbpii, so a bank may serve it"
)
INVALID_TOKEN_401 = (
    "RFC 6750 3.1: an access token that is expired, revoked, malformed or invalid SHOULD be "
    "answered with 401 (invalid_token)"
)


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
    refusals, recommended = [400, 401, 403], [400, 401]
    fuzz.check(
        exchange,
        oracles.preferring(exchange, refusals, recommended, MALFORMED_400, fuzz.run.schemas),
    )


@pytest.mark.stet_covers("token", on=["accounts", "balances", "transactions"])
@fuzz_settings()
@given(persona=PERSONAS, endpoint=ENDPOINTS, token=unknown_bearer_tokens())
def test_unknown_token_is_refused(
    fuzz: FuzzSession, persona: str, endpoint: str, token: str
) -> None:
    """Any refusal (400, 401, 403) passes; 401 is recommended; a 2xx fails."""
    exchange = fuzz.send(persona, "GET", _path(fuzz, persona, endpoint), token=token)
    allowed = [400, 401, 403]
    fuzz.check(
        exchange, oracles.preferring(exchange, allowed, [401], INVALID_TOKEN_401, fuzz.run.schemas)
    )


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
    if (scope, endpoint) == ("cbpii", "transactions"):  # the portal's SCOPES allow it
        problems = oracles.preferring(
            exchange, [403, 200, 204], [403], CBPII_ON_TRANSACTIONS_403, fuzz.run.schemas, endpoint
        )
    else:
        problems = oracles.conforms(exchange, [403], fuzz.run.schemas)
    fuzz.check(exchange, problems)
