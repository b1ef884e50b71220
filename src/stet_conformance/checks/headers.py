"""Response headers: X-Request-ID echo, Content-Type, empty bodies where STET wants none."""

from __future__ import annotations

from stet_conformance.checks.base import CheckContext, Failure

JSON_MEDIA_TYPES = ("application/json", "application/hal+json")


def check_request_id_echo(ctx: CheckContext) -> list[Failure]:
    """STET: X-Request-ID is 'set in a request and retrieved in the relevant response'."""
    if not ctx.expect.request_id_echo:
        return []
    sent = ctx.exchange.request.headers.get("x-request-id")
    if sent is None:
        return []
    got = ctx.exchange.response.headers.get("x-request-id")
    if got is None:
        return [Failure("request_id_echo", "the response has no X-Request-ID header")]
    if got != sent:
        return [Failure("request_id_echo", f"X-Request-ID echoed as {got!r}, sent {sent!r}")]
    return []


ANY_MEDIA_TYPE = "*/*"  # a step whose body no source specifies (RFC 7009 2.2: /revoke)


def check_content_type(ctx: CheckContext) -> list[Failure]:
    """The step's media type (``*/*``: any), else JSON for every body except a redirect's
    hypertext note (by default: a MUST only on the error codes STET defines a body for).

    RFC 9110 15.4: a 3xx body is "a short hypertext note" for the user agent, not an API body.
    """
    response = ctx.exchange.response
    wanted = ctx.expect.content_type
    if not response.content or wanted == ANY_MEDIA_TYPE:
        return []
    got = response.headers.get("content-type", "")
    media_type = got.split(";")[0].strip().lower()
    if wanted is not None:
        if media_type != wanted.lower():
            return [Failure("content_type", f"expected Content-Type {wanted}, got {got!r}")]
        return []
    if 300 <= ctx.exchange.status < 400:
        return []
    if media_type not in JSON_MEDIA_TYPES:
        return [Failure("content_type", f"body is not JSON: Content-Type {got!r}")]
    return []


def check_body_empty(ctx: CheckContext) -> list[Failure]:
    """204 never has a body (RFC 9110); scenarios may ask the same of other codes (201)."""
    wanted = ctx.expect.body_empty
    if wanted is None:
        wanted = ctx.exchange.status == 204
    if wanted and ctx.exchange.response.content:
        size = len(ctx.exchange.response.content)
        return [Failure("body_empty", f"expected no body, got {size} bytes")]
    return []
