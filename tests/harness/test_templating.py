"""``{{ ... }}`` expressions in scenario values."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from stet_conformance.errors import ScenarioError
from stet_conformance.scenario import templating
from stet_conformance.scenario.model import Payload
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
    literal = {"date", "datetime", "uuid", "repeat"}
    assert set(templating.FUNCTIONS) == literal | templating.CONTEXT_FUNCTIONS
    others = templating.CONTEXT_FUNCTIONS - templating.DATA_FUNCTIONS
    assert {"disposable_refresh_token", "authorization_code", "day_start"} == others
    assert set(templating.TAKERS) < others
    assert {
        "account",
        "consent_body",
        "empty_entry_references",
        "ibans",
        "account_count",
        "history_start",
        "beyond_history",
    } == templating.DATA_FUNCTIONS


DECLARED: dict[str, Any] = {
    "TECHNCO": {
        "history_days": 180,
        "consent": {"balances": "all", "transactions": ["FR76Z"], "psu_identity": True},
        "accounts": [
            {"iban": "FR76Y", "resource_id": "y", "balance": "10.00", "transactions": 3},
            {"iban": "FR76Z", "resource_id": "z", "balance": "-5.00", "transactions": 0},
        ],
    },
    "MARC": {"consent": {"balances": "all"}, "accounts": [{"iban": "FR76M", "balance": "1"}]},
}


def test_consent_body_restores_what_the_profile_declares() -> None:
    """A restore sends the declared consent, whatever the number of accounts (issue: a restore
    that addressed TECHNCO.accounts.1 broke on a bank whose TECHNCO has one account)."""
    assert render("{{ consent_body('TECHNCO') }}", DECLARED) == {
        "balances": [{"iban": "FR76Y"}, {"iban": "FR76Z"}],
        "transactions": [{"iban": "FR76Z"}],
        "psuIdentity": True,
        "trustedBeneficiaries": False,
    }
    assert render("{{ consent_body('MARC') }}", DECLARED)["balances"] == [{"iban": "FR76M"}]
    assert render("{{ consent_body('MARC') }}", DECLARED)["transactions"] == []


def test_account_by_role_with_a_field_after_the_call() -> None:
    assert render("/a/{{ account('TECHNCO', 'negative').resource_id }}", DECLARED) == "/a/z"
    assert render("{{ account('TECHNCO', 'positive').iban }}", DECLARED) == "FR76Y"
    assert render("{{ account('TECHNCO', 'empty') }}", DECLARED)["iban"] == "FR76Z"
    assert render("{{ account('TECHNCO', 'transactions').iban }}", DECLARED) == "FR76Z"
    with pytest.raises(templating.NotDeclared, match=r"no account of TECHNCO for role 'history'"):
        render("{{ account('TECHNCO', 'history') }}", DECLARED)
    with pytest.raises(ScenarioError, match=r"unknown account role 'rich'"):
        render("{{ account('TECHNCO', 'rich') }}", DECLARED)
    with pytest.raises(UnknownVariable, match="NOBODY"):
        render("{{ account('NOBODY', 'zero') }}", DECLARED)
    with pytest.raises(UnknownVariable):
        render("{{ account('TECHNCO', 'negative').nothing }}", DECLARED)


def test_counts_ibans_and_history_from_the_declared_data() -> None:
    assert render("{{ account_count('TECHNCO') }}", DECLARED) == 2
    assert render("{{ ibans('TECHNCO') }}", DECLARED) == ["FR76Y", "FR76Z"]
    first = (_today() - dt.timedelta(days=180)).isoformat()
    assert render("{{ history_start('TECHNCO') }}", DECLARED) == first
    assert render("{{ history_start('MARC') }}", DECLARED) == (
        (_today() - dt.timedelta(days=62)).isoformat()
    )
    beyond = (_today() - dt.timedelta(days=188)).isoformat()
    assert render("{{ beyond_history('TECHNCO') }}", DECLARED) == f"{beyond}T00:00:00.000Z"


def test_data_functions_are_checked_without_a_context_at_load_time() -> None:
    assert templating.call("account", "'LEA', 'zero'") is None
    with pytest.raises(ScenarioError, match="unknown account role"):
        templating.call("account", "'LEA', 'nope'")
    with pytest.raises(ScenarioError, match="persona must be quoted text"):
        templating.call("consent_body", "3")
    with pytest.raises(ScenarioError, match="missing a required argument"):
        templating.call("account", "'LEA'")


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


def test_disposable_refresh_token_is_the_takers_and_checked_at_load() -> None:
    taken: list[tuple[str, str]] = []

    def take(persona: str, scope: str) -> str:
        taken.append((persona, scope))
        return "d-1"

    expression = "{{ disposable_refresh_token('LEA', 'aisp') }}"
    assert render(expression, {templating.DISPOSABLE: take}) == "d-1"
    assert taken == [("LEA", "aisp")]
    assert templating.call("disposable_refresh_token", "'LEA', 'aisp'") is None  # load time
    with pytest.raises(ScenarioError, match="unknown persona ZOE"):
        templating.call("disposable_refresh_token", "'ZOE', 'aisp'")
    with pytest.raises(ScenarioError, match="unknown scope admin"):
        templating.call("disposable_refresh_token", "'LEA', 'admin'")
    with pytest.raises(ScenarioError, match="given to scenario steps only"):
        render(expression, {})


def test_an_undeclared_role_names_the_persona_the_role_and_the_profile_key() -> None:
    """Not an error: the bank's persona simply has no such account (the scenario is skipped)."""
    with pytest.raises(templating.NotDeclared) as raised:
        render("{{ account('MARC', 'zero').resource_id }}", DECLARED)
    message = str(raised.value)
    assert "MARC" in message and "'zero'" in message and "personas.MARC.data.accounts" in message


ZONED: dict[str, Any] = {"target": {"imputation_timezone": "Europe/Paris"}, "saved": {}}


def test_day_start_is_midnight_in_the_imputation_zone() -> None:
    """A Paris bank imputes a transaction dated D at D-1T23:00Z (winter) or 22:00Z (summer)."""
    ZONED["saved"]["day"] = "2026-01-15"
    assert render("{{ day_start(saved.day) }}", ZONED) == "2026-01-15T00:00:00.000+01:00"
    ZONED["saved"]["day"] = "2026-07-15"
    assert render("{{ day_start(saved.day) }}", ZONED) == "2026-07-15T00:00:00.000+02:00"
    assert render("{{ day_start('2026-07-15') }}", {}) == "2026-07-15T00:00:00.000Z"
    ten_days_ago = (_today() - dt.timedelta(days=10)).isoformat()
    assert render("{{ day_start(-10) }}", {}) == f"{ten_days_ago}T00:00:00.000Z"
    with pytest.raises(ScenarioError, match="YYYY-MM-DD"):
        render("{{ day_start('15/01/2026') }}", {})
    ZONED["saved"]["day"] = templating.saved_placeholder("day")  # a dry run: nothing received
    assert render("{{ day_start(saved.day) }}", ZONED) == "<saved.day>T00:00:00.000+HH:MM"


def test_path_arguments_are_read_at_run_time_and_named_at_load_time() -> None:
    assert templating.call("day_start", "saved.day") is None  # load time: not read
    assert templating.saved_names("day_start(saved.day)") == ["day"]
    assert templating.saved_names("saved.id") == ["id"]
    assert templating.saved_names("date(-3)") == []
    with pytest.raises(UnknownVariable, match=r"saved\.nothing"):
        render("{{ day_start(saved.nothing) }}", ZONED)
    with pytest.raises(ScenarioError, match="day must be a whole number or text"):
        render("{{ day_start(saved.list) }}", {"saved": {"list": [1]}})


def test_empty_entry_references_follow_the_declaration() -> None:
    """TRX-7: every entryReference empty only where the account declares none."""
    persona = {"consent": {"transactions": "all"}, "accounts": []}
    some = {"iban": "FR76S", "transactions": 5, "entry_reference": "some"}
    none = {"iban": "FR76N", "transactions": 5, "entry_reference": False}
    context = {"P": {**persona, "accounts": [{"iban": "FR76A", "transactions": 5}, some, none]}}
    assert render("{{ account('P', 'empty_entry_reference').iban }}", context) == "FR76S"
    assert render("{{ empty_entry_references('P') }}", context) == "some"
    context = {"P": {**persona, "accounts": [none, some]}}
    assert render("{{ empty_entry_references('P') }}", context) is True
    with pytest.raises(templating.NotDeclared, match="empty_entry_reference"):
        render("{{ empty_entry_references('P') }}", {"P": {**persona, "accounts": []}})


def test_authorization_code_is_the_takers_with_its_fields_and_checked_at_load() -> None:
    def take(persona: str, scope: str) -> dict[str, str | None]:
        return {"code": f"c-{persona}-{scope}", "redirect_uri": "u", "code_verifier": None}

    context = {templating.CODES: take}
    assert render("{{ authorization_code('LEA', 'aisp').code }}", context) == "c-LEA-aisp"
    assert render("{{ authorization_code('LEA', 'aisp').code_verifier }}", context) is None
    assert templating.call("authorization_code", "'LEA', 'aisp'") is None  # load time
    with pytest.raises(ScenarioError, match="unknown persona ZOE"):
        templating.call("authorization_code", "'ZOE', 'aisp'")
    with pytest.raises(ScenarioError, match="authorization codes are given to scenario steps"):
        render("{{ authorization_code('LEA', 'aisp').code }}", {})


def test_taken_names_what_scenarios_consume() -> None:
    values = [
        {"a": "{{ authorization_code('LEA', 'aisp').code }}", "b": "{{ date(1) }}"},
        "{{ disposable_refresh_token('GEORGES', 'pisp') }} {{ saved.code }}",
    ]
    assert templating.taken(values) == {
        ("authorization_code", "LEA", "aisp"),
        ("disposable_refresh_token", "GEORGES", "pisp"),
    }


def test_a_form_field_rendered_null_is_not_sent() -> None:
    """A code from a login without PKCE has no verifier: the exchange sends none."""
    payload = Payload("form", {"code": "c", "code_verifier": None})
    assert payload.encode() == (b"code=c", "application/x-www-form-urlencoded")
