"""Data assertions on response bodies (``expect.data``): values, dates, signs, counts.

Each assertion names a path (see ``paths``) and one or more operators, applied to every value the
path yields. A path that yields nothing fails unless ``allow_no_match`` is set, so an assertion
can never pass vacuously by accident; ``if_present`` checks an optional field only where it is
given (a missing or null value is an absent field). ``unique`` compares the values given: an
absent, null or empty optional field is not a value, so empties may repeat. ``empty: true``
wants every value empty (absent, null, "", [] or {}), ``empty: some`` at least one.
``decimal_equals`` compares amounts as decimals ("10.0" and "10" equal "10.00": STET amounts
are decimal numbers written as text). Ordering compares numbers as decimals and dates by
calendar day (a date-time against a date uses its UTC date), otherwise as text.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import unquote, urlsplit

from stet_conformance.checks.base import CheckContext, Failure
from stet_conformance.checks.paths import MISSING, PathSyntaxError, resolve
from stet_conformance.shared.dates import parse_stet_datetime

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_OPTIONS = ("path", "allow_no_match", "if_present", "if_declared")
_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T")
_URI_TEMPLATE = re.compile(r"\{[^{}]*\}$")  # a trailing RFC 6570 expression: {?dateFrom,dateTo}


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None  # NaN and Infinity are not amounts


def _comparable(left: Any, right: Any) -> tuple[Any, Any]:
    dl, dr = _decimal(left), _decimal(right)
    if dl is not None and dr is not None:
        return dl, dr
    if (dl is None) != (dr is None):  # e.g. "NaN" against 0: neither order holds
        raise TypeError("a number compared with something that is not a number")
    if isinstance(left, str) and isinstance(right, str):
        kinds = (_date_kind(left), _date_kind(right))
        if None not in kinds:
            if kinds == ("datetime", "datetime"):
                return parse_stet_datetime(left), parse_stet_datetime(right)
            return _as_date(left), _as_date(right)
    return str(left), str(right)


def _date_kind(text: str) -> str | None:
    if _DATE.match(text):
        return "date"
    if _DATETIME.match(text):
        return "datetime"
    return None


def _as_date(text: str) -> dt.date:
    if _DATE.match(text):
        return dt.date.fromisoformat(text)
    return parse_stet_datetime(text).astimezone(dt.UTC).date()


def _order(op: Callable[[Any, Any], bool], symbol: str) -> Callable[[Any, Any], str | None]:
    def check(value: Any, bound: Any) -> str | None:
        try:
            left, right = _comparable(value, bound)
            ok = op(left, right)
        except (TypeError, ValueError):
            ok = False
        return None if ok else f"{value!r} is not {symbol} {bound!r}"

    return check


def _sign(value: Any, wanted: str) -> str | None:
    number = _decimal(value)
    if number is None:
        return f"{value!r} is not a number"
    got = "negative" if number < 0 else "zero" if number == 0 else "positive"
    return None if got == wanted else f"{value!r} is {got}, expected {wanted}"


def _matches(value: Any, pattern: str) -> str | None:
    """A pattern from a template or a profile override is only known here: a bad one fails."""
    try:
        found = isinstance(value, str) and re.fullmatch(pattern, value)
    except re.error as exc:
        return f"matches: /{pattern}/ is not a regular expression ({exc})"
    return None if found else f"{value!r} does not match /{pattern}/"


def _is_empty(value: Any) -> bool:
    return value is MISSING or value in (None, "", [], {})


def _points_to(value: Any, wanted: str) -> str | None:
    """A HAL href names the resource ``wanted`` (a path such as /accounts/X/balances) whether the
    bank writes it absolute or relative, templated or not: its path ends with ``wanted``."""
    if not isinstance(value, str):
        return f"{value!r} is not an href"
    path = unquote(urlsplit(_URI_TEMPLATE.sub("", value)).path).rstrip("/")
    target = "/" + unquote(wanted).strip("/")
    if path == target.lstrip("/") or path.endswith(target):
        return None
    return f"{value!r} does not point to {target}"


def _empty(value: Any, _: Any) -> str | None:
    return None if _is_empty(value) else f"{value!r} is not empty"


def _decimal_equals(value: Any, wanted: Any) -> str | None:
    """The same decimal number, however written: "10.0" == "10" == "10.00"."""
    left, right = _decimal(value), _decimal(wanted)
    if left is None or right is None:
        return f"{value!r} and {wanted!r} are not both decimal numbers"
    return None if left == right else f"{value!r} != {wanted!r} (as decimals)"


def _length(op: Callable[[int, int], bool], symbol: str) -> Callable[[Any, Any], str | None]:
    def check(value: Any, bound: Any) -> str | None:
        if not isinstance(value, (list, dict, str)):
            return f"{value!r} has no length"
        return (
            None if op(len(value), int(bound)) else f"length {len(value)} is not {symbol} {bound}"
        )

    return check


PER_VALUE: dict[str, Callable[[Any, Any], str | None]] = {
    "equals": lambda v, w: None if v == w else f"{v!r} != {w!r}",
    "not_equals": lambda v, w: None if v != w else f"{v!r} == {w!r}",
    "decimal_equals": _decimal_equals,
    "in": lambda v, w: None if v in w else f"{v!r} is not one of {w!r}",
    "matches": _matches,
    "points_to": _points_to,
    "gte": _order(lambda a, b: a >= b, ">="),
    "gt": _order(lambda a, b: a > b, ">"),
    "lte": _order(lambda a, b: a <= b, "<="),
    "lt": _order(lambda a, b: a < b, "<"),
    "sign": _sign,
    "length": _length(lambda a, b: a == b, "=="),
    "length_lte": _length(lambda a, b: a <= b, "<="),
    "length_gte": _length(lambda a, b: a >= b, ">="),
    "exists": lambda v, _: "missing" if v is MISSING else None,
    "empty": _empty,
}


def _over_all(values: list[Any], operator: str, operand: Any) -> str | None:
    if operator == "empty":  # empty: some
        return None if any(_is_empty(v) for v in values) else "no value is empty"
    if operator == "contains":
        return None if operand in values else f"no value equals {operand!r}"
    if operator == "order":
        present = [v for v in values if v is not MISSING]
        try:
            pairs = [_comparable(a, b) for a, b in itertools.pairwise(present)]
            broken = [
                i for i, (a, b) in enumerate(pairs) if (a > b if operand == "ascending" else a < b)
            ]
        except (TypeError, ValueError):
            return "values cannot be ordered"
        return f"not {operand} at #{broken[0] + 1}: {present[broken[0] + 1]!r}" if broken else None
    if operator == "unique":
        present = [repr(v) for v in values if v is not MISSING and v not in (None, "")]
        duplicates = sorted({v for v in present if present.count(v) > 1})
        return f"duplicates: {', '.join(duplicates[:5])}" if duplicates else None
    return None


def evaluate(body: Any, assertion: dict[str, Any]) -> list[str]:
    """Messages for every way ``body`` breaks ``assertion`` (empty: it holds)."""
    path = assertion["path"]
    try:
        values = resolve(body, path)
    except PathSyntaxError as exc:
        return [str(exc)]
    if not values:
        return [] if assertion.get("allow_no_match") else [f"{path}: nothing at this path"]
    if assertion.get("if_present"):
        values = [v for v in values if v is not MISSING and v is not None]
    problems: list[str] = []
    for operator, operand in assertion.items():
        if operator in _OPTIONS:
            continue
        if operator in ("contains", "unique", "order") or (operator, operand) == ("empty", "some"):
            message = _over_all(values, operator, operand)
            if message:
                problems.append(f"{path}: {message}")
            continue
        check = PER_VALUE[operator]
        bad = []
        for index, value in enumerate(values):
            if value is MISSING and operator not in ("exists", "empty"):
                bad.append(f"#{index}: missing")
                continue
            message = check(value, operand)
            if message:
                bad.append(f"#{index}: {message}")
        if bad:
            more = f" (and {len(bad) - 3} more)" if len(bad) > 3 else ""
            problems.append(f"{path} {operator}: {'; '.join(bad[:3])}{more}")
    return problems


def check_data(ctx: CheckContext) -> list[Failure]:
    assertions = ctx.expect.data
    if not assertions:
        return []
    try:
        body = ctx.exchange.body
    except ValueError:
        return [Failure("data", "the body is not valid JSON")]
    return [Failure("data", m) for a in assertions for m in evaluate(body, a)]
