"""Date windows as properties of the transaction list (seed: Get transactions history, Limits).

Inside the history depth the profile declares for the persona: 200 or 204, every transaction in
[dateFrom, dateTo), at most 500 (in any order: no source orders them), future dateTo included;
a negative offset, which the portal never writes, may also get 400 (a warning).
Older than the depth: 400. dateFrom after dateTo selects nothing: 400, 204, or 200 with no
transaction.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import assume, given
from hypothesis import strategies as st

from stet_conformance.fuzz import oracles
from stet_conformance.fuzz.plugin import fuzz_settings
from stet_conformance.fuzz.session import FuzzSession
from stet_conformance.fuzz.strategies import (
    ZONED_STYLES,
    DateWindow,
    date_windows,
    stet_datetimes,
)

NOW = dt.datetime.now(dt.UTC)
FUTURE = NOW + dt.timedelta(days=60)
DAY = dt.timedelta(days=1)
PERSONAS = st.sampled_from(["GEORGES", "EDME", "LEA"])


def _path(fuzz: FuzzSession, persona: str) -> str:
    return f"/accounts/{fuzz.account(persona, 'history')['resource_id']}/transactions"


def _earliest(fuzz: FuzzSession, persona: str) -> dt.datetime:
    """A day inside the persona's declared history, away from its first day."""
    return fuzz.history_start(persona) + DAY


def _window_check(fuzz: FuzzSession, persona: str, window: DateWindow, statuses: list[int]) -> None:
    params = window.params()
    exchange = fuzz.send(persona, "GET", _path(fuzz, persona), params=params)
    dates = (params.get("dateFrom"), params.get("dateTo"))
    problems = oracles.window_answer(exchange, statuses, fuzz.run.schemas, *dates)
    if exchange.status == 200 and not problems:
        problems += oracles.listing_problems(exchange.body)
        problems += oracles.window_problems(
            exchange.body,
            window.date_from.instant if window.date_from else None,
            window.date_to.instant if window.date_to else None,
            fuzz.imputation,
        )
    fuzz.check(exchange, problems, f"{persona} {window.params()}")


@fuzz_settings(scale=2)
@given(persona=PERSONAS, data=st.data())
def test_windows_inside_the_history_are_served_and_capped(
    fuzz: FuzzSession, persona: str, data: st.DataObject
) -> None:
    future_after = NOW + dt.timedelta(minutes=5)
    windows = date_windows(_earliest(fuzz, persona), FUTURE, future_after=future_after)
    _window_check(fuzz, persona, data.draw(windows, label="window"), [200, 204])


@fuzz_settings()
@given(persona=PERSONAS, data=st.data(), with_to=st.booleans())
def test_windows_older_than_the_history_are_refused(
    fuzz: FuzzSession, persona: str, data: st.DataObject, with_to: bool
) -> None:
    start = fuzz.history_floor(persona)
    older = stet_datetimes(start - dt.timedelta(days=800), start - DAY, ZONED_STYLES)
    params = {"dateFrom": data.draw(older, label="dateFrom").text}
    if with_to:
        params["dateTo"] = (NOW - DAY).isoformat(timespec="milliseconds")
    exchange = fuzz.send(persona, "GET", _path(fuzz, persona), params=params)
    fuzz.check(exchange, oracles.conforms(exchange, [400], fuzz.run.schemas), str(params))


@fuzz_settings()
@given(persona=PERSONAS, data=st.data())
def test_reversed_windows_are_refused_or_empty(
    fuzz: FuzzSession, persona: str, data: st.DataObject
) -> None:
    dates = stet_datetimes(_earliest(fuzz, persona), FUTURE, ZONED_STYLES)
    first, second = data.draw(dates, label="first"), data.draw(dates, label="second")
    assume(first.instant != second.instant)  # an empty window [t, t) is legal
    late, early = (first, second) if first.instant > second.instant else (second, first)
    _window_check(fuzz, persona, DateWindow(late, early), [400, 204, 200])
