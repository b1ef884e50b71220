"""The path language (checks.paths) and data assertions (checks.data)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from stet_conformance.checks.base import CheckContext
from stet_conformance.checks.data import check_data, evaluate
from stet_conformance.checks.expect import Expect
from stet_conformance.checks.paths import MISSING, PathSyntaxError, resolve
from stet_conformance.checks.schemas import default_store
from stet_conformance.http.client import Exchange

BODY: dict[str, Any] = {
    "accounts": [
        {"resourceId": "A1", "name": "LEA", "balance": {"amount": "-150.00"}, "tags": ["x"]},
        {"resourceId": "A2", "name": "LEA", "balance": {"amount": "12.5"}},
        {"resourceId": "A3", "name": "", "balance": None, "usage": "ORGA"},
    ],
    "total": 3,
    "meta": {"page": {"size": 50}, "empty": []},
}


# --- paths --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("total", [3]),
        ("meta.page.size", [50]),
        ("accounts[0].resourceId", ["A1"]),
        ("accounts[-1].resourceId", ["A3"]),
        ("accounts[1].balance.amount", ["12.5"]),
        ("accounts[*].resourceId", ["A1", "A2", "A3"]),
        ("accounts[*].balance.amount", ["-150.00", "12.5"]),  # A3's balance is null
        ("accounts[name=LEA].resourceId", ["A1", "A2"]),
        ("accounts[resourceId=A3].usage", ["ORGA"]),
        ("accounts[name=].resourceId", ["A3"]),
        ("accounts[*].tags[0]", ["x"]),
        ("meta.empty[*]", []),
    ],
)
def test_resolve(path: str, expected: list[Any]) -> None:
    assert resolve(BODY, path) == expected


def test_missing_key_at_the_end_yields_missing_per_item() -> None:
    assert resolve(BODY, "total[0]") == [MISSING]
    assert resolve(BODY, "accounts[*].usage") == [MISSING, MISSING, "ORGA"]
    assert resolve(BODY, "nothing") == [MISSING]
    assert resolve(BODY, "meta.page.nothing") == [MISSING]
    assert resolve(BODY, "accounts[7]") == [MISSING]
    assert repr(MISSING) == "<missing>"


@pytest.mark.parametrize(
    "path",
    [
        "nothing.below",
        "meta.nothing.size",
        "accounts[7].resourceId",
        "accounts[name=BOB].resourceId",
        "total[*]",
        "total.x",
        "meta[name=x]",
        "accounts.resourceId",
    ],
)
def test_missing_intermediate_yields_nothing(path: str) -> None:
    assert resolve(BODY, path) == []


def test_resolve_on_a_top_level_list() -> None:
    assert resolve([{"a": 1}, {"a": 2}], "[*].a") == [1, 2]
    assert resolve([{"a": 1}, {"b": 2}], "[1].b") == [2]


@pytest.mark.parametrize("path", ["accounts[", "accounts[]", "a..b", "a[0"])
def test_path_syntax_errors(path: str) -> None:
    with pytest.raises(PathSyntaxError, match="cannot parse path"):
        resolve(BODY, path)


# --- data operators -----------------------------------------------------------------------------


def _ok(body: Any, **assertion: Any) -> None:
    assert evaluate(body, {"path": "v", **assertion}) == []


def _bad(body: Any, fragment: str = "", **assertion: Any) -> list[str]:
    problems = evaluate(body, {"path": "v", **assertion})
    assert problems, f"expected {assertion} to fail on {body}"
    assert fragment in " ".join(problems)
    return problems


def test_equals_and_not_equals() -> None:
    _ok({"v": "EUR"}, equals="EUR")
    _bad({"v": "USD"}, "'USD' != 'EUR'", equals="EUR")
    _bad({"v": "1"}, equals=1)  # no type coercion
    _ok({"v": "EUR"}, not_equals="USD")
    _bad({"v": "EUR"}, "'EUR' == 'EUR'", not_equals="EUR")


def test_in() -> None:
    _ok({"v": "CACC"}, **{"in": ["CACC", "CARD"]})
    _bad({"v": "LOAN"}, "is not one of", **{"in": ["CACC", "CARD"]})


def test_matches_is_a_full_match_on_strings_only() -> None:
    _ok({"v": "FR7612579000920400430518020"}, matches=r"FR[0-9]{25}")
    _bad({"v": "FR76xx"}, "does not match", matches=r"FR[0-9]+")
    _bad({"v": "xFR76"}, matches=r"FR[0-9]+")
    _bad({"v": 123}, matches=r"[0-9]+")


@pytest.mark.parametrize(
    "href",
    [
        "/stet/psd2/v1.4.2/accounts/A%201/balances",  # relative, percent-encoded
        "https://bank.example/stet/psd2/v1.4.2/accounts/A 1/balances",  # absolute (a variant)
        "v1/accounts/A 1/balances/",  # STET's examples: no leading slash, a trailing one
        "accounts/A 1/balances",  # exactly the path, relative
        "/accounts/A 1/balances?page=2",  # a query is not the resource
        "/accounts/A 1/balances{?dateFrom,dateTo}",  # an RFC 6570 template
    ],
)
def test_points_to_accepts_every_way_to_write_the_resource(href: str) -> None:
    _ok({"v": href}, points_to="/accounts/A 1/balances")


@pytest.mark.parametrize(
    "href",
    [
        "/stet/psd2/v1.4.2/accounts",  # the parent list
        "/accounts/A 2/balances",  # another account
        "/accounts/A 1/transactions",  # another resource of the account
        "/xaccounts/A 1/balances",  # the path ends with it, not on a segment boundary
        "https://bank.example/other?next=/accounts/A 1/balances",  # only the query names it
    ],
)
def test_points_to_refuses_another_resource(href: str) -> None:
    _bad(
        {"v": href}, "does not point to /accounts/A 1/balances", points_to="/accounts/A 1/balances"
    )


def test_points_to_refuses_a_link_that_is_not_an_href() -> None:
    _bad({"v": {"href": "/accounts"}}, "is not an href", points_to="/accounts")


def test_a_bad_pattern_known_only_at_run_time_fails_the_check() -> None:
    """A templated ``matches:`` or a profile override's: no re.error traceback."""
    _bad({"v": "x"}, "matches: /(unclosed/ is not a regular expression", matches="(unclosed")


def test_numeric_order_uses_decimals_not_text() -> None:
    _ok({"v": "10.00"}, gt="9.5")  # text comparison would say "10.00" < "9.5"
    _ok({"v": "-150.00"}, lt=0)
    _ok({"v": "12.50"}, gte="12.5")
    _ok({"v": "12.50"}, lte=12.5)
    _bad({"v": "12.50"}, "is not > ", gt="12.5")
    _bad({"v": 3}, "is not < ", lt=3)
    _bad({"v": "1e3"}, lte=999)


def test_date_order() -> None:
    _ok({"v": "2024-03-01"}, gte="2024-02-29")
    _bad({"v": "2024-02-28"}, gte="2024-02-29")
    _ok({"v": "2024-03-01T10:00:00.000+02:00"}, lt="2024-03-01T09:00:00Z")
    _bad({"v": "2024-03-01T10:00:00.000+02:00"}, gt="2024-03-01T09:00:00Z")


def test_date_time_against_a_date_uses_the_utc_date() -> None:
    # 23:30 at -02:00 is already the next day in UTC
    _ok({"v": "2024-01-01T23:30:00.000-02:00"}, gte="2024-01-02")
    _bad({"v": "2024-01-01T23:30:00.000-02:00"}, lte="2024-01-01")
    _ok({"v": "2024-01-01T23:59:59Z"}, lte="2024-01-01")
    # midnight at +05:00 is still 2023-12-31 in UTC
    _bad({"v": "2024-01-01"}, lte="2024-01-01T00:00:00+05:00")
    _ok({"v": "2023-12-31"}, equals="2023-12-31", gte="2024-01-01T00:00:00+05:00")


def test_invalid_dates_fail_order_comparisons_instead_of_raising() -> None:
    _bad({"v": "2024-13-01T00:00:00Z"}, "is not >=", gte="2024-01-01T00:00:00Z")


def test_a_number_and_a_non_number_never_order() -> None:
    _bad({"v": "abc"}, gt=5)
    _bad({"v": "abc"}, lt=5)
    _bad({"v": 5}, gte="abc")
    _bad({"v": "2024-01-01"}, gt="abc")  # a date and text compare as text


def test_text_order_as_a_fallback() -> None:
    _ok({"v": "b"}, gt="a")
    _bad({"v": "a"}, gt="b")


@pytest.mark.parametrize(
    ("value", "sign"),
    [("-0.01", "negative"), ("0.00", "zero"), ("-0", "zero"), (0, "zero"), ("2318.09", "positive")],
)
def test_sign(value: Any, sign: str) -> None:
    _ok({"v": value}, sign=sign)
    for other in {"negative", "zero", "positive"} - {sign}:
        _bad({"v": value}, f"expected {other}", sign=other)


def test_sign_of_a_non_number() -> None:
    _bad({"v": "abc"}, "is not a number", sign="zero")
    _bad({"v": True}, "is not a number", sign="positive")
    _bad({"v": None}, "is not a number", sign="zero")


def test_nan_amount_fails_instead_of_crashing() -> None:
    _bad({"v": "NaN"}, sign="positive")
    _bad({"v": "NaN"}, gte=0)


def test_lengths() -> None:
    _ok({"v": [1, 2]}, length=2)
    _ok({"v": "abcd"}, length="4")  # string bound (templated)
    _bad({"v": [1, 2]}, "length 2 is not == 3", length=3)
    _ok({"v": {"a": 1}}, length_lte=1)
    _bad({"v": "abc"}, "length 3 is not <= 2", length_lte=2)
    _ok({"v": [1, 2, 3]}, length_gte=3)
    _bad({"v": []}, "length 0 is not >= 1", length_gte=1)
    _bad({"v": 12}, "has no length", length=2)


def test_exists() -> None:
    _ok({"v": None}, exists=True)
    _ok({"v": ""}, exists=True)
    _bad({}, "missing", exists=True)


@pytest.mark.parametrize("body", [{}, {"v": ""}, {"v": None}, {"v": []}, {"v": {}}])
def test_empty_passes(body: dict[str, Any]) -> None:
    _ok(body, empty=True)


@pytest.mark.parametrize("value", ["x", 0, False, [None], {"a": None}])
def test_empty_fails(value: Any) -> None:
    _bad({"v": value}, "is not empty", empty=True)


def test_empty_over_a_fan_out_with_missing_keys() -> None:
    body = {"t": [{"ref": ""}, {}, {"ref": None}]}
    assert evaluate(body, {"path": "t[*].ref", "empty": True}) == []
    body["t"].append({"ref": "E1"})
    assert evaluate(body, {"path": "t[*].ref", "empty": True}) == [
        "t[*].ref empty: #3: 'E1' is not empty"
    ]


@pytest.mark.parametrize("empty", [{"ref": ""}, {"ref": None}, {}])
def test_empty_some_wants_one_empty_value_at_least(empty: dict[str, Any]) -> None:
    """TRX-7 at a bank whose account carries entryReference on some operations only."""
    body = {"t": [{"ref": "E1"}, empty, {"ref": "E2"}]}
    assert evaluate(body, {"path": "t[*].ref", "empty": "some"}) == []
    full = {"t": [{"ref": "E1"}, {"ref": "E2"}]}
    assert evaluate(full, {"path": "t[*].ref", "empty": "some"}) == ["t[*].ref: no value is empty"]


@pytest.mark.parametrize(("echoed", "sent"), [("10.0", "10.00"), ("10", "10.00"), (10, "10")])
def test_decimal_equals_compares_amounts_as_numbers(echoed: Any, sent: str) -> None:
    """CBP-1, PIS-1: an amount echoed "10.0" is the amount "10.00" that was sent."""
    _ok({"v": echoed}, decimal_equals=sent)
    _bad({"v": echoed}, "as decimals", decimal_equals="10.01")


@pytest.mark.parametrize("value", ["ten", None, True, "NaN", [10]])
def test_decimal_equals_refuses_what_is_not_a_number(value: Any) -> None:
    _bad({"v": value}, "not both decimal numbers", decimal_equals="10")


def test_missing_values_fail_value_operators() -> None:
    body = {"t": [{"a": "1"}, {}]}
    assert evaluate(body, {"path": "t[*].a", "equals": "1"}) == ["t[*].a equals: #1: missing"]


def test_contains() -> None:
    body = {"t": [{"a": "x"}, {"a": "y"}]}
    assert evaluate(body, {"path": "t[*].a", "contains": "y"}) == []
    assert evaluate(body, {"path": "t[*].a", "contains": "z"}) == ["t[*].a: no value equals 'z'"]


def test_unique() -> None:
    assert evaluate({"t": [1, 2, 3]}, {"path": "t[*]", "unique": True}) == []
    problems = evaluate({"t": ["a", "b", "a", "b", "c"]}, {"path": "t[*]", "unique": True})
    assert problems == ["t[*]: duplicates: 'a', 'b'"]
    # missing values are not duplicates of each other
    body = {"t": [{"r": "1"}, {}, {}]}
    assert evaluate(body, {"path": "t[*].r", "unique": True}) == []


def test_unique_ignores_empty_optional_values() -> None:
    """An empty optional field (null or "") is absent, not a value: empties may repeat."""
    body = {"t": [{"r": ""}, {"r": None}, {"r": "A"}, {"r": ""}, {"r": None}, {}]}
    assert evaluate(body, {"path": "t[*].r", "unique": True}) == []
    body["t"].append({"r": "A"})
    assert evaluate(body, {"path": "t[*].r", "unique": True}) == ["t[*].r: duplicates: 'A'"]


def test_if_present_checks_an_optional_field_only_where_given() -> None:
    assertion = {"path": "scope", "matches": "(.* )?aisp( .*)?", "if_present": True}
    assert evaluate({"token": "x"}, assertion) == []
    assert evaluate({"scope": None}, assertion) == []
    assert evaluate({"scope": "aisp pisp"}, assertion) == []
    assert evaluate({"scope": "pisp"}, assertion) == [
        "scope matches: #0: 'pisp' does not match /(.* )?aisp( .*)?/"
    ]
    fan_out = {"t": [{"id": "1"}, {}, {"id": "2"}]}
    assert evaluate(fan_out, {"path": "t[*].id", "in": ["1"], "if_present": True}) != []
    without = {"path": "scope", "matches": "aisp"}
    assert evaluate({"token": "x"}, without) == ["scope matches: #0: missing"]


def test_order_ascending_and_descending() -> None:
    dates = {"t": ["2024-01-01", "2024-01-01", "2024-01-03T00:00:00Z", "2024-02-01"]}
    assert evaluate(dates, {"path": "t[*]", "order": "ascending"}) == []
    assert evaluate(dates, {"path": "t[*]", "order": "descending"}) == [
        "t[*]: not descending at #2: '2024-01-03T00:00:00Z'"
    ]
    numbers = {"t": ["10", "9.5", "-1"]}  # decimals, not text
    assert evaluate(numbers, {"path": "t[*]", "order": "descending"}) == []
    assert evaluate(numbers, {"path": "t[*]", "order": "ascending"}) == [
        "t[*]: not ascending at #1: '9.5'"
    ]
    invalid = {"t": ["2024-01-01T00:00:00Z", "2024-13-01T00:00:00Z"]}
    assert evaluate(invalid, {"path": "t[*]", "order": "ascending"}) == [
        "t[*]: values cannot be ordered"
    ]


def test_several_operators_in_one_assertion() -> None:
    problems = evaluate({"v": "abc"}, {"path": "v", "equals": "x", "length": 3, "matches": "b"})
    assert len(problems) == 2
    assert problems[0].startswith("v equals:")
    assert problems[1].startswith("v matches:")


def test_at_most_three_bad_values_are_listed() -> None:
    body = {"t": [1, 2, 3, 4, 5]}
    (problem,) = evaluate(body, {"path": "t[*]", "equals": 0})
    assert "#2:" in problem
    assert "#3:" not in problem
    assert problem.endswith("(and 2 more)")


def test_nothing_at_this_path() -> None:
    assert evaluate(BODY, {"path": "nope.deeper", "equals": 1}) == [
        "nope.deeper: nothing at this path"
    ]
    assert evaluate(BODY, {"path": "meta.empty[*]", "contains": 1}) == [
        "meta.empty[*]: nothing at this path"
    ]
    # even operators that would hold vacuously
    assert evaluate(BODY, {"path": "meta.empty[*].x", "empty": True}) != []


def test_allow_no_match() -> None:
    assertion = {"path": "meta.empty[*].amount", "sign": "negative", "allow_no_match": True}
    assert evaluate(BODY, assertion) == []
    # it does not excuse values that are there
    assertion = {"path": "accounts[*].balance.amount", "sign": "negative", "allow_no_match": True}
    assert evaluate(BODY, assertion) != []


def test_bad_path_is_reported_not_raised() -> None:
    assert evaluate(BODY, {"path": "a[", "equals": 1}) == ["cannot parse path 'a[' at position 1"]


# --- check_data on an exchange ------------------------------------------------------------------


def _ctx(content: bytes, expect: dict[str, Any]) -> CheckContext:
    request = httpx.Request("GET", "https://bank.example/x")
    response = httpx.Response(200, content=content, request=request)
    return CheckContext(Exchange(request, response, 0.0), Expect.of(expect), default_store())


def test_check_data() -> None:
    expect = {"status": 200, "data": [{"path": "a", "equals": 1}, {"path": "b", "exists": True}]}
    failures = check_data(_ctx(b'{"a": 2}', expect))
    assert [(f.check, f.message) for f in failures] == [
        ("data", "a equals: #0: 2 != 1"),
        ("data", "b exists: #0: missing"),
    ]
    assert check_data(_ctx(b'{"a": 1, "b": 0}', expect)) == []
    assert check_data(_ctx(b"<html>", expect))[0].message == "the body is not valid JSON"
    assert check_data(_ctx(b"<html>", {"status": 200})) == []
