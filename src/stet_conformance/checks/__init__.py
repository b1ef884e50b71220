"""Checks: one small function per property of a response, each owning one ``expect`` key.

Each takes a ``CheckContext`` and returns ``Failure`` records (empty: the property holds). The
runner applies ``CHECKS`` in order; when ``status`` fails, the body checks are skipped because
their verdicts would only restate the wrong status.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from stet_conformance.checks.base import CheckContext, Failure
from stet_conformance.checks.body import check_error_model, check_oauth_error, check_schema
from stet_conformance.checks.data import check_data
from stet_conformance.checks.expect import Expect
from stet_conformance.checks.headers import (
    check_body_empty,
    check_content_type,
    check_request_id_echo,
)
from stet_conformance.checks.status import check_status


@dataclass(frozen=True)
class Check:
    """One check and the ``expect`` key it owns (its failures are named after the key)."""

    key: str
    run: Callable[[CheckContext], list[Failure]]

    def __call__(self, ctx: CheckContext) -> list[Failure]:
        return self.run(ctx)


CHECKS: dict[str, Check] = {
    check.key: check
    for check in (
        Check("status", check_status),
        Check("request_id_echo", check_request_id_echo),
        Check("content_type", check_content_type),
        Check("body_empty", check_body_empty),
        Check("schema", check_schema),
        Check("error_model", check_error_model),
        Check("oauth_error", check_oauth_error),
        Check("data", check_data),
    )
}
ALWAYS = ("status", "request_id_echo")

__all__ = ["ALWAYS", "CHECKS", "Check", "CheckContext", "Expect", "Failure", "run_checks"]


def run_checks(ctx: CheckContext) -> list[Failure]:
    failures = [f for key in ALWAYS for f in CHECKS[key](ctx)]
    if any(f.check == "status" for f in failures):
        return failures
    return failures + [f for key, check in CHECKS.items() if key not in ALWAYS for f in check(ctx)]
