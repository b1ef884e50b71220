"""Checks: one small function per property of a response, registered by name.

Each takes a ``CheckContext`` and returns ``Failure`` records (empty: the property holds). The
runner applies ``CHECKS`` in order; when ``status`` fails, the body checks are skipped because
their verdicts would only restate the wrong status.
"""

from __future__ import annotations

from collections.abc import Callable

from stet_conformance.checks.base import CheckContext, Failure
from stet_conformance.checks.body import check_error_model, check_oauth_error, check_schema
from stet_conformance.checks.data import check_data
from stet_conformance.checks.headers import (
    check_body_empty,
    check_content_type,
    check_request_id_echo,
)
from stet_conformance.checks.status import check_status

Check = Callable[[CheckContext], list[Failure]]

CHECKS: dict[str, Check] = {
    "status": check_status,
    "request_id_echo": check_request_id_echo,
    "content_type": check_content_type,
    "body_empty": check_body_empty,
    "schema": check_schema,
    "error_model": check_error_model,
    "oauth_error": check_oauth_error,
    "data": check_data,
}
ALWAYS = ("status", "request_id_echo")

__all__ = ["ALWAYS", "CHECKS", "Check", "CheckContext", "Failure", "run_checks"]


def run_checks(ctx: CheckContext) -> list[Failure]:
    failures = [f for name in ALWAYS for f in CHECKS[name](ctx)]
    if any(f.check == "status" for f in failures):
        return failures
    return failures + [
        f for name, check in CHECKS.items() if name not in ALWAYS for f in check(ctx)
    ]
