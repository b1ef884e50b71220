"""The dateFrom/dateTo grammar (shared.dates)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from stet_conformance.shared.dates import format_stet_datetime, parse_stet_datetime


def _tz(hours: int, minutes: int = 0) -> dt.timezone:
    sign = -1 if hours < 0 else 1
    return dt.timezone(dt.timedelta(hours=hours, minutes=sign * minutes))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-02-29T13:45:10.123Z", dt.datetime(2024, 2, 29, 13, 45, 10, 123000, dt.UTC)),
        ("2024-02-29T13:45:10Z", dt.datetime(2024, 2, 29, 13, 45, 10, tzinfo=dt.UTC)),
        ("2024-02-29T13:45:10.123+0200", dt.datetime(2024, 2, 29, 13, 45, 10, 123000, _tz(2))),
        ("2024-02-29T13:45:10+0200", dt.datetime(2024, 2, 29, 13, 45, 10, tzinfo=_tz(2))),
        ("2024-02-29T13:45:10.123+02:00", dt.datetime(2024, 2, 29, 13, 45, 10, 123000, _tz(2))),
        ("2024-02-29T13:45:10+02:00", dt.datetime(2024, 2, 29, 13, 45, 10, tzinfo=_tz(2))),
        ("2024-02-29T13:45:10.001-05:30", dt.datetime(2024, 2, 29, 13, 45, 10, 1000, _tz(-5, 30))),
        ("2024-02-29T13:45:10-0930", dt.datetime(2024, 2, 29, 13, 45, 10, tzinfo=_tz(-9, 30))),
        ("2024-02-29T13:45:10.999", dt.datetime(2024, 2, 29, 13, 45, 10, 999000, dt.UTC)),
        ("2024-12-31T23:59:59+23:59", dt.datetime(2024, 12, 31, 23, 59, 59, tzinfo=_tz(23, 59))),
    ],
)
def test_accepted_formats(text: str, expected: dt.datetime) -> None:
    parsed = parse_stet_datetime(text)
    assert parsed == expected
    assert parsed.utcoffset() == expected.utcoffset()


def test_negative_offset_moves_the_instant_later() -> None:
    parsed = parse_stet_datetime("2024-01-01T22:00:00-03:00")
    assert parsed.astimezone(dt.UTC) == dt.datetime(2024, 1, 2, 1, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "text",
    [
        "2024-13-01T00:00:00Z",  # month 13
        "2024-00-10T00:00:00Z",  # month 0
        "2024-01-32T00:00:00Z",  # day 32
        "2023-02-29T00:00:00Z",  # not a leap year
        "2024-01-01T24:00:00Z",  # hour 24
        "2024-01-01T23:60:00Z",  # minute 60
        "2024-01-01 00:00:00Z",  # missing T
        "2024-01-0100:00:00Z",  # missing T
        "24-01-01T00:00:00Z",  # 2-digit year
        "\u0662\u0660\u0662\u0664-01-01T00:00:00Z",  # Arabic-Indic digits
        "2024-01-01T\u0661\u0660:00:00Z",  # Arabic-Indic digits in the time
        "\uff12\uff10\uff12\uff14-01-01T00:00:00Z",  # full-width digits
        "",
        "2024-01-01T00:00:00Zjunk",  # trailing garbage
        "2024-01-01T00:00:00.123Z ",  # trailing space
        "2024-01-01T00:00:00Z\n",  # trailing newline
        " 2024-01-01T00:00:00Z",  # leading space
        "2024-01-01T00:00:00+25:00",  # offset hour out of range
        "2024-01-01T00:00:00+02:60",  # offset minute out of range
        "2024-01-01T00:00:00+2:00",  # short offset
        "2024-01-01T00:00:00.12Z",  # two-digit fraction
        "2024-01-01T00:00:00.1234Z",  # four-digit fraction
        "2024-01-01T00:00Z",  # no seconds
        "2024-01-01t00:00:00Z",  # lower-case t
        "2024-01-01T00:00:00z",  # lower-case z
        "2024-01-01",  # plain date, not allowed by default
    ],
)
def test_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        parse_stet_datetime(text)


def test_error_message_quotes_a_truncated_value() -> None:
    with pytest.raises(ValueError, match="not a STET date-time") as info:
        parse_stet_datetime("x" * 100)
    assert "x" * 41 not in str(info.value)


def test_plain_date_only_with_allow_plain_date() -> None:
    assert parse_stet_datetime("2024-03-05", allow_plain_date=True) == dt.datetime(
        2024, 3, 5, tzinfo=dt.UTC
    )
    # the full grammar still works with the flag
    assert parse_stet_datetime("2024-03-05T01:02:03Z", allow_plain_date=True).hour == 1


@pytest.mark.parametrize("text", ["2024-13-05", "2024-02-30", "24-03-05", "2024-03-05Z", ""])
def test_bad_plain_dates_are_rejected_even_when_allowed(text: str) -> None:
    with pytest.raises(ValueError):
        parse_stet_datetime(text, allow_plain_date=True)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (dt.datetime(2024, 1, 2, 3, 4, 5, 678000, dt.UTC), "2024-01-02T03:04:05.678Z"),
        (dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=_tz(-5, 30)), "2024-01-02T03:04:05.000-05:30"),
    ],
)
def test_format_round_trips(value: dt.datetime, text: str) -> None:
    assert format_stet_datetime(value) == text
    assert parse_stet_datetime(text) == value


def test_require_millis_keeps_to_the_portal_grammar() -> None:
    """The portal's three formats all carry .SSS; its strict reading refuses the others."""
    assert parse_stet_datetime("2024-03-05T01:02:03.004+01:00", require_millis=True).minute == 2
    with pytest.raises(ValueError, match="no milliseconds"):
        parse_stet_datetime("2024-03-05T01:02:03Z", require_millis=True)
    assert parse_stet_datetime("2024-03-05T01:02:03Z").second == 3  # the lenient default


def test_a_value_without_offset_is_read_in_the_local_zone() -> None:
    paris = zoneinfo.ZoneInfo("Europe/Paris")
    local = parse_stet_datetime("2024-07-01T00:30:00.000", local=paris)
    assert local.astimezone(dt.UTC) == dt.datetime(2024, 6, 30, 22, 30, tzinfo=dt.UTC)
    assert parse_stet_datetime("2024-07-01T00:30:00.000").tzinfo == dt.UTC
    assert parse_stet_datetime("2024-07-01T00:30:00.000Z", local=paris).tzinfo == dt.UTC
