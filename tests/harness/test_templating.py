"""``{{ ... }}`` expressions in scenario values."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from stet_conformance.errors import ScenarioError
from stet_conformance.scenario import templating
from stet_conformance.scenario.templating import UnknownVariable, expressions, lookup, render

CONTEXT: dict[str, Any] = {
    "LEA": {
        "accounts": [
            {"iban": "FR76A", "resource_id": "111", "balance": "-150.00"},
            {"iban": "FR76B", "resource_id": "222", "transactions": 25},
        ],
        "history_days": 62,
        "consent": {"psu_identity": False},
    },
    "unknown_account": "CPT30014684067",
    "saved": {"first": {"nested": [1, 2]}},
    "empty": None,
}


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("unknown_account", "CPT30014684067"),
        ("LEA.accounts.0.iban", "FR76A"),
        ("LEA.accounts.1.resource_id", "222"),
        ("LEA.accounts.1.transactions", 25),
        ("LEA.consent.psu_identity", False),
        ("saved.first.nested.1", 2),
        ("empty", None),
    ],
)
def test_lookup(path: str, expected: Any) -> None:
    assert lookup(CONTEXT, path) == expected


@pytest.mark.parametrize(
    "path",
    [
        "nobody",
        "LEA.nothing",
        "LEA.accounts.2.iban",  # index out of range
        "LEA.accounts.-1.iban",  # negative indices are not list indices here
        "LEA.accounts.first",  # a key on a list
        "LEA.history_days.x",  # a key on a scalar
        "unknown_account.0",  # an index on a string
    ],
)
def test_lookup_unknown_variable(path: str) -> None:
    with pytest.raises(UnknownVariable) as info:
        lookup(CONTEXT, path)
    assert info.value.args[0] == path
    assert isinstance(info.value, KeyError)


def test_whole_value_keeps_its_type() -> None:
    assert render("{{ LEA.accounts.1.transactions }}", CONTEXT) == 25
    assert render("{{LEA.consent.psu_identity}}", CONTEXT) is False
    assert render("  {{ LEA.accounts }}  ", CONTEXT) == CONTEXT["LEA"]["accounts"]
    assert render("{{ empty }}", CONTEXT) is None


def test_embedded_expressions_render_as_text() -> None:
    assert render("/accounts/{{ LEA.accounts.0.resource_id }}/balances", CONTEXT) == (
        "/accounts/111/balances"
    )
    assert render("n={{ LEA.accounts.1.transactions }}", CONTEXT) == "n=25"
    assert render("{{ LEA.accounts.0.iban }}!", CONTEXT) == "FR76A!"


def test_two_expressions_filling_the_whole_value() -> None:
    assert render("{{ LEA.accounts.0.iban }},{{ LEA.accounts.1.iban }}", CONTEXT) == "FR76A,FR76B"


def test_render_recurses_through_lists_and_mappings_including_keys() -> None:
    value = {
        "path": "/accounts/{{ LEA.accounts.0.resource_id }}",
        "json": {"balances": [{"iban": "{{ LEA.accounts.1.iban }}"}], "n": 3, "flag": True},
        "{{ unknown_account }}": ["{{ LEA.history_days }}", None],
    }
    assert render(value, CONTEXT) == {
        "path": "/accounts/111",
        "json": {"balances": [{"iban": "FR76B"}], "n": 3, "flag": True},
        "CPT30014684067": [62, None],
    }


def test_values_without_expressions_are_returned_as_is() -> None:
    marker = object()
    assert render(marker, CONTEXT) is marker
    assert render("{ not an expression }", CONTEXT) == "{ not an expression }"
    assert render(12, CONTEXT) == 12


def test_unknown_variable_is_raised_from_render() -> None:
    with pytest.raises(UnknownVariable, match=r"LEA\.accounts\.9\.iban"):
        render("/accounts/{{ LEA.accounts.9.iban }}", CONTEXT)
    with pytest.raises(UnknownVariable):
        render({"a": ["{{ saved.missing }}"]}, CONTEXT)


def test_date_function_is_relative_to_utc_today() -> None:
    today = _today()
    assert render("{{ date() }}", {}) == today.isoformat()
    assert render("{{ date(-62) }}", {}) == (today - dt.timedelta(days=62)).isoformat()
    assert render("{{ date( 3 ) }}", {}) == (today + dt.timedelta(days=3)).isoformat()


def test_datetime_function_with_offsets() -> None:
    today = _today()
    assert render("{{ datetime() }}", {}) == f"{today.isoformat()}T00:00:00.000Z"
    minus = (today - dt.timedelta(days=10)).isoformat()
    assert render("{{ datetime(-10) }}", {}) == f"{minus}T00:00:00.000Z"
    assert render("{{ datetime(-10, '+02:00') }}", {}) == f"{minus}T00:00:00.000+02:00"
    assert render('{{ datetime(0, "-0530") }}', {}) == f"{today.isoformat()}T00:00:00.000-0530"


def test_functions_embedded_in_text() -> None:
    today = _today().isoformat()
    assert render("dateFrom={{ date() }}&x=1", {}) == f"dateFrom={today}&x=1"


def test_repeat_and_uuid() -> None:
    assert render("{{ repeat('QUFB', 3) }}", {}) == "QUFBQUFBQUFB"
    assert render('{{ repeat("ab", 0) }}', {}) == ""
    value = render("{{ uuid() }}", {})
    assert str(uuid.UUID(value)) == value
    assert render("{{ uuid() }}", {}) != value


def test_unknown_function_is_a_scenario_error() -> None:
    with pytest.raises(ScenarioError, match=r"unknown function now\(\).*date, datetime"):
        render("{{ now() }}", {})


@pytest.mark.parametrize("expression", ["{{ date(x) }}", "{{ date(1 2) }}", "{{ repeat('a) }}"])
def test_bad_function_arguments_are_a_scenario_error(expression: str) -> None:
    with pytest.raises(ScenarioError, match="bad function arguments"):
        render(expression, {})


def test_functions_module_registry() -> None:
    assert set(templating.FUNCTIONS) == {"date", "datetime", "uuid", "repeat"}


def test_expressions_lists_every_expression_text() -> None:
    value = {
        "request": {
            "path": "/accounts/{{ LEA.accounts.0.resource_id }}/x/{{saved.id}}",
            "query": {"{{ key }}": "{{ date(-3) }}"},
        },
        "expect": [{"equals": "{{ unknown_account }}"}, 5, None, "plain"],
    }
    assert expressions(value) == [
        "LEA.accounts.0.resource_id",
        "saved.id",
        "key",
        "date(-3)",
        "unknown_account",
    ]
    assert expressions("no expressions") == []
    assert expressions(42) == []
