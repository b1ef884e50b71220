"""dateFrom/dateTo formats: every value of the seed's grammar is served, every near-miss is a 400.

Valid values (Z, +HHMM, +HH:MM, negative offsets, with and without milliseconds) must give 200 or
204 with every transaction inside the window they denote; one-edit near-misses must give 400 with
an ErrorModel; nothing may give a 5xx.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import example, given
from hypothesis import strategies as st

from stet_conformance.fuzz import oracles
from stet_conformance.fuzz.plugin import fuzz_settings
from stet_conformance.fuzz.session import FuzzSession
from stet_conformance.fuzz.strategies import StetDateTime, near_miss_datetimes, stet_datetimes
from stet_conformance.shared.dates import parse_stet_datetime

PERSONA = "GEORGES"
NOW = dt.datetime.now(dt.UTC)
# Inside the 62-day depth with a day's margin on each side of the bank's clock.
EARLIEST = NOW.replace(hour=0, minute=0, second=0, microsecond=0) - dt.timedelta(days=61)
LATEST = NOW + dt.timedelta(days=2)


def _transactions_path(fuzz: FuzzSession) -> str:
    return f"/accounts/{fuzz.account(PERSONA)['resource_id']}/transactions"


def _negative_offset_example() -> StetDateTime:
    """20 days ago at 20:00-05:00, i.e. 01:00 UTC the next day: the sign decides the day."""
    day = (NOW - dt.timedelta(days=20)).date()
    local = dt.datetime.combine(day, dt.time(20), tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    return StetDateTime(local.isoformat(timespec="seconds"), local.astimezone(dt.UTC))


@fuzz_settings(scale=2)
@given(
    date_from=stet_datetimes(EARLIEST, LATEST),
    date_to=st.none() | stet_datetimes(EARLIEST, LATEST),
)
@example(date_from=_negative_offset_example(), date_to=None).via("negative offset, next UTC day")
def test_valid_dates_are_served_inside_their_window(
    fuzz: FuzzSession, date_from: StetDateTime, date_to: StetDateTime | None
) -> None:
    assert parse_stet_datetime(date_from.text) == date_from.instant
    params = {"dateFrom": date_from.text}
    if date_to is not None:
        params["dateTo"] = date_to.text
    exchange = fuzz.send(PERSONA, "GET", _transactions_path(fuzz), params=params)
    if date_to is not None and date_from.instant > date_to.instant:
        fuzz.check(exchange, oracles.conforms(exchange, [400], fuzz.run.schemas))
        return
    problems = oracles.conforms(exchange, [200, 204], fuzz.run.schemas, schema="transactions")
    if exchange.status == 200 and not problems:
        problems += oracles.window_problems(
            exchange.body,
            date_from.instant,
            date_to.instant if date_to else None,
            str(fuzz.settings.get("imputation", "midnight")),
        )
    fuzz.check(exchange, problems, f"dateFrom={date_from.text!r} dateTo={params.get('dateTo')!r}")


@fuzz_settings(scale=2)
@given(name=st.sampled_from(["dateFrom", "dateTo"]), value=near_miss_datetimes())
@example(name="dateFrom", value="٢٠٢٦-01-01T00:00:00Z").via("Arabic-Indic digits")
def test_near_miss_dates_are_refused_with_400(fuzz: FuzzSession, name: str, value: str) -> None:
    exchange = fuzz.send(PERSONA, "GET", _transactions_path(fuzz), params={name: value})
    fuzz.check(exchange, oracles.conforms(exchange, [400], fuzz.run.schemas), f"{name}={value!r}")
