"""Checks: one small function per property of a response, each owning one ``expect`` key.

Each takes a ``CheckContext`` and returns ``Failure`` records (empty: the property holds). The
runner applies ``CHECKS`` in order; when ``status`` fails, the body checks are skipped because
their verdicts would only restate the wrong status.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection
from dataclasses import dataclass

from stet_conformance.checks.base import (
    EXTRAPOLATED_ERROR_MODEL,
    CheckContext,
    Failure,
    extrapolated,
)
from stet_conformance.checks.body import check_error_model, check_oauth_error, check_schema
from stet_conformance.checks.data import check_data
from stet_conformance.checks.expect import Expect
from stet_conformance.checks.headers import (
    check_body_empty,
    check_content_type,
    check_request_id_echo,
)
from stet_conformance.checks.status import check_status
from stet_conformance.verdict import Level


@dataclass(frozen=True)
class Check:
    """One check and the ``expect`` key it owns (its failures are named after the key).

    A check that also runs when the step does not write its key (X-Request-ID echo, JSON
    content type, empty 204, ErrorModel) declares the source of that default and its level. A
    default about an error body (``error_bodies``) is one only on the codes STET defines the
    ErrorModel for: on another 4xx/5xx it is extrapolated, a recommendation. A step that writes
    the key asks on the scenario's authority: its failures keep the MUST.
    """

    key: str
    run: Callable[[CheckContext], list[Failure]]
    authority: str = ""  # empty: runs only when asked, on the scenario's authority
    level: Level = Level.MUST
    error_bodies: bool = False

    def __call__(self, ctx: CheckContext) -> list[Failure]:
        failures = self.run(ctx)
        if self.key in ctx.expect.given or not self.authority:
            return failures
        level, authority = self.level, self.authority
        if self.error_bodies and extrapolated(ctx.exchange.status):
            level, authority = Level.RECOMMENDATION, EXTRAPOLATED_ERROR_MODEL
        return [dataclasses.replace(f, level=level, authority=authority) for f in failures]


CHECKS: dict[str, Check] = {
    check.key: check
    for check in (
        Check("status", check_status),
        Check(
            "request_id_echo",
            check_request_id_echo,
            "STET swagger, header X-Request-ID: 'set in a request and retrieved in the relevant "
            "response'",
        ),
        Check(
            "content_type",
            check_content_type,
            "STET swagger: every operation produces application/json or application/hal+json",
            error_bodies=True,
        ),
        Check("body_empty", check_body_empty, "RFC 9110 §15.3.5: a 204 response has no content"),
        Check("schema", check_schema),
        Check(
            "error_model",
            check_error_model,
            "STET swagger: its shared 4xx/5xx responses are an ErrorModel whose status is the "
            "HTTP code",
            error_bodies=True,
        ),
        Check("oauth_error", check_oauth_error),
        Check("data", check_data),
    )
}
ALWAYS = ("status", "request_id_echo")

__all__ = ["ALWAYS", "CHECKS", "Check", "CheckContext", "Expect", "Failure", "run_checks"]


def run_checks(ctx: CheckContext, keys: Collection[str] | None = None) -> list[Failure]:
    """Every check (or those owning ``keys``), in order; none after a wrong status."""
    selected = [c for c in CHECKS.values() if keys is None or c.key in keys]
    failures = [f for check in selected if check.key in ALWAYS for f in check(ctx)]
    if any(f.check == "status" for f in failures):
        return failures
    return failures + [f for check in selected if check.key not in ALWAYS for f in check(ctx)]
