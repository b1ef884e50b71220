"""Response bodies against JSON Schemas: the named resource, the ErrorModel, OAuth errors."""

from __future__ import annotations

import re
from typing import Any

from stet_conformance.checks.base import CheckContext, Failure
from stet_conformance.verdict import Level

_WWW_AUTH_ERROR = re.compile(r'error="([^"]*)"')


def _json(ctx: CheckContext, check: str) -> tuple[Any, list[Failure]]:
    try:
        return ctx.exchange.body, []
    except ValueError:
        return None, [Failure(check, "the body is not valid JSON")]


# Schemas with no source in hand: a body outside them is a warning, not a failure.
UNVERIFIED_SCHEMAS = {
    "end_user_identity": (
        "no source in hand: GET /end-user-identity is not in STET 1.4.0.47 and the portal shows "
        "no body; the shape (connectedPsu required) is from later STET releases, unverified"
    ),
}
# Fields a schema accepts as null although STET types them as strings (the portal's example).
NULL_TOLERATED = frozenset({"resourceId", "entryReference"})
NULL_AUTHORITY = (
    "STET 1.4.0.47 types these fields as strings (Swagger 2.0 has no null): an absent optional "
    'field is left out; the portal\'s own transactions example sends "resourceId": null'
)


def check_schema(ctx: CheckContext) -> list[Failure]:
    """A 2xx body is JSON (a MUST) and fits the named schema (a MUST, unless the schema is
    unverified); a tolerated null is a warning (STET declares no nullable field). A refusal the
    step also allows is judged by the ErrorModel check instead, a 204 by the empty-body one."""
    name = ctx.expect.schema
    if name is None or not 200 <= ctx.exchange.status < 300 or ctx.exchange.status == 204:
        return []
    body, failures = _json(ctx, "schema")
    if failures:
        return failures
    if body is None:
        return [Failure("schema", f"expected a {name} body, got an empty body")]
    errors = ctx.schemas.errors(name, body)
    if not errors:
        return _null_warnings(_tolerated_nulls(ctx.exchange.response.content, body))
    level = Level.RECOMMENDATION if name in UNVERIFIED_SCHEMAS else Level.MUST
    authority = UNVERIFIED_SCHEMAS.get(name, "")
    return [Failure("schema", f"{name}: {m}", level, authority) for m in errors]


def _null_warnings(paths: list[str]) -> list[Failure]:
    """One warning for every tolerated null: the first few paths and how many more."""
    if not paths:
        return []
    more = f" (and {len(paths) - 3} more)" if len(paths) > 3 else ""
    message = f"null where STET wants a string or no field: {', '.join(paths[:3])}{more}"
    return [Failure("schema", message, Level.RECOMMENDATION, NULL_AUTHORITY)]


def _tolerated_nulls(content: bytes, body: Any) -> list[str]:
    """``_nulls`` of ``body``, parsed from ``content``; a C-speed answer for the common body
    without the bytes ``null``: the JSON literal cannot be escaped, so such a body holds no
    null, unless it is UTF-16 or UTF-32 (``json.loads`` reads them), where NUL bytes show."""
    if b"null" not in content and b"\0" not in content:
        return []
    return _nulls(body)


def _nulls(value: Any, where: str = "") -> list[str]:
    """Where a body holds a tolerated field as null, as paths (``transactions[0].resourceId``).

    A path is spelled only for a container or a null, not for each leaf (most of a body), and
    leaves are not visited as calls of their own.
    """
    if isinstance(value, list):
        return [
            n
            for i, item in enumerate(value)
            if isinstance(item, dict | list)
            for n in _nulls(item, f"{where}[{i}]")
        ]
    if not isinstance(value, dict):
        return []
    found: list[str] = []
    for key, item in value.items():
        if item is None:
            if key in NULL_TOLERATED:
                found.append(f"{where}.{key}" if where else str(key))
        elif isinstance(item, dict | list):
            found += _nulls(item, f"{where}.{key}" if where else str(key))
    return found


def check_error_model(ctx: CheckContext) -> list[Failure]:
    """Every 4xx/5xx answer of a STET resource carries an ErrorModel (by default: a MUST only on
    the codes STET defines it for, the checks registry says)."""
    wanted = ctx.expect.error_model
    if wanted is None:  # by default, but not where an OAuth error is the expected answer
        wanted = not ctx.expect.oauth_error
    if ctx.exchange.status < 400 or not wanted:
        return []
    body, failures = _json(ctx, "error_model")
    if failures:
        return failures
    if body is None:
        return [Failure("error_model", "an error response without an ErrorModel body")]
    failures = [Failure("error_model", m) for m in ctx.schemas.errors("error", body)]
    if isinstance(body, dict) and body.get("status") not in (None, ctx.exchange.status):
        failures.append(
            Failure(
                "error_model",
                f"ErrorModel.status is {body.get('status')}, the HTTP status {ctx.exchange.status}",
            )
        )
    return failures


def check_oauth_error(ctx: CheckContext) -> list[Failure]:
    """RFC 6750 §3 (WWW-Authenticate) or RFC 6749 §5.2 (body): either carries the error code.

    ``oauth_error`` is one code or a list of the codes the sources allow for the case. Only an
    error answer carries one: a step that also allows a 2xx (a revocation the server may refuse
    with ``unsupported_token_type``) checks the code only when it refuses.
    """
    allowed = ctx.expect.oauth_error
    if not allowed or ctx.exchange.status < 400:
        return []
    header = ctx.exchange.response.headers.get("www-authenticate", "")
    found = _WWW_AUTH_ERROR.findall(header)
    try:
        body = ctx.exchange.body
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        found.append(body["error"])
    if any(code in found for code in allowed):
        return []
    seen = ", ".join(repr(f) for f in found) or "none"
    expected = " or ".join(repr(code) for code in allowed)
    return [
        Failure(
            "oauth_error",
            f"expected OAuth error {expected} (WWW-Authenticate or body 'error'), found {seen}",
        )
    ]
