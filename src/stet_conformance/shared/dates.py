"""The date grammar of dateFrom/dateTo as the Banque BCP portal documents it.

Allowed: ``YYYY-MM-DDTHH:MM:SS.SSS`` optionally followed by ``Z``, ``+HHMM`` or ``+HH:MM`` (and
the negative offsets). The portal writes the milliseconds in all three formats; this parser
also reads values without them (RFC 3339 makes fractions optional) unless ``require_millis``.
A value without an offset is read in ``local`` (UTC by default). Plain dates (``YYYY-MM-DD``)
are not in the portal's grammar; targets that accept them say so in their profile. Only ASCII
digits count as digits.
"""

from __future__ import annotations

import datetime as dt
import re

_DATETIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{3}))?"
    r"(Z|[+-][0-9]{2}:?[0-9]{2})?"
)
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")


def parse_stet_datetime(
    value: str,
    *,
    allow_plain_date: bool = False,
    local: dt.tzinfo = dt.UTC,
    require_millis: bool = False,
) -> dt.datetime:
    """Parse a dateFrom/dateTo value into an aware datetime; ``ValueError`` when invalid."""
    match = _DATETIME.fullmatch(value)
    if match is not None and require_millis and match.group(7) is None:
        raise ValueError(f"no milliseconds: {value[:40]!r}")
    if match is None:
        date_match = _DATE.fullmatch(value) if allow_plain_date else None
        if date_match is None:
            raise ValueError(f"not a STET date-time: {value[:40]!r}")
        year, month, day = (int(part) for part in date_match.groups())
        return dt.datetime(year, month, day, tzinfo=dt.UTC)
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    millis = int(match.group(7) or 0)
    return dt.datetime(
        year, month, day, hour, minute, second, millis * 1000, tzinfo=_offset(match.group(8), local)
    )


def _offset(text: str | None, local: dt.tzinfo) -> dt.tzinfo:
    if text is None:
        return local
    if text == "Z":
        return dt.UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 23 or minutes > 59:
        raise ValueError(f"bad UTC offset: {text!r}")
    return dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))


def format_stet_datetime(value: dt.datetime) -> str:
    """Format as ``YYYY-MM-DDTHH:MM:SS.SSS+HH:MM`` (the portal's third format)."""
    text = value.isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z") if text.endswith("+00:00") else text


def day_start(day: dt.date, zone: dt.tzinfo) -> dt.datetime:
    """00:00 of ``day`` in ``zone``: where a bank imputing at midnight local time starts a day.

    Neither the portal nor STET says at which instant a transaction dated D is imputed; a bank
    in Paris may impute it at 00:00 Europe/Paris (D-1 at 23:00 or 22:00 UTC).
    """
    return dt.datetime.combine(day, dt.time(), tzinfo=zone)
