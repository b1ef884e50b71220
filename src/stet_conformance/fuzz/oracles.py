"""Oracles: what a conformant STET bank must answer, as lists of problems (empty: conformant).

They reuse the scenario checks (``run_checks``: status, X-Request-ID echo, Content-Type, ErrorModel)
so a fuzzed request is judged by the same rules as a hand-written scenario; what the scenarios
cannot say (every transaction inside a generated window, the cap) is added here. A problem is
a message: a plain one breaks a MUST, ``verdict.should(message, authority)`` a recommendation (a
warning, unless the run is strict).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from stet_conformance.checks import CheckContext, Expect, run_checks
from stet_conformance.checks.body import check_oauth_error
from stet_conformance.checks.schemas import SchemaStore
from stet_conformance.config.settings import UTC_MIDNIGHT, Imputation
from stet_conformance.http.client import Exchange
from stet_conformance.http.redact import Redactor
from stet_conformance.shared.dates import day_start
from stet_conformance.verdict import CheckFailed, Level, Problem, level_of, recommendation, should

MAX_OPERATIONS = 500  # seed "Limits": at most 500 operations, no pagination
NEGATIVE_OFFSET_SERVED = (
    "ISO 8601 and RFC 3339 5.6: a time offset is + or -; the Banque BCP portal, Get transactions "
    "history, writes its formats with +HHMM and +HH:MM only"
)
# A date-time without an offset is the bank's local time: somewhere between UTC-12 and UTC+14.
LOCAL_TIME_EARLIEST = dt.timedelta(hours=14)


def never_5xx(exchange: Exchange) -> list[str]:
    if exchange.status >= 500:
        return [f"HTTP {exchange.status}: a server error on client input (never 5xx)"]
    return []


def conforms(
    exchange: Exchange,
    statuses: Iterable[int],
    schemas: SchemaStore,
    schema: str | None = None,
    *,
    echo: bool = True,
) -> list[str]:
    """Status among ``statuses`` plus every scenario check; ``schema`` applies to a 200 body.

    ``echo=False`` leaves out the X-Request-ID echo check (a request that sent it twice).
    """
    expect = Expect(
        status=tuple(sorted(set(statuses))),
        request_id_echo=echo,
        schema=schema if exchange.status == 200 else None,
    )
    checked = run_checks(CheckContext(exchange, expect, schemas))
    return never_5xx(exchange) + [Problem(str(f), f.level, f.authority) for f in checked]


def preferring(
    exchange: Exchange,
    allowed: Iterable[int],
    preferred: Iterable[int],
    authority: str,
    schemas: SchemaStore,
    schema: str | None = None,
) -> list[str]:
    """Any ``allowed`` status (a 200 body fitting ``schema``; anything else fails, a 2xx refusal
    first of all); one other than the ``preferred`` is a warning citing the source that prefers
    them, where the sources leave the choice."""
    allowed = set(allowed)
    problems = conforms(exchange, allowed, schemas, schema)
    wanted = sorted(set(preferred))
    if exchange.status in allowed - set(wanted):
        codes = " or ".join(map(str, wanted))
        problems.append(should(f"answered {exchange.status}, not {codes}", authority))
    return problems


def negative_offset(*texts: str | None) -> bool:
    """A ``YYYY-MM-DDTHH:MM:SS[.SSS]`` date-time followed by a negative UTC offset."""
    return any(t is not None and t[19:].lstrip(".0123456789").startswith("-") for t in texts)


def window_answer(
    exchange: Exchange, statuses: list[int], schemas: SchemaStore, *texts: str | None
) -> list[str]:
    """``statuses`` (a 200 fitting the transactions schema); where a date has a negative offset,
    which the portal never writes, a 400 is allowed too, with a warning."""
    if 400 in statuses or not negative_offset(*texts):
        return conforms(exchange, statuses, schemas, "transactions")
    allowed = [*statuses, 400]
    return preferring(exchange, allowed, statuses, NEGATIVE_OFFSET_SERVED, schemas, "transactions")


def imputation_instant(
    booking_date: str, imputation: Imputation = UTC_MIDNIGHT
) -> tuple[dt.datetime, dt.datetime]:
    """The interval a transaction's imputation may lie in, from its ``bookingDate``.

    The profile's ``imputation`` (no source defines it): ``midnight``, the instant 00:00 of that
    day in its ``timezone``; ``day``, any instant of that day there.
    """
    date = dt.date.fromisoformat(booking_date)
    start = day_start(date, imputation.zone)
    if imputation.instant == "midnight":
        return start, start
    return start, day_start(date + dt.timedelta(days=1), imputation.zone)


def window_problems(
    body: Any,
    date_from: dt.datetime | None,
    date_to: dt.datetime | None,
    imputation: Imputation = UTC_MIDNIGHT,
) -> list[str]:
    """Every transaction lies in [dateFrom, dateTo): dateFrom inclusive, dateTo exclusive."""
    problems = []
    for index, tx in enumerate(_transactions(body)):
        booking = tx.get("bookingDate")
        if not isinstance(booking, str):
            continue  # the schema check reports it
        try:
            first, last = imputation_instant(booking, imputation)
        except ValueError:
            continue
        if date_from is not None and last < date_from:
            problems.append(f"transactions[{index}].bookingDate {booking} is before dateFrom")
        if date_to is not None and first >= date_to:
            problems.append(f"transactions[{index}].bookingDate {booking} is not before dateTo")
    return problems[:5]


def listing_problems(body: Any) -> list[str]:
    """At most 500 operations (seed "Limits"). No source orders them, so any order is fine."""
    items = _transactions(body)
    if len(items) > MAX_OPERATIONS:
        return [f"{len(items)} transactions returned, the cap is {MAX_OPERATIONS}"]
    return []


def oauth_error_problems(exchange: Exchange, code: str, schemas: SchemaStore) -> list[str]:
    """The OAuth error code is in WWW-Authenticate or in the body (RFC 6750 3, the portal)."""
    expect = Expect.of({"oauth_error": code})
    failures = check_oauth_error(CheckContext(exchange, expect, schemas))
    return [str(f) for f in failures]


def echo_problems(exchange: Exchange, sent: str) -> list[str]:
    """X-Request-ID comes back byte for byte (the swagger: 'retrieved in the response')."""
    raw = [v for k, v in exchange.response.headers.raw if k.lower() == b"x-request-id"]
    if not raw:
        return ["the response has no X-Request-ID"]
    if raw[0] != sent.encode("ascii"):
        return [f"X-Request-ID echoed as {raw[0]!r}, sent {sent.encode('ascii')!r}"]
    return []


def fail(
    exchange: Exchange,
    problems: list[str],
    redactor: Redactor,
    note: str = "",
    *,
    strict: bool = False,
) -> list[str]:
    """Raise ``CheckFailed`` with the failing problems and the redacted exchange, if any; else
    return the warnings (recommendations not met, worded with their source; none if strict)."""
    __tracebackhide__ = True
    musts = [p for p in problems if level_of(p) is Level.MUST]
    recommended = [
        recommendation(p, p.authority, strict=strict)
        for p in problems
        if isinstance(p, Problem) and p.level is not Level.MUST
    ]
    failing = musts + recommended if strict else musts
    if not failing:
        return recommended
    lines = [note] if note else []
    lines += [f"- {p}" for p in failing]
    lines += ["exchange:"] + ["  " + line for line in exchange.render(redactor).splitlines()]
    raise CheckFailed(redactor.text("\n".join(lines)))


def _transactions(body: Any) -> list[dict[str, Any]]:
    items = body.get("transactions") if isinstance(body, dict) else None
    return [tx for tx in items if isinstance(tx, dict)] if isinstance(items, list) else []
