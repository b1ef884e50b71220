"""Named, deliberate deviations from the bank's rules, switched on when the sandbox starts.

Each fault changes one behaviour and nothing else, so a conformance suite run against the faulty
sandbox must fail at least one scenario (a mutation test of the suite itself), or, for a fault
that breaks only a recommendation (``request-id-optional``, ``no-token-400``...), make one warn.
A behaviour the portal or STET allows is not a fault but a variant switch (sandbox/variants.py):
the harness must pass it.
"""

from __future__ import annotations

from collections.abc import Iterable

from stet_conformance.sandbox.chaos import CHAOS_FAULTS

FAULTS: dict[str, str] = {
    "accounts-wrong-scope-ok": "GET /accounts answers 200 to a token without the aisp scope",
    "consents-wrong-scope-ok": "PUT /consents answers 201 to a token without the aisp scope",
    "balances-wrong-scope-ok": "GET balances answers 200 to a token without the aisp scope",
    "transactions-wrong-scope-ok": "GET transactions answers to a token without the aisp scope",
    "accounts-post-404": "POST /accounts answers 404 instead of 405",
    "balances-post-200": "POST on balances answers 200 with the balances body instead of 405",
    "transactions-post-400": "POST on transactions answers 400 instead of 405",
    "consents-put-200": "PUT /consents answers 200 instead of 201",
    "unknown-account-403": "an unknown account on balances answers 403 instead of 404",
    "unknown-account-transactions-204": "an unknown account on transactions answers 204",
    "balance-sign-dropped": "negative balances lose their minus sign",
    "zero-balance-204": "a 0.00 balance answers 204 with no body",
    "balance-type-xpcd": "the accounting balance is typed XPCD instead of CLBD",
    "balance-amount-number": "balanceAmount.amount is a JSON number instead of a string",
    "datefrom-exclusive": "transactions booked on the dateFrom instant are excluded",
    "dateto-inclusive": "transactions booked on the dateTo instant are included",
    "datefrom-ignored": "dateFrom is ignored",
    "dateto-ignored": "dateTo is ignored",
    "depth-unchecked": "a dateFrom older than the history depth answers 200",
    "invalid-date-accepted": "an unparseable dateFrom/dateTo is ignored (200)",
    "offset-500": "a date with a +HHMM offset (no colon) answers 500",
    "empty-history-200": "an empty transaction list answers 200 with [] instead of 204",
    "cap-ignored": "no 500-operation cap on transactions",
    "status-pdng": "not-yet-booked (OTHR) transactions are reported PDNG",
    "entry-reference-always": "entryReference is sent even where the account has none",
    "request-id-not-echoed": "responses do not carry X-Request-ID",
    "request-id-optional": "a request without X-Request-ID is accepted",
    "signature-unchecked": "the Signature value is not verified (the header is still required)",
    "signature-optional": "a request without Signature is accepted",
    "digest-unchecked": "the Digest header is not compared with the body",
    "no-token-400": "a request without an access token answers 400, not 401",
    "expired-token-ok": "expired access tokens are accepted",
    "expired-token-no-invalid-token": "an expired token gets 401 without invalid_token",
    "cross-psu-access": "an account of another PSU is served",
    "identity-consent-ignored": "end-user-identity is served without psuIdentity consent",
    "identity-no-connected-psu": "the end-user-identity body lacks connectedPsu",
    "accounts-extra-account": "GET /accounts lists one made-up extra account",
    "error-body-html": "4xx error bodies are text/html instead of ErrorModel JSON",
    "error-model-no-status": "ErrorModel bodies lack status",
    "links-self-missing": "the balances body lacks _links.self",
    "hal-content-type-wrong": "2xx JSON resource bodies are served as text/plain",
    "consent-merged": "PUT /consents merges with the previous consent instead of replacing it",
    "consent-revoke-ignored": "empty account lists in PUT /consents do not revoke",
    "consent-revoke-final": "once a PUT /consents revoked every account, later ones are refused "
    "with 403 (the cleanup steps cannot restore the consent)",
    "rate-limit-missing": "no 429 for calls without PSU-IP-Address",
    "token-client-id-unchecked": "the token endpoint ignores a client_id mismatch",
    # Faults only the property-based suites (suites/, issue 5) catch:
    "negative-offset-positive": "a negative UTC offset in dateFrom/dateTo is read as positive",
    "unicode-digits-accepted": "dates with non-ASCII digits (regex \\d) are accepted",
    "future-dateto-400": "a dateTo later than now is refused with 400",
    "request-id-sanitized": "the X-Request-ID echo drops characters other than [A-Za-z0-9-]",
    "ipv6-psu-ip-500": "an IPv6 PSU-IP-Address answers 500",
    "malformed-token-500": "an Authorization value outside Bearer token68 answers 500",
    # OAuth token lifecycle, fallback mode, PISP confirmation, beneficiaries, funds (issue 10):
    "code-reusable": "an authorization code can be exchanged more than once",
    "bad-code-invalid-request": "an unknown or used code gets invalid_request, not invalid_grant",
    "redirect-uri-unchecked": "a redirect_uri other than the one of authorize is accepted",
    "token-no-refresh-token": "the authorization_code grant answers without a refresh_token",
    "token-no-expires-in": "token responses carry no expires_in (the token's lifetime)",
    "refresh-token-unusable": "an access token issued by the refresh_token grant is refused",
    "refresh-token-rotated": "every refresh rotates the refresh token (its profile says no)",
    "revoke-ignored": "POST /revoke answers 200 but revokes nothing",
    "revoke-keeps-access-tokens": "revoking a refresh token leaves its access tokens valid",
    "revoke-access-keeps-refresh": "revoking an access token leaves its refresh token valid",
    "revoked-token-no-invalid-token": "a revoked access token gets 401 without invalid_token",
    "token-not-bound-to-tpp": "an access token is accepted over another TPP's QWAC",
    "fallback-ignored": "the fallback header is ignored (client_credentials answers 400)",
    "fallback-client-id-unchecked": "fallback mode ignores a client_id that is not the QWAC's",
    "fallback-location-no-token": "the fallback redirect carries no token for the login page",
    "confirmation-twice-200": "a second confirmation of a payment request answers 200, not 409",
    "confirmation-twice-400": "a second confirmation of a payment request answers 400, not 409",
    "payment-request-other-psu-ok": "another PSU's payment request can be confirmed",
    "confirmation-aisp-ok": "an aisp token can confirm a payment request",
    "confirmation-get-404": "GET on a confirmation answers 404 instead of 405",
    "confirmation-status-unchanged": "a confirmed payment request keeps its status and link",
    "beneficiaries-200-empty": "GET /trusted-beneficiaries answers 200 with an empty list, not 501",
    "funds-always-covered": "funds confirmations answer result true whatever the amount",
    "funds-wrong-scope-ok": "POST /funds-confirmations accepts a token without the cbpii scope",
    "funds-amount-lenient": "a funds amount with a decimal comma is accepted",
    "funds-other-psu-account": "a funds confirmation on another PSU's account is answered",
    # Replay protection (a bank variant) and odd or duplicated headers (issues 5 and 7):
    "replay-accepted": "a replayed signed request is accepted although the bank promises replay "
    "protection",
    "content-type-500": "PUT /consents with a non-JSON Content-Type answers 500",
    # Every operation x every cross-cutting rule (issue 15, scenarios/rules.yaml):
    "mtls-optional-on-balances": "the TLS layer asks for no client certificate, and balances "
    "are served without one (to the TPP the token was issued to)",
    "self-href-wrong": "the balances body's _links.self points at the account list, not at the "
    "balances requested",
    "wrong-method-200-on-identity": "POST /end-user-identity answers 200 with the identity "
    "instead of 405",
    "consents-malformed-body-accepted": "PUT /consents with a body that is not JSON answers 201 "
    "(the consent unchanged)",
    "consents-other-psu-iban-accepted": "PUT /consents accepts an account of another PSU, "
    "whose balances and transactions are then served",
    "identity-wrong-scope-ok": "GET /end-user-identity answers to a token without the aisp scope",
    "revoke-token-optional": "POST /revoke without its token parameter answers 200",
    "duplicate-header-500": "a request carrying a header twice (X-Request-ID, PSU-IP-Address) "
    "answers 500",
}

FAULTS.update(CHAOS_FAULTS)  # transport-level faults are described next to their code

# Faults that only exist in a bank variant (a ``SandboxServer`` option): ``SandboxServer`` switches
# the variant on with the fault, however it is started (``run``, ``sandbox``, ``pytest``).
FAULT_VARIANTS: dict[str, dict[str, bool]] = {
    "replay-accepted": {"replay_protection": True},
    "mtls-optional-on-balances": {"client_cert_optional": True},
}


def variant_options(faults: Iterable[str]) -> dict[str, bool]:
    """The ``SandboxServer`` options the chosen faults need (empty for most faults)."""
    options: dict[str, bool] = {}
    for name in faults:
        options.update(FAULT_VARIANTS.get(name, {}))
    return options


def checked_names(names: Iterable[str], known: Iterable[str], kind: str) -> frozenset[str]:
    """``names`` as a set; an unknown one raises ``ValueError`` naming the ``kind`` and the valid
    names (the CLI turns it into its one-line usage error)."""
    chosen, valid = frozenset(names), sorted(known)
    unknown = sorted(chosen - set(valid))
    if unknown:
        raise ValueError(
            f"unknown sandbox {kind}(s): {', '.join(unknown)}; valid: {', '.join(valid)}"
        )
    return chosen


def parse_faults(names: Iterable[str]) -> frozenset[str]:
    """Validate fault names; an unknown one raises ``ValueError`` listing the valid names."""
    return checked_names(names, FAULTS, "fault")
