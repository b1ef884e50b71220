"""The traceability catalog: the portal's operations, the cross-cutting rules, where each applies.

A certifier asks, for every operation the portal lists, whether each rule that applies to it is
tested. The answer is derived from metadata, never from a hand-kept list of cells: a scenario
covers its endpoint's operation for each rule of its ``covers:`` and for the automatic checks its
steps make there (X-Request-ID echo, Content-Type, ErrorModel); a suite test declares its cells
with ``@pytest.mark.stet_covers(RULE, ..., on=[OPERATION, ...])``. A cell a rule does not apply
to is "n/a" with the reason the sources give; ``report/traceability.py`` draws the matrix.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from stet_conformance.checks.base import extrapolated
from stet_conformance.checks.expect import Expect
from stet_conformance.checks.headers import ANY_MEDIA_TYPE
from stet_conformance.scenario.model import Scenario, Step

Cell = tuple[str, str]  # (operation, rule)
COVERS_PROPERTY = "stet_covers"  # a test's cells, a user property that reaches the controller
COVERS_MARKER = "stet_covers"


@dataclass(frozen=True)
class Rule:
    name: str  # as the scenario schema's ``covers`` enum spells it
    short: str  # the matrix's column heading (5 characters at most)
    meaning: str
    authority: str


@dataclass(frozen=True)
class Operation:
    name: str
    endpoint: str  # as the scenarios' ``endpoint`` spells it
    tag: str = ""  # the endpoint's scenarios with this tag are this operation's (fallback)

    @property
    def path(self) -> str:
        return self.endpoint.split(" ", 1)[1]


RULES: tuple[Rule, ...] = (
    Rule(
        "mtls",
        "mtls",
        "a client without a certificate, or with an untrusted one, is refused (TLS, 401 or 403)",
        "portal, Get the list of eligible payment accounts (mutual authentication) and Get your "
        "token (the QWAC); RTS (EU) 2018/389 art. 34",
    ),
    Rule(
        "signature",
        "sign",
        "a missing or invalid Signature is refused with 400",
        "portal, Try-it parameters (Signature required, HTTP 400 when invalid or missing); "
        "STET swagger: Signature required on every operation",
    ),
    Rule(
        "digest",
        "dgst",
        "a request body that does not match its signed Digest is refused",
        "portal, Try-it parameters (Digest: body synthesis); RFC 3230 4.3.2",
    ),
    Rule(
        "token",
        "token",
        "a request without a valid access token (none, unknown, expired) is refused with 401",
        "portal, Get your token (expired: 401 invalid_token); RFC 6750 3.1",
    ),
    Rule(
        "scope",
        "scope",
        "a token without the operation's scope is refused with 403",
        "portal, acceptance tests (scope <> aisp: 403); STET swagger, each operation's security",
    ),
    Rule(
        "other_psu",
        "opsu",
        "another PSU's resource is refused",
        "portal, Customer consent (linked to one PSU, one TPP and the given accounts)",
    ),
    Rule(
        "request_id_echo",
        "rqid",
        "the X-Request-ID sent comes back in the answer",
        "STET swagger, header X-Request-ID ('retrieved in the relevant response')",
    ),
    Rule(
        "content_type",
        "ctype",
        "an answer's body has the media type declared for it (JSON)",
        "STET swagger, produces; RFC 6749 5.1 (token answers: application/json)",
    ),
    Rule(
        "error_model",
        "error",
        "a 4xx/5xx answer is an ErrorModel whose status is the HTTP code",
        "STET swagger, every error response: ErrorModel",
    ),
    Rule(
        "hal_links",
        "hal",
        "HAL _links are present and self is the resource requested",
        "STET swagger, Hal* resources (_links required); portal, accounts examples",
    ),
    Rule(
        "body_validation",
        "body",
        "a malformed request body is refused with 400",
        "STET swagger, 400 responses; RFC 6749 5.2 and RFC 7009 2.2.1 (invalid_request)",
    ),
    Rule(
        "method",
        "meth",
        "a method the operation does not have is refused with 405",
        "portal, acceptance tests (POST: 405); RFC 9110 15.5.6",
    ),
)
RULE_NAMES = tuple(rule.name for rule in RULES)

OPERATIONS: tuple[Operation, ...] = (
    Operation("token", "POST /oauth/token"),
    Operation("revoke", "POST /oauth/revoke"),
    Operation("fallback", "POST /oauth/token", tag="fallback"),
    Operation("accounts", "GET /accounts"),
    Operation("balances", "GET /accounts/{id}/balances"),
    Operation("transactions", "GET /accounts/{id}/transactions"),
    Operation("consents", "PUT /consents"),
    Operation("identity", "GET /end-user-identity"),
    Operation("beneficiaries", "GET /trusted-beneficiaries"),
    Operation("funds_confirmations", "POST /funds-confirmations"),
    Operation("payment_confirmation", "POST /payment-requests/{id}/o-confirmation"),
)
OPERATION_NAMES = tuple(op.name for op in OPERATIONS)
OAUTH = ("token", "revoke", "fallback")
BODILESS = ("accounts", "balances", "transactions", "identity", "beneficiaries")

_UNSIGNED = (
    "an OAuth endpoint: the portal's token and fallback requests carry no Signature (Sandbox "
    "step 3, fallback example); the client is authenticated by its QWAC and client_id"
)
_NO_BEARER = (
    "issues or revokes tokens: the client is authenticated by its QWAC and client_id (portal, "
    "Get your token step 6; RFC 7009 2.1), not by a Bearer token"
)
_OAUTH_NOT_STET = (
    "an OAuth endpoint (RFC 6749, RFC 7009), not a STET resource: no source asks it to echo "
    "X-Request-ID (the portal's fallback answer has none)"
)
_OAUTH_ERRORS = "its errors are OAuth errors (RFC 6749 5.2, RFC 7009 2.2.1; checked by oauth_error)"
_NOT_OFFERED = "portal, Limits: the bank does not offer the list (501 or 400, TBN-1)"
_NO_STET_BODY = (
    ": any request may get its 501, a code STET 1.4.0.47 gives no body format, so no test is "
    "sure to judge this MUST (on a 501: an extrapolated recommendation; a 400 is judged)"
)
_OWN_PSU = "the resource is the token's own PSU's: no path or body names another PSU's"

NOT_APPLICABLE: Mapping[Cell, str] = {
    **{(op, "signature"): _UNSIGNED for op in OAUTH},
    **{(op, "digest"): "no Signature, so no signed Digest of the form body" for op in OAUTH},
    **{(op, "digest"): "no request body to digest" for op in BODILESS},
    **{(op, "token"): _NO_BEARER for op in OAUTH},
    **{(op, "scope"): "no Bearer token, so no scope: " + _NO_BEARER for op in OAUTH},
    **{(op, "other_psu"): "names no PSU resource (a token's TPP binding: OAU-*)" for op in OAUTH},
    **{(op, "other_psu"): _OWN_PSU for op in ("accounts", "identity", "beneficiaries")},
    **{(op, "request_id_echo"): _OAUTH_NOT_STET for op in OAUTH},
    **{(op, "error_model"): _OAUTH_ERRORS for op in OAUTH},
    ("token", "hal_links"): "a token answer is RFC 6749 5.1 JSON, not a HAL resource",
    ("revoke", "hal_links"): "a revocation answers 200 with no resource (RFC 7009 2.2)",
    ("revoke", "content_type"): (
        "RFC 7009 2.2: a revocation answers 200 and leaves the body unspecified (any type, or none)"
    ),
    ("fallback", "hal_links"): "answers 302 to the login page (portal, fallback example)",
    ("consents", "hal_links"): "201 without a body (STET consentsPut; portal: 'No body')",
    ("identity", "hal_links"): (
        "not in STET 1.4.0.47 and the portal shows no answer body: no source requires _links "
        "(the lenient end_user_identity schema checks self when present)"
    ),
    ("beneficiaries", "hal_links"): _NOT_OFFERED + ", so no HAL resource is served",
    **{
        ("beneficiaries", rule): _NOT_OFFERED + _NO_STET_BODY
        for rule in ("content_type", "error_model")
    },
    **{(op, "body_validation"): "no request body" for op in BODILESS},
}
# Endpoints a scenario may name that are no row of the matrix, with the reason.
OUTSIDE_MATRIX: Mapping[str, str] = {
    "GET /oauth/authorize": (
        "the PSU's login in a browser (RFC 6749 4.1.1), not a call of the TPP's API client"
    ),
}
_URL_PATHS = {"token_url": "/oauth/token", "revoke_url": "/oauth/revoke"}
# Literal path segments; any other segment is a resource id.
LITERALS = frozenset(
    {
        "accounts",
        "balances",
        "transactions",
        "consents",
        "end-user-identity",
        "trusted-beneficiaries",
        "funds-confirmations",
        "payment-requests",
        "o-confirmation",
        "confirmation",
        "oauth",
        "token",
        "authorize",
        "revoke",
    }
)


def path_pattern(path: str) -> str:
    """``/accounts/{id}/balances`` from a concrete or templated path (no query)."""
    segments = [s if s in LITERALS else "{id}" for s in path.split("?")[0].split("/") if s]
    return "/" + "/".join(segments)


def operation_of(endpoint: str, tags: Iterable[str] = ()) -> str | None:
    """The operation of a scenario's ``endpoint`` (a tagged operation first: fallback)."""
    candidates = [op for op in OPERATIONS if op.endpoint == endpoint]
    tagged = [op for op in candidates if op.tag and op.tag in set(tags)]
    chosen = tagged or [op for op in candidates if not op.tag]
    return chosen[0].name if chosen else None


def _operation(name: str) -> Operation:
    return next(op for op in OPERATIONS if op.name == name)


def step_path(step: Step) -> str | None:
    """The path pattern a step requests (``None``: a replay or an URL of another endpoint)."""
    request = step.request
    if request.replay:
        return None
    if request.path is not None:
        return path_pattern(request.path)
    url = request.url or ""
    return next((path for key, path in _URL_PATHS.items() if f"target.{key}" in url), None)


def automatic_rules(step: Step) -> set[str]:
    """The rules a step's automatic checks are sure to test as MUSTs (docs/reports.md).

    X-Request-ID echo when it is sent and checked; Content-Type when every status the step
    allows has a body it checks; ErrorModel when every status it allows is an error. Unasked,
    both judge an error STET defines no body for (409, 501) only as a recommendation.
    """
    expect, rules = step.expect, set()
    if step.request.request_id and expect.request_id_echo:
        rules.add("request_id_echo")
    statuses = (*expect.status, *(400 for _ in expect.status_expressions))  # declared: a STET 4xx
    if statuses and all(_judges_media_type(expect, s) for s in statuses):
        rules.add("content_type")
    model = expect.error_model if expect.error_model is not None else not expect.oauth_error
    asked = "error_model" in expect.given
    if statuses and model and all(s >= 400 and (asked or not extrapolated(s)) for s in statuses):
        rules.add("error_model")
    return rules


def _judges_media_type(expect: Expect, status: int) -> bool:
    """Whether the Content-Type check judges a body with ``status`` as a MUST."""
    if status == 204 or expect.content_type == ANY_MEDIA_TYPE:
        return False
    if "content_type" in expect.given:
        return True
    return not 300 <= status < 400 and not extrapolated(status)


def scenario_cells(scenario: Scenario) -> set[Cell]:
    """The cells a scenario covers: its ``covers:`` and its steps' automatic checks there."""
    name = operation_of(scenario.endpoint, scenario.tags)
    if name is None:
        return set()
    path = _operation(name).path
    automatic = {
        rule for step in scenario.steps if step_path(step) == path for rule in automatic_rules(step)
    }
    cells = {(name, rule) for rule in automatic if (name, rule) not in NOT_APPLICABLE}
    return cells | {(name, rule) for rule in scenario.covers}


def declared_cells(rules: Iterable[object], on: object) -> set[Cell]:
    """The cells of a ``stet_covers(RULE, ..., on=[OPERATION, ...])`` marker.

    ``ValueError`` names an unknown rule or operation, or a marker without ``on``.
    """
    operations = [on] if isinstance(on, str) else list(on) if isinstance(on, Iterable) else []
    names = list(rules)
    if not operations or not names:
        raise ValueError("stet_covers needs rules and on=[operation, ...]")
    _check_names(names, RULE_NAMES, "rule")
    _check_names(operations, OPERATION_NAMES, "operation")
    return {(str(op), str(rule)) for op in operations for rule in names}


def _check_names(values: list[object], known: tuple[str, ...], kind: str) -> None:
    unknown = [repr(v) for v in values if v not in known]
    if unknown:
        raise ValueError(f"stet_covers: unknown {kind} {unknown[0]} (known: {', '.join(known)})")
