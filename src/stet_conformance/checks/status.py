"""The HTTP status code."""

from __future__ import annotations

from stet_conformance.checks.base import CheckContext, Failure


def check_status(ctx: CheckContext) -> list[Failure]:
    wanted = ctx.expect.status
    got = ctx.exchange.status
    if got in wanted:
        return []
    text = " or ".join(str(s) for s in wanted)
    return [Failure("status", f"expected HTTP {text}, got {got}")]
