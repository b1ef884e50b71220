"""The HTTP status code."""

from __future__ import annotations

from stet_conformance.checks.base import CheckContext, Failure


def expected_statuses(expect: dict[str, object]) -> list[int]:
    status = expect["status"]
    return [int(s) for s in status] if isinstance(status, list) else [int(str(status))]


def check_status(ctx: CheckContext) -> list[Failure]:
    wanted = expected_statuses(ctx.expect)
    got = ctx.exchange.status
    if got in wanted:
        return []
    text = " or ".join(str(s) for s in wanted)
    return [Failure("status", f"expected HTTP {text}, got {got}")]
