"""The fuzz strategies generate what their grammar says: valid dates parse, near-misses do not."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stet_conformance.fuzz import strategies as fs
from stet_conformance.http.budget import BudgetExhausted, RequestBudget
from stet_conformance.shared.dates import parse_stet_datetime

LO = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
HI = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


@settings(max_examples=150)
@given(value=fs.stet_datetimes(LO, HI))
def test_every_valid_date_parses_to_its_instant(value: fs.StetDateTime) -> None:
    assert parse_stet_datetime(value.text) == value.instant
    assert LO <= value.instant <= HI


@settings(max_examples=150)
@given(value=fs.stet_datetimes(LO, HI))
def test_valid_dates_are_in_the_portal_grammar_with_milliseconds(value: fs.StetDateTime) -> None:
    """The portal's three formats all carry .SSS: a value without is outside the grammar."""
    assert re.fullmatch(r"[0-9-]{10}T[0-9:]{8}\.[0-9]{3}(Z|[+-][0-9]{2}:?[0-9]{2})?", value.text)
    assert parse_stet_datetime(value.text, require_millis=True) == value.instant


@pytest.mark.parametrize("kind", fs.OUTSIDE_GRAMMAR_KINDS)
def test_outside_grammar_values_are_not_in_the_portal_grammar(kind: str) -> None:
    @settings(max_examples=20)
    @given(fs.outside_grammar_datetimes(LO, HI, kind=kind))
    def check(value: str) -> None:
        with pytest.raises(ValueError):
            parse_stet_datetime(value, require_millis=True)

    check()


@pytest.mark.parametrize("style", fs.OFFSET_STYLES)
def test_every_offset_style_is_generated(style: str) -> None:
    @settings(max_examples=30)
    @given(fs.stet_datetimes(LO, HI, styles=(style,)))
    def check(value: fs.StetDateTime) -> None:
        text = value.text
        if style == "Z":
            assert text.endswith("Z")
        elif style == "none":
            assert text[-1].isdigit() and len(text) == 23
        else:
            assert text[-5 if style == "+HHMM" else -6] in "+-"
        assert parse_stet_datetime(text) == value.instant

    check()


@settings(max_examples=200)
@given(value=fs.near_miss_datetimes())
def test_no_near_miss_parses(value: str) -> None:
    with pytest.raises(ValueError):
        parse_stet_datetime(value)


@pytest.mark.parametrize("kind", fs.NEAR_MISS_KINDS)
def test_each_near_miss_kind_is_refused(kind: str) -> None:
    @settings(max_examples=25)
    @given(fs.near_miss_datetimes(kind=kind))
    def check(value: str) -> None:
        with pytest.raises(ValueError):
            parse_stet_datetime(value)

    check()


@given(window=fs.date_windows(LO, HI))
def test_ordered_windows_are_ordered(window: fs.DateWindow) -> None:
    if window.date_from and window.date_to:
        assert window.date_from.instant <= window.date_to.instant


@given(value=fs.request_ids())
def test_request_ids_are_visible_ascii_1_to_70(value: str) -> None:
    assert 1 <= len(value) <= 70
    assert value == value.strip()
    assert all(0x20 <= ord(ch) < 0x7F for ch in value)


@given(value=fs.oversize_request_ids())
def test_oversize_request_ids_exceed_70(value: str) -> None:
    assert len(value) > 70


@given(address=fs.psu_ip_addresses())
def test_psu_ip_addresses_match_their_kind(address: tuple[str, str]) -> None:
    kind, value = address
    if kind == "ipv4":
        assert ipaddress.ip_address(value).version == 4
    elif kind == "ipv6":
        assert ipaddress.ip_address(value).version == 6


@given(value=fs.malformed_authorizations())
def test_malformed_authorizations_are_not_bearer_token68(value: str) -> None:
    scheme, _, token = value.partition(" ")
    assert value == value.strip()
    well_formed = scheme == "Bearer" and token and all(c in fs.TOKEN68 + "=" for c in token)
    assert not well_formed


@given(value=fs.key_ids("https://bank.example/certs/qseal_" + "a" * 64))
def test_key_ids_never_equal_the_valid_one(value: str) -> None:
    assert value != "https://bank.example/certs/qseal_" + "a" * 64


def test_budget_refuses_with_a_reason_and_takes_nothing_when_empty() -> None:
    budget = RequestBudget(per_run=4, per_persona=2, unattended_per_persona=1)
    budget.spend("LEA")
    budget.spend("LEA", unattended=True)
    with pytest.raises(BudgetExhausted, match="persona LEA"):
        budget.spend("LEA")
    budget.spend("MARC", unattended=True)
    with pytest.raises(BudgetExhausted, match="unattended"):
        budget.spend("MARC", unattended=True)
    budget.spend("CLAIRE")
    assert budget.spent == 4
    with pytest.raises(BudgetExhausted, match="this run"):
        budget.spend("CLAIRE")
    assert budget.remaining("CLAIRE") == 0


@given(st.integers(0, 2))
def test_format_offset_round_trips(hours: int) -> None:
    assert fs.format_offset(-hours * 60 - 30, colon=True) == f"-{hours:02d}:30"
