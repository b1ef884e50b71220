"""Hypothesis strategies, each named after the grammar it generates.

Valid values follow the seed portal's dateFrom/dateTo grammar (``shared.dates``) and the swagger's
header rules; near-misses are one edit away from valid, because that is where parsers break
(``\\d`` matching Arabic-Indic digits, hour 25, an offset read with the wrong sign). Between the
two lie values other standards allow but the portal's grammar does not (RFC 3339 without
milliseconds, ISO 8601's ``24:00``...): a bank may serve or refuse those.
"""

from __future__ import annotations

import datetime as dt
import string
from dataclasses import dataclass

from hypothesis import strategies as st

# ---------------------------------------------------------------- dates (seed grammar)

MAX_OFFSET_MINUTES = 23 * 60 + 59
# The portal's three formats (all with .SSS): Z, +HHMM or +HH:MM, or no offset at all (local time).
OFFSET_STYLES = ("Z", "+HHMM", "+HH:MM", "none")
ZONED_STYLES = ("Z", "+HHMM", "+HH:MM")  # the instant is known without the bank's time zone
# Non-ASCII decimal digits (Unicode category Nd): Arabic-Indic, Devanagari, fullwidth, Bengali.
UNICODE_ZEROS = (0x0660, 0x0966, 0xFF10, 0x09E6, 0x06F0)


@dataclass(frozen=True)
class StetDateTime:
    """A generated dateFrom/dateTo: its text and the instant it denotes."""

    text: str
    instant: dt.datetime


def format_offset(minutes: int, colon: bool) -> str:
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}{':' if colon else ''}{mins:02d}"


@st.composite
def utc_offsets(draw: st.DrawFn) -> int:
    """An offset in minutes: the real-world ones often, any +-23:59 sometimes."""
    real = st.sampled_from([-720, -600, -480, -300, -210, -60, 0, 60, 120, 330, 345, 540, 840])
    return draw(st.one_of(real, st.integers(-MAX_OFFSET_MINUTES, MAX_OFFSET_MINUTES)))


@st.composite
def stet_datetimes(
    draw: st.DrawFn, lo: dt.datetime, hi: dt.datetime, styles: tuple[str, ...] = OFFSET_STYLES
) -> StetDateTime:
    """``YYYY-MM-DDTHH:MM:SS.SSS(Z|+HHMM|+HH:MM|)``, with negative offsets, in [lo, hi].

    The portal's grammar: milliseconds always. Without an offset the value is written in UTC
    and ``instant`` reads it so; the bank may read it in its own time zone (local time).
    """
    start = lo.replace(microsecond=0) + dt.timedelta(seconds=1 if lo.microsecond else 0)
    span = max(0, int((hi - start).total_seconds()) - 1)  # whole seconds plus millis stay <= hi
    millis = draw(st.integers(0, 999))
    instant = start + dt.timedelta(seconds=draw(st.integers(0, span)), milliseconds=millis)
    style = draw(st.sampled_from(styles))
    minutes = 0 if style in ("Z", "none") else draw(utc_offsets())
    local = instant.astimezone(dt.timezone(dt.timedelta(minutes=minutes)))
    text = local.strftime("%Y-%m-%dT%H:%M:%S") + f".{millis:03d}"
    if style == "Z":
        text += "Z"
    elif style != "none":
        text += format_offset(minutes, colon=style == "+HH:MM")
    return StetDateTime(text, instant)


def _set(text: str, start: int, value: str) -> str:
    return text[:start] + value + text[start + len(value) :]


def _unicode_digits(draw: st.DrawFn, text: str) -> str:
    positions = [i for i, ch in enumerate(text) if ch in string.digits]
    chosen = draw(st.lists(st.sampled_from(positions), min_size=1, max_size=4, unique=True))
    zero = draw(st.sampled_from(UNICODE_ZEROS))
    chars = list(text)
    for i in chosen:
        chars[i] = chr(zero + int(chars[i]))
    return "".join(chars)


INJECTIONS = (
    "' OR '1'='1",
    "2026-01-01T00:00:00Z' --",
    "<script>alert(1)</script>",
    "${jndi:ldap://example.invalid/a}",
    "../../../../etc/passwd",
    "2026-01-01T00:00:00Z\x00",
    "%00",
    "{{7*7}}",
    "2026-01-01T00:00:00Z;DROP TABLE transactions",
    "null",
    "[object Object]",
    "NaN",
)
NEAR_MISS_KINDS = (
    "month",
    "day",
    "calendar-day",
    "hour",
    "minute-second",
    "missing-T",
    "two-digit-year",
    "unicode-digits",
    "empty",
    "very-long",
    "injection",
    "offset",
    "fraction",
)


@st.composite
def near_miss_datetimes(draw: st.DrawFn, kind: str | None = None) -> str:
    """A dateFrom/dateTo one edit away from the grammar and valid in no standard either (month
    13, hour 25, Arabic digits...): every bank must refuse it."""
    kind = kind or draw(st.sampled_from(NEAR_MISS_KINDS))
    lo = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    base = draw(stet_datetimes(lo, dt.datetime(2099, 1, 1, tzinfo=dt.UTC))).text
    if kind == "month":
        return _set(base, 5, draw(st.sampled_from(["00", "13", "19", "99"])))
    if kind == "day":
        return _set(base, 8, draw(st.sampled_from(["00", "32", "40", "99"])))
    if kind == "calendar-day":
        year = draw(st.integers(2001, 2099).filter(lambda y: y % 4 != 0))
        day = draw(st.sampled_from([f"{year}-02-29", "2026-02-30", "2026-04-31", "2026-11-31"]))
        return day + base[10:]
    if kind == "hour":
        return _set(base, 11, str(draw(st.integers(25, 99))))
    if kind == "minute-second":  # a second of 60 is a leap second (RFC 3339): not a near miss
        position = draw(st.sampled_from([14, 17]))
        return _set(base, position, str(draw(st.integers(60 if position == 14 else 61, 99))))
    if kind == "missing-T":
        return base[:10] + draw(st.sampled_from(["", "_", "TT", "/"])) + base[11:]
    if kind == "two-digit-year":
        return base[2:]
    if kind == "unicode-digits":
        return _unicode_digits(draw, base)
    if kind == "empty":
        return draw(st.sampled_from([" ", "T", "Z"]))
    if kind == "very-long":
        junk = draw(st.sampled_from(["0", "9", "Z", "A", ":"]))
        return base + junk * draw(st.integers(64, 2048))
    if kind == "injection":
        return draw(st.sampled_from(INJECTIONS))
    if kind == "offset":
        stem = base[:23] if len(base) >= 23 and base[19] == "." else base[:19]
        bad = st.sampled_from(["+24:00", "-24:00", "+23:60", "+0160", "+1:00", "UTC"])
        return stem + draw(bad)
    # fraction: a separator without digits, or digits that are not
    return base[:19] + "." + draw(st.sampled_from(["", "1a2", "-12", "+5"])) + "Z"


OUTSIDE_GRAMMAR_KINDS = (
    "no-millis",
    "fraction-digits",
    "lowercase",
    "space",
    "hour-offset",
    "leap-second",
    "end-of-day",
    "empty",
)


@st.composite
def outside_grammar_datetimes(
    draw: st.DrawFn, lo: dt.datetime, hi: dt.datetime, kind: str | None = None
) -> str:
    """A value RFC 3339 or ISO 8601 allows but the portal's grammar does not: no milliseconds,
    1-2 or 4-7 fraction digits, ``t``/``z`` or a space, an hour-only offset, a leap second,
    ``24:00`` (end of day), or empty (read as absent). A bank may serve or refuse it."""
    kind = kind or draw(st.sampled_from(OUTSIDE_GRAMMAR_KINDS))
    base = draw(stet_datetimes(lo, hi, styles=("Z",))).text  # YYYY-MM-DDTHH:MM:SS.SSSZ
    if kind == "no-millis":
        return base[:19] + draw(st.sampled_from(["Z", "+00:00", "+0000", ""]))
    if kind == "fraction-digits":
        digits = draw(st.sampled_from(["1", "12", "1234", "123456", "1234567"]))
        return base[:19] + "." + digits + "Z"
    if kind == "lowercase":
        return (base[:10] + "t" + base[11:]).lower()
    if kind == "space":
        return base[:10] + " " + base[11:]
    if kind == "hour-offset":
        return base[:23] + draw(st.sampled_from(["+00", "+01", "-05"]))
    if kind == "leap-second":
        return base[:17] + "60" + base[19:]
    if kind == "end-of-day":
        return base[:11] + "24:00:00.000Z"
    return ""


@dataclass(frozen=True)
class DateWindow:
    """A dateFrom/dateTo pair; either may be absent."""

    date_from: StetDateTime | None
    date_to: StetDateTime | None

    def params(self) -> dict[str, str]:
        params = {}
        if self.date_from is not None:
            params["dateFrom"] = self.date_from.text
        if self.date_to is not None:
            params["dateTo"] = self.date_to.text
        return params


@st.composite
def date_windows(
    draw: st.DrawFn,
    earliest: dt.datetime,
    latest: dt.datetime,
    ordered: bool = True,
    future_after: dt.datetime | None = None,
    styles: tuple[str, ...] = ZONED_STYLES,
) -> DateWindow:
    """[dateFrom, dateTo) inside [earliest, latest]; ``ordered`` keeps dateFrom <= dateTo.

    With ``future_after`` (the caller's "now", fixed for the test), a third of the dateTo values
    lie after it: future windows are legal and are where a bank's "dateTo <= today" check shows.
    """
    date_from = draw(st.none() | stet_datetimes(earliest, latest, styles))
    low = date_from.instant if ordered and date_from is not None else earliest
    future = max(low, future_after or latest)
    choices = [st.none(), stet_datetimes(low, latest, styles)]
    if future < latest:
        choices.append(stet_datetimes(future, latest, styles))
    date_to = draw(st.one_of(choices))
    return DateWindow(date_from, date_to)


# ---------------------------------------------------------------- headers

VISIBLE_ASCII = "".join(chr(c) for c in range(0x21, 0x7F))


@st.composite
def request_ids(draw: st.DrawFn, min_size: int = 1, max_size: int = 70) -> str:
    """X-Request-ID: 1-70 visible ASCII, inner spaces allowed, none leading or trailing."""
    size = draw(st.integers(min_size, max_size))
    if size == 1:
        return draw(st.sampled_from(VISIBLE_ASCII))
    edge = st.sampled_from(VISIBLE_ASCII)
    inner = draw(st.text(alphabet=VISIBLE_ASCII + " ", min_size=size - 2, max_size=size - 2))
    return draw(edge) + inner + draw(edge)


def oversize_request_ids() -> st.SearchStrategy[str]:
    """X-Request-ID longer than the swagger's maxLength 70."""
    return request_ids(min_size=71, max_size=300)


@st.composite
def psu_ip_addresses(draw: st.DrawFn) -> tuple[str, str]:
    """(kind, value): an IPv4 or IPv6 address, or garbage a PSU's proxy might forward."""
    kind = draw(st.sampled_from(["ipv4", "ipv6", "garbage"]))
    if kind == "ipv4":
        return kind, str(draw(st.ip_addresses(v=4)))
    if kind == "ipv6":
        return kind, str(draw(st.ip_addresses(v=6)))
    garbage = st.sampled_from(
        [
            "unknown",
            "256.1.1.1",
            "1.2.3",
            "::ffff:999.1.1.1",
            "localhost",
            "-",
            "10.0.0.1, 10.0.0.2",
        ]
    )
    return kind, draw(garbage | request_ids(max_size=40))


@st.composite
def accept_headers(draw: st.DrawFn) -> str:
    """Accept values a client may send: exotic, wildcard, with parameters, or nonsense."""
    fixed = st.sampled_from(
        [
            "*/*",
            "application/*",
            "application/json",
            "application/hal+json",
            "application/hal+json; charset=utf-8",
            "application/json;q=0.9, */*;q=0.1",
            "text/html",
            "application/xml",
            "image/png",
            "",
            "garbage",
            "application/json; charset=ebcdic",
        ]
    )
    return draw(fixed | request_ids(max_size=60))


# Content-Type of a JSON body: "json" must be accepted, "other" refused (400/415), "either" may be.
JSON_CONTENT_TYPES = (
    "application/json",
    "application/json; charset=utf-8",
    "application/json;charset=UTF-8",
    "Application/JSON",
    "APPLICATION/JSON; CHARSET=utf-8",
)
EITHER_CONTENT_TYPES = (
    "application/json; charset=iso-8859-1",
    "application/json; charset=ebcdic",
    "application/hal+json",
    "application/merge-patch+json",
    "text/json",
)
OTHER_CONTENT_TYPES = (
    "text/plain",
    "text/plain; charset=utf-8",
    "application/xml",
    "text/xml; charset=utf-8",
    "multipart/form-data; boundary=stet-fuzz",
    "application/x-www-form-urlencoded",
    "application/octet-stream",
    "",
    "garbage",
    "application",
    "/",
    ";charset=utf-8",
)


@st.composite
def content_types(draw: st.DrawFn) -> tuple[str, str]:
    """(kind, Content-Type) for a JSON body: kind is json, either or other (see above)."""
    kind = draw(st.sampled_from(["json", "either", "other"]))
    if kind == "json":
        return kind, draw(st.sampled_from(JSON_CONTENT_TYPES))
    if kind == "either":
        return kind, draw(st.sampled_from(EITHER_CONTENT_TYPES))
    anything = request_ids(max_size=40).filter(lambda v: "json" not in v.lower())
    return kind, draw(st.sampled_from(OTHER_CONTENT_TYPES) | anything)


# ---------------------------------------------------------------- tokens

TOKEN68 = string.ascii_letters + string.digits + "-._~+/"


@st.composite
def unknown_bearer_tokens(draw: st.DrawFn) -> str:
    """A syntactically fine bearer token (RFC 6750 token68) the bank never issued."""
    body = draw(st.text(alphabet=TOKEN68, min_size=1, max_size=120))
    return body + "=" * draw(st.integers(0, 2))


@st.composite
def malformed_authorizations(draw: st.DrawFn) -> str:
    """An Authorization header that is not ``Bearer <token68>``."""
    token = draw(unknown_bearer_tokens())
    bad_chars = st.text(alphabet=" \"',;:@\\()<>{}[]?!#$%&*|^`", min_size=1, max_size=3)
    choice = draw(st.sampled_from(["chars", "scheme", "bare", "spaces", "json"]))
    if choice == "chars":
        cut = draw(st.integers(0, len(token)))
        return f"Bearer {token[:cut]}{draw(bad_chars)}{token[cut:]}x"
    if choice == "scheme":
        scheme = draw(st.sampled_from(["Basic", "Token", "Bearer:", "Bearr", "JWT", "MAC"]))
        return f"{scheme} {token}"
    if choice == "bare":
        return draw(st.sampled_from(["Bearer", "Bearer:", token]))
    if choice == "spaces":
        return f"Bearer {token} {token}"
    return 'Bearer {"access_token": "' + token + '"}'


# ---------------------------------------------------------------- signatures

SIGNATURE_MUTATIONS = (
    "missing-signature",
    "wrong-algorithm",
    "unknown-key-id",
    "malformed-signature",
    "unsigned-header",
    "body-changed",
    "other-key",
    "stale-date",
)
# Algorithms the QSEAL's RSA key cannot have made: refused by every bank.
WRONG_ALGORITHMS = ("hmac-sha256", "ecdsa-sha256", "ed25519", "none")
# RSA labels other than rsa-sha256, or none: a bank may derive the algorithm from the key
# (draft-cavage-12 2.1.3) and verify the signature, or refuse the label.
RSA_ALGORITHM_LABELS = ("rsa-sha1", "rsa-sha512", "")


@st.composite
def key_ids(draw: st.DrawFn, valid: str) -> str:
    """A keyId that designates no registered QSEAL: other fingerprint, serial or free text."""
    fingerprint = draw(st.text(alphabet="0123456789abcdef", min_size=64, max_size=64))
    prefix = valid.rsplit("_", 1)[0] if "_" in valid else "https://tpp.example/certs/qseal"
    serial = draw(st.integers(1, 2**64))
    choice = draw(
        st.sampled_from(
            [
                f"{prefix}_{fingerprint}",
                f"SN={serial:x},CA=CN=Unknown CA",
                "https://tpp.example/certs/",
                valid + "x",
                "qseal",
            ]
        )
    )
    return choice if choice != valid else choice + "0"


@st.composite
def malformed_signature_headers(draw: st.DrawFn, key_id: str) -> str:
    """A Signature header that does not parse: no quotes, no keyId, non-base64 value..."""
    signature = "QUFB" * draw(st.integers(1, 90))
    return draw(
        st.sampled_from(
            [
                f"keyId={key_id},algorithm=rsa-sha256,signature={signature}",
                f'algorithm="rsa-sha256",headers="(request-target) digest",signature="{signature}"',
                f'keyId="{key_id}",algorithm="rsa-sha256",headers="(request-target) digest"',
                f'keyId="{key_id}",algorithm="rsa-sha256",signature="not base64!"',
                f'keyId="",algorithm="rsa-sha256",signature="{signature}"',
                f'keyId="{key_id}" algorithm="rsa-sha256" signature="{signature}"',
                "Signature",
            ]
        )
    )
