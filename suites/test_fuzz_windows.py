"""Date windows as properties of the transaction list (seed: Get transactions history, Limits).

Inside the history depth: 200 or 204, every transaction in [dateFrom, dateTo), at most 500, newest
first, future dateTo included. Older than the depth, or dateFrom after dateTo: 400.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import assume, given
from hypothesis import strategies as st

from stet_conformance.fuzz import oracles
from stet_conformance.fuzz.plugin import fuzz_settings
from stet_conformance.fuzz.session import FuzzSession
from stet_conformance.fuzz.strategies import DateWindow, StetDateTime, date_windows, stet_datetimes

NOW = dt.datetime.now(dt.UTC)
MIDNIGHT = NOW.replace(hour=0, minute=0, second=0, microsecond=0)
DEPTH = 62  # the fixture personas' history; a profile with another depth still gets 400s right
EARLIEST = MIDNIGHT - dt.timedelta(days=DEPTH - 1)
FUTURE = NOW + dt.timedelta(days=60)
PERSONAS = st.sampled_from([("GEORGES", 0), ("EDME", 0), ("LEA", 0)])


def _path(fuzz: FuzzSession, persona: str, index: int) -> str:
    return f"/accounts/{fuzz.account(persona, index)['resource_id']}/transactions"


@fuzz_settings(scale=2)
@given(
    who=PERSONAS, window=date_windows(EARLIEST, FUTURE, future_after=NOW + dt.timedelta(minutes=5))
)
def test_windows_inside_the_history_are_served_in_order_and_capped(
    fuzz: FuzzSession, who: tuple[str, int], window: DateWindow
) -> None:
    exchange = fuzz.send(who[0], "GET", _path(fuzz, *who), params=window.params())
    problems = oracles.conforms(exchange, [200, 204], fuzz.run.schemas, schema="transactions")
    if exchange.status == 200 and not problems:
        problems += oracles.listing_problems(exchange.body)
        problems += oracles.window_problems(
            exchange.body,
            window.date_from.instant if window.date_from else None,
            window.date_to.instant if window.date_to else None,
            str(fuzz.settings.get("imputation", "midnight")),
        )
    fuzz.check(exchange, problems, f"{who[0]} {window.params()}")


@fuzz_settings()
@given(
    who=PERSONAS,
    date_from=stet_datetimes(
        MIDNIGHT - dt.timedelta(days=800), MIDNIGHT - dt.timedelta(days=DEPTH + 1)
    ),
    with_to=st.booleans(),
)
def test_windows_older_than_the_history_are_refused(
    fuzz: FuzzSession, who: tuple[str, int], date_from: StetDateTime, with_to: bool
) -> None:
    params = {"dateFrom": date_from.text}
    if with_to:
        params["dateTo"] = (NOW - dt.timedelta(days=1)).isoformat(timespec="milliseconds")
    exchange = fuzz.send(who[0], "GET", _path(fuzz, *who), params=params)
    fuzz.check(exchange, oracles.conforms(exchange, [400], fuzz.run.schemas), str(params))


@fuzz_settings()
@given(
    who=PERSONAS,
    first=stet_datetimes(EARLIEST, FUTURE),
    second=stet_datetimes(EARLIEST, FUTURE),
)
def test_reversed_windows_are_refused(
    fuzz: FuzzSession, who: tuple[str, int], first: StetDateTime, second: StetDateTime
) -> None:
    assume(first.instant != second.instant)  # an empty window [t, t) is legal
    late, early = (first, second) if first.instant > second.instant else (second, first)
    window = DateWindow(late, early)
    exchange = fuzz.send(who[0], "GET", _path(fuzz, *who), params=window.params())
    fuzz.check(exchange, oracles.conforms(exchange, [400], fuzz.run.schemas), str(window.params()))
