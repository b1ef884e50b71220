"""dateFrom/dateTo formats: the portal's grammar is served, near misses refused, the rest either.

The portal allows exactly three formats, all with milliseconds: ``YYYY-MM-DDTHH:MM:SS.SSS``
followed by ``Z``, ``+HHMM`` or ``+HH:MM`` (negative offsets too), or by nothing. Values of the
grammar must give 200 or 204 with every transaction inside the window they denote; a window whose
dateFrom is after its dateTo selects nothing (400, 204, or 200 with no transaction). A value
without an offset is the bank's local time, so its window is checked for any zone from UTC-12 to
UTC+14. Values RFC 3339 or ISO 8601 allow but the portal's grammar does not (no milliseconds,
other fraction digits, a lower-case ``t``...) may be served or refused (200, 204, 400); near
misses valid in no standard must give 400 with an ErrorModel (an injection may also meet a
WAF's 403, with a warning). The portal writes its offsets "+HHMM" and "+HH:MM" only: a negative
offset should be served (ISO 8601 and RFC 3339 allow it), a 400 for it is a warning. Nothing may
give a 5xx.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from stet_conformance.fuzz import oracles
from stet_conformance.fuzz.plugin import fuzz_settings
from stet_conformance.fuzz.session import FuzzSession
from stet_conformance.fuzz.strategies import (
    INJECTIONS,
    ZONED_STYLES,
    StetDateTime,
    near_miss_datetimes,
    outside_grammar_datetimes,
    stet_datetimes,
)
from stet_conformance.shared.dates import parse_stet_datetime

PERSONA = "GEORGES"
NOW = dt.datetime.now(dt.UTC)
# Inside a 62-day depth with a day's margin on each side of the bank's clock; a shallower
# history (declared in the profile) discards the older examples.
EARLIEST = NOW.replace(hour=0, minute=0, second=0, microsecond=0) - dt.timedelta(days=61)
LATEST = NOW + dt.timedelta(days=2)
DAY = dt.timedelta(days=1)


def _arabic_indic_year(text: str) -> str:
    """The year written in Arabic-Indic digits (Unicode Nd: what a regex \\d and int() accept)."""
    return "".join(chr(0x0660 + int(ch)) for ch in text[:4]) + text[4:]


# A date inside every history depth, so only its digits can make it refused.
ARABIC_INDIC_RECENT = _arabic_indic_year((NOW - 10 * DAY).strftime("%Y-%m-%dT00:00:00.000Z"))
INJECTION_400 = (
    "Banque BCP portal, Get transactions history, acceptance test 10: an invalid date -> 400 "
    "(a web application firewall's 403 refuses it as well)"
)


def _transactions_path(fuzz: FuzzSession) -> str:
    return f"/accounts/{fuzz.account(PERSONA, 'history')['resource_id']}/transactions"


def _negative_offset_example() -> StetDateTime:
    """20 days ago at 20:00-05:00, i.e. 01:00 UTC the next day: the sign decides the day."""
    day = (NOW - dt.timedelta(days=20)).date()
    local = dt.datetime.combine(day, dt.time(20), tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    return StetDateTime(local.isoformat(timespec="milliseconds"), local.astimezone(dt.UTC))


@fuzz_settings(scale=2)
@given(
    date_from=stet_datetimes(EARLIEST, LATEST, ZONED_STYLES),
    date_to=st.none() | stet_datetimes(EARLIEST, LATEST, ZONED_STYLES),
)
@example(date_from=_negative_offset_example(), date_to=None).via("negative offset, next UTC day")
def test_valid_dates_are_served_inside_their_window(
    fuzz: FuzzSession, date_from: StetDateTime, date_to: StetDateTime | None
) -> None:
    """200 or 204, every transaction inside; a pair in the wrong order selects nothing, and may
    also be refused with 400 (no source prefers either); a negative offset's 400 is a warning."""
    assert parse_stet_datetime(date_from.text, require_millis=True) == date_from.instant
    assume(date_from.instant >= fuzz.history_start(PERSONA))
    params = {"dateFrom": date_from.text}
    if date_to is not None:
        params["dateTo"] = date_to.text
    exchange = fuzz.send(PERSONA, "GET", _transactions_path(fuzz), params=params)
    inverted = date_to is not None and date_from.instant > date_to.instant
    statuses = [200, 204, 400] if inverted else [200, 204]  # an inverted window is empty
    dates = (date_from.text, date_to.text if date_to else None)
    problems = oracles.window_answer(exchange, statuses, fuzz.run.schemas, *dates)
    if exchange.status == 200 and not problems:
        problems += oracles.window_problems(
            exchange.body,
            date_from.instant,
            date_to.instant if date_to else None,
            fuzz.imputation,
        )
    fuzz.check(exchange, problems, f"dateFrom={date_from.text!r} dateTo={params.get('dateTo')!r}")


@fuzz_settings()
@given(date_from=stet_datetimes(EARLIEST + DAY, LATEST, ("none",)))
def test_dates_without_offset_are_served_as_local_time(
    fuzz: FuzzSession, date_from: StetDateTime
) -> None:
    """The portal's first format has no offset: the bank's local time, whatever its zone."""
    assume(date_from.instant - DAY >= fuzz.history_start(PERSONA))
    params = {"dateFrom": date_from.text}
    exchange = fuzz.send(PERSONA, "GET", _transactions_path(fuzz), params=params)
    problems = oracles.conforms(exchange, [200, 204], fuzz.run.schemas, schema="transactions")
    if exchange.status == 200 and not problems:
        earliest = date_from.instant - oracles.LOCAL_TIME_EARLIEST
        problems += oracles.window_problems(exchange.body, earliest, None, fuzz.imputation)
    fuzz.check(exchange, problems, f"dateFrom={date_from.text!r}")


@fuzz_settings()
@given(
    name=st.sampled_from(["dateFrom", "dateTo"]),
    value=outside_grammar_datetimes(EARLIEST + DAY, LATEST),
)
@example(name="dateFrom", value=(NOW - 20 * DAY).strftime("%Y-%m-%dT%H:%M:%SZ")).via(
    "no milliseconds"
)
def test_dates_outside_the_portal_grammar_are_served_or_refused(
    fuzz: FuzzSession, name: str, value: str
) -> None:
    """RFC 3339 or ISO 8601 allows them, the portal's grammar does not: 200, 204 or 400."""
    exchange = fuzz.send(PERSONA, "GET", _transactions_path(fuzz), params={name: value})
    problems = oracles.conforms(exchange, [200, 204, 400], fuzz.run.schemas, "transactions")
    fuzz.check(exchange, problems, f"{name}={value!r}")


@pytest.mark.stet_covers("error_model", on="transactions")
@fuzz_settings(scale=2)
@given(name=st.sampled_from(["dateFrom", "dateTo"]), value=near_miss_datetimes())
@example(name="dateFrom", value=ARABIC_INDIC_RECENT).via("Arabic-Indic digits, a recent date")
@example(name="dateTo", value=INJECTIONS[0]).via("an injection a WAF may refuse")
def test_near_miss_dates_are_refused_with_400(fuzz: FuzzSession, name: str, value: str) -> None:
    exchange = fuzz.send(PERSONA, "GET", _transactions_path(fuzz), params={name: value})
    if value in INJECTIONS:  # a WAF in front of the bank may refuse it first
        problems = oracles.preferring(exchange, [400, 403], [400], INJECTION_400, fuzz.run.schemas)
    else:
        problems = oracles.conforms(exchange, [400], fuzz.run.schemas)
    fuzz.check(exchange, problems, f"{name}={value!r}")
