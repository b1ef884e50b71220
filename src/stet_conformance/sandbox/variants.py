"""Legitimate variants of the bank: where the portal and STET leave a choice, the other answer.

A fault breaks a rule, so the harness must fail it; a variant takes another answer the sources
allow, so the harness must pass it (``stet-conformance selftest`` checks both directions). Each
variant is a named set of switches; a switch is read (``name in state.choices``) at the one place
its behaviour lives, as faults are. The profile the sandbox writes describes what a variant
changes that a bank would declare (its persona data, ``oauth.rotates_refresh_token``).
"""

from __future__ import annotations

from collections.abc import Iterable

from stet_conformance.sandbox.faults import checked_names

SWITCHES: dict[str, str] = {
    # Status codes the sources list too, or leave open.
    "funds-other-psu-400": "a funds confirmation on another PSU's account answers 400",
    "funds-amount-comma": "a funds amount with a decimal comma (12,50) is read as 12.50 and "
    "echoed so (outside STET's request pattern: a warning)",
    "unconsented-404": "an own account outside the consent answers 404, not 403",
    "consents-post-403": "POST /consents answers 403 (the portal's CON-3 result column)",
    "beneficiaries-400": "GET /trusted-beneficiaries answers 400 (entry point not implemented)",
    "payment-request-400": "an unknown or another PSU's payment request answers 400, not 404",
    "confirmation-body-optional": "a confirmation without a body is accepted (body not required)",
    "other-tpp-token-403": "a token presented over another TPP's QWAC answers 403, not 401",
    "malformed-authorization-400": "a malformed Bearer value answers 400 invalid_request",
    "refresh-client-invalid-grant": "a refresh with another client_id answers 400 invalid_grant",
    "login-redirects": "the fallback login page answers 302 to a single sign-on page",
    "fallback-refusal-html": "a fallback request whose client_id is not the QWAC's answers 403 "
    "with an HTML page (no OAuth error)",
    "inverted-window-204": "dateFrom after dateTo answers 204 (an empty window)",
    "accept-negotiated": "a malformed Accept answers 400, an unacceptable one 406",
    "unknown-token-403": "an unknown access token answers 403, not 401",
    # OAuth2 choices (RFC 6749, 7009, 7636).
    "refresh-rotates": "every refresh issues a new refresh token and revokes the old one",
    "revoke-204": "POST /revoke answers 204 with no body",
    "revoke-access-unsupported": "POST /revoke refuses an access token with 400 "
    "unsupported_token_type (refresh tokens only)",
    "token-lean": "token responses say token_type bearer and carry no scope",
    "pkce-required": "authorize requires PKCE S256 and answers 303 with an HTML note",
    "invalid-token-in-body": "an expired token's invalid_token is in the ErrorModel only",
    "fallback-token-jwt": "the fallback redirect carries its JWT as ?jwt= (its profile declares "
    "fallback.token_param: jwt)",
    "revoke-text-body": "POST /revoke answers 200 with a text/plain body",
    # Headers, signatures, body formats.
    "long-request-id-ok": "an X-Request-ID longer than 70 characters is accepted and echoed",
    "content-type-lenient": "PUT /consents reads a JSON body whatever its Content-Type",
    "signature-lean": "a signature over (request-target) alone is enough; Digest optional "
    "without a body; the signed Date is not checked",
    "algorithm-from-key": "the Signature algorithm rsa-sha1, rsa-sha512 or empty is read "
    "as rsa-sha256 (derived from the key)",
    "signature-401": "a missing or bad Signature or Digest answers 401, not 400 (its profile "
    "declares vars.fuzz.signature_status: [401])",
    # Dates and windows.
    "date-millis-required": "dateFrom/dateTo without .SSS milliseconds answer 400",
    "zone-less-paris": "a dateFrom/dateTo without an offset is Europe/Paris local time",
    "impute-paris": "a transaction dated D is imputed at 00:00 Europe/Paris (D-1 at 23:00 or "
    "22:00 UTC; declared in the profile's imputation)",
    "empty-date-absent": "an empty dateFrom/dateTo is read as absent",
    "negative-offset-400": "a dateFrom/dateTo with a negative UTC offset answers 400 (the portal "
    "writes +HHMM and +HH:MM only)",
    "injection-waf-403": "a dateFrom/dateTo carrying an injection pattern is refused with 403 "
    "by a web application firewall",
    "oldest-first": "transactions are listed oldest first (still the 500 most recent)",
    "pending-pdng": "not-yet-booked transactions are PDNG (its profile declares "
    "transaction_statuses BOOK and PDNG)",
    # Body shapes.
    "account-currency-in-id": "accounts carry accountId.currency besides currency",
    "account-currency-only-in-id": "accounts carry their currency in accountId.currency only "
    "(the portal: currency is now inserted in accountId)",
    "balance-xpcd-too": "balances add an XPCD balance next to CLBD",
    "consent-body-json": "PUT /consents answers 201 with a {} body",
    "consent-lenient": "PUT /consents takes a body without trustedBeneficiaries, and leaves out "
    "another PSU's account (201; that account stays refused)",
    "error-model-lean": "ErrorModel with a +0000 timestamp and no path (error only for OAuth)",
    "error-409-501-bare": "409 and 501 answer with no body (STET defines no ErrorModel for "
    "them; the portal lists the codes only)",
    "error-409-501-text": "409 and 501 answer with their message as text/plain (STET defines "
    "no body for them)",
    "hal-json-absolute": "resources are application/json with absolute HAL hrefs",
    "hal-relative": "HAL hrefs are relative to the API base, without a leading slash "
    "(accounts/{id}/balances), as STET's examples write them",
    "confirmation-lean": "a confirmed payment request omits its resourceId and is ACCP",
    "amounts-short": "echoed amounts drop trailing zeros (10.00 as 10.0, 25.00 as 25.0)",
    "identity-lean": "end-user-identity carries the last name only: no connectedPsu, first name "
    "or _links (outside the unverified schema: a warning)",
    "identity-unavailable": "GET /end-user-identity answers 501 (its profile declares "
    "identity_available: false)",
    "standing-order-references": "the schedules of a standing order share one entryReference "
    "(every 30th operation listed)",
    "transaction-nulls": "transactions carry resourceId null, and entryReference null where "
    "the account has none (the portal's example)",
    "quota-per-psu": "the unattended quota counts per TPP and PSU, all accounts and methods",
    # Data.
    "other-persona-data": "personas of another shape: other ids, counts, order, consents, "
    "payment requests, mixed entryReference, a 180-day history (declared in the profile)",
}

# The data variant, and the choices that would hide another choice's answer in one bank.
DATA_SWITCHES = (
    "other-persona-data",
    "identity-unavailable",
    "revoke-text-body",
    "account-currency-only-in-id",
    "error-409-501-text",
    "hal-relative",
)
VARIANTS: dict[str, tuple[str, ...]] = {
    "choices": tuple(name for name in SWITCHES if name not in DATA_SWITCHES),
    "data": DATA_SWITCHES,
}
DESCRIPTIONS: dict[str, str] = {
    "choices": "every other status, format and OAuth choice the portal and STET allow",
    "data": "persona data of another shape, described in the profile it writes; no identity "
    "service; a text body from /revoke; account currencies in accountId only; 409 and 501 "
    "with a text/plain body; relative HAL hrefs",
}


def parse_variants(names: Iterable[str]) -> frozenset[str]:
    """Validate variant names; an unknown one raises ``ValueError`` listing the valid names."""
    return checked_names(names, VARIANTS, "variant")


def variant_switches(variants: Iterable[str]) -> frozenset[str]:
    """The switches of the chosen variants (validated)."""
    return frozenset(s for name in parse_variants(variants) for s in VARIANTS[name])
