"""The STET resource schemas in schemas/stet/: well-formed, cross-referenced, and strict enough.

Valid bodies come from the bank portal's developer guide (seed 000, "4th step"). Invalid bodies are
those portal bodies with one targeted defect each, and every one must fail for exactly that reason.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas" / "stet"
BASE_URI = "https://stet-conformance.invalid/schemas/stet/"
ATTRIBUTION = "Field names and patterns from STET PSD2 1.4.0.47, STET, CC BY 3.0 FR"
EXPECTED_STEMS = {
    "common",
    "accounts",
    "balances",
    "transactions",
    "consent_request",
    "end_user_identity",
    "funds_confirmation_request",
    "funds_confirmation",
    "error",
    "trusted_beneficiaries",
    "token",
    "oauth_error",
    "payment_request",
}


# --- tiny loader (the harness will have its own) -------------------------------------------------


@cache
def load_schemas() -> dict[str, dict[str, Any]]:
    """Every schemas/stet/*.json, keyed by file stem."""
    return {p.stem: json.loads(p.read_text("utf-8")) for p in sorted(SCHEMA_DIR.glob("*.json"))}


@cache
def registry() -> Registry[Any]:
    resources = [
        (s["$id"], Resource.from_contents(s, default_specification=DRAFT202012))
        for s in load_schemas().values()
    ]
    return Registry().with_resources(resources).crawl()


def validator(stem: str) -> Draft202012Validator:
    return Draft202012Validator(
        load_schemas()[stem],
        registry=registry(),
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def failures(stem: str, body: Any) -> set[tuple[str, tuple[str | int, ...]]]:
    """(failing keyword, JSON path in the body) of every leaf error."""
    return {(str(e.validator), tuple(e.absolute_path)) for e in validator(stem).iter_errors(body)}


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


# --- portal bodies (seed 000, lines ~1470-1705), transcribed with straight quotes ----------------

ACC = "/stet/psd2/v1.4.2/accounts"

ACCOUNTS_BEFORE_CONSENT: dict[str, Any] = {
    "_links": {"self": {"templated": False, "href": ACC}},
    "accounts": [
        {
            "cashAccountType": "CACC",
            "accountId": {"iban": iban},
            "usage": "PRIV",
            "psuStatus": "Account Holder",
            "name": "LEA SANDBOXA",
            "currency": "EUR",
        }
        for iban in ("FR7612579000920400430518020", "FR7612579000920400851811524")
    ],
}

ACCOUNTS_AFTER_CONSENT: dict[str, Any] = {
    "_links": {"self": {"templated": False, "href": ACC}},
    "accounts": [
        {
            "cashAccountType": "CACC",
            "accountId": {"iban": iban},
            "resourceId": rid,
            "_links": {
                "balances": {"templated": False, "href": f"{ACC}/{rid}/balances"},
                "transactions": {"templated": True, "href": f"{ACC}/{rid}/transactions"},
            },
            "usage": "PRIV",
            "psuStatus": "Account Holder",
            "name": "LEA SANDBOXA",
            "currency": "EUR",
        }
        for iban, rid in (
            ("FR7612579000920400430518020", "125790009204004305180"),
            ("FR7612579000920400851811524", "125790009204008518115"),
        )
    ],
}

# The portal's text is not well-formed JSON (a stray "}," closes _links before "parent-list").
# This is the evidently intended body.
BALANCES: dict[str, Any] = {
    "balances": [
        {
            "balanceType": "CLBD",
            "name": "Solde comptable au 28/09/2018",
            "balanceAmount": {"amount": "-150.00", "currency": "EUR"},
        }
    ],
    "_links": {
        "self": {"templated": False, "href": f"{ACC}/125790009204004305180/balances"},
        "parent-list": {"templated": False, "href": ACC},
    },
}

# The portal sends "resourceId": null (accepted with a warning, see the null case below).
# The key is omitted here.
TRANSACTIONS: dict[str, Any] = {
    "_links": {
        "balances": {"templated": False, "href": f"{ACC}/125790009204004305180/balances"},
        "self": {"templated": True, "href": f"{ACC}/125790009204004305180/transactions"},
        "parent-list": {"templated": False, "href": ACC},
    },
    "transactions": [
        {
            "remittanceInformation": ["Retrait Carte"],
            "entryReference": "257040043051802019-09-08-05.33.46.621234",
            "transactionAmount": {"amount": "13.00", "currency": "EUR"},
            "bookingDate": "2019-09-05",
            "creditDebitIndicator": "DBIT",
            "status": "BOOK",
        }
    ],
}

CONSENT: dict[str, Any] = {
    "balances": [
        {"iban": "FR7612579000920400430518020"},
        {"iban": "FR7612579000920400851811524"},
    ],
    "transactions": [
        {"iban": "FR7612579000920400430518020"},
        {"iban": "FR7612579000920400851811524"},
    ],
    "trustedBeneficiaries": False,
    "psuIdentity": False,
}

TOKEN: dict[str, Any] = {
    "access_token": "KXZyspFBZ1R6NqWQdmsZhfdo1nbjK7MoI0Kr2rSi1mSCFNehAbCdEf",
    "token_type": "Bearer",
    "expires_in": 3600,
    "scope": "aisp offline_access",
    "refresh_token": "KUZyspFBZ1R6NqWQdmsZhfdo1nbjK7MoD0Kr2rSi1mSCFNewRfrsH",
}

# STET's own ErrorModel example (swagger L2749-2754): the "+0000" offset is not RFC 3339.
ERROR: dict[str, Any] = {
    "timestamp": "2018-03-30T16:06:27.499+0000",
    "status": 400,
    "error": "Bad Request",
    "message": "Missing request header 'Digest' for method parameter of type String",
    "path": "/v1/accounts",
}

FUNDS_REQUEST: dict[str, Any] = {
    "paymentCoverageRequestId": "MyCoverage123456",
    "instructedAmount": {"currency": "EUR", "amount": "12345"},
    "accountId": {"iban": "FR7612579000920400430518020"},
}

FUNDS_REPORT: dict[str, Any] = {
    "request": FUNDS_REQUEST,
    "result": True,
    "_links": {"self": {"href": "v1/funds-confirmations/MyCoverage123456"}},
}

BENEFICIARIES: dict[str, Any] = {
    "beneficiaries": [
        {
            "id": "benef-1",
            "isTrusted": True,
            "creditor": {
                "name": "MyPreferedPisp",
                "postalAddress": {"country": "FR", "addressLine": ["18 rue de la DSP2"]},
            },
            "creditorAgent": {"bicFi": "BNKAFRPPXXX"},
            "creditorAccount": {"iban": "FR7612579000920400430518020"},
        }
    ],
    "_links": {"self": {"href": "v1/trusted-beneficiaries"}},
}

IDENTITY: dict[str, Any] = {
    "connectedPsu": "LEA SANDBOXA",
    "connectedPsuFirstName": "LEA",
    "connectedPsuLastName": "SANDBOXA",
    "_links": {"self": {"href": "/stet/psd2/v1.4.2/end-user-identity"}},
}

OAUTH_ERROR: dict[str, Any] = {"error": "invalid_grant", "error_description": "code expired"}


def _with(body: Any, path: tuple[str | int, ...], value: Any) -> Any:
    """A deep copy of body with path set to value, or removed if value is DELETE."""
    out = copy.deepcopy(body)
    node = out
    for step in path[:-1]:
        node = node[step]
    if value is DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return out


DELETE = object()
BAL0 = ("balances", 0)
TX0 = ("transactions", 0)


# --- tests ---------------------------------------------------------------------------------------


def test_every_expected_schema_file_exists() -> None:
    assert set(load_schemas()) == EXPECTED_STEMS


@pytest.mark.parametrize("stem", sorted(EXPECTED_STEMS))
def test_schema_is_valid_draft_2020_12(stem: str) -> None:
    schema = load_schemas()[stem]
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"{BASE_URI}{stem}.json"
    assert ATTRIBUTION in schema["$comment"]


@pytest.mark.parametrize("stem", sorted(EXPECTED_STEMS))
def test_no_schema_forbids_extension_fields(stem: str) -> None:
    text = json.dumps(load_schemas()[stem])
    assert '"additionalProperties": false' not in text
    assert '"unevaluatedProperties": false' not in text


@pytest.mark.parametrize("stem", sorted(EXPECTED_STEMS))
def test_every_ref_resolves(stem: str) -> None:
    schema = load_schemas()[stem]
    resolver = registry().resolver(base_uri=schema["$id"])
    refs = list(_refs(schema))
    for ref in refs:
        resolver.lookup(ref)  # raises referencing.exceptions.Unresolvable
    if stem not in {"common", "token", "oauth_error"}:
        assert any(r.startswith("common.json#/$defs/") for r in refs)


@pytest.mark.parametrize(
    ("stem", "body"),
    [
        pytest.param("accounts", ACCOUNTS_BEFORE_CONSENT, id="portal-accounts-before-consent"),
        pytest.param("accounts", ACCOUNTS_AFTER_CONSENT, id="portal-accounts-after-consent"),
        pytest.param("balances", BALANCES, id="portal-balances-negative-amount"),
        pytest.param("transactions", TRANSACTIONS, id="portal-transactions-resourceId-omitted"),
        pytest.param(
            "transactions",
            _with(TRANSACTIONS, (*TX0, "status"), "PDNG"),
            id="transactions-status-PDNG",
        ),
        pytest.param(
            "transactions",
            _with(TRANSACTIONS, (*TX0, "resourceId"), "tx 1/2-(a).b,c'd?:"),
            id="transactions-resourceId-all-allowed-chars",
        ),
        pytest.param("transactions", {**TRANSACTIONS, "transactions": []}, id="no-transactions"),
        # The portal's own example: accepted; the harness warns (STET has no null).
        pytest.param(
            "transactions",
            _with(_with(TRANSACTIONS, (*TX0, "resourceId"), None), (*TX0, "entryReference"), None),
            id="portal-resourceId-and-entryReference-null",
        ),
        # The portal: the currency "is now inserted in accountId" (STET: top-level, required).
        pytest.param(
            "accounts",
            _with(
                _with(ACCOUNTS_AFTER_CONSENT, ("accounts", 0, "currency"), DELETE),
                ("accounts", 0, "accountId", "currency"),
                "EUR",
            ),
            id="portal-currency-in-accountId-only",
        ),
        pytest.param("consent_request", CONSENT, id="portal-consent"),
        pytest.param("token", TOKEN, id="portal-token"),
        pytest.param("error", ERROR, id="stet-error-example-plus0000"),
        pytest.param("error", {"status": 401, "message": "Unauthorized"}, id="error-minimal"),
        pytest.param("funds_confirmation_request", FUNDS_REQUEST, id="funds-request"),
        pytest.param("funds_confirmation", FUNDS_REPORT, id="funds-report"),
        pytest.param("trusted_beneficiaries", BENEFICIARIES, id="beneficiaries"),
        pytest.param("end_user_identity", IDENTITY, id="identity"),
        pytest.param("end_user_identity", {"connectedPsu": "LEA"}, id="identity-no-links"),
        pytest.param("oauth_error", OAUTH_ERROR, id="oauth-error"),
        pytest.param(
            "balances",
            _with(BALANCES, (*BAL0, "x-bank-extension"), {"any": "thing"}),
            id="extension-field-allowed",
        ),
        pytest.param(
            "balances",
            _with(
                _with(BALANCES, (*BAL0, "lastChangeDateTime"), "2018-09-28T10:00:00+02:00"),
                (*BAL0, "referenceDate"),
                "2018-09-28",
            ),
            id="balances-optional-dates",
        ),
    ],
)
def test_valid_body(stem: str, body: Any) -> None:
    assert failures(stem, body) == set()


@pytest.mark.parametrize(
    ("stem", "body", "keyword", "where"),
    [
        # balances
        pytest.param(
            "balances",
            _with(BALANCES, (*BAL0, "balanceAmount", "amount"), -150.00),
            "type",
            (*BAL0, "balanceAmount", "amount"),
            id="amount-as-number",
        ),
        pytest.param(
            "balances",
            _with(BALANCES, (*BAL0, "balanceAmount", "amount"), "1e3"),
            "pattern",
            (*BAL0, "balanceAmount", "amount"),
            id="amount-1e3",
        ),
        pytest.param(
            "balances",
            _with(BALANCES, (*BAL0, "balanceAmount", "amount"), "1.123456"),
            "pattern",
            (*BAL0, "balanceAmount", "amount"),
            id="amount-6-decimals",
        ),
        pytest.param(
            "balances",
            _with(BALANCES, (*BAL0, "balanceAmount", "amount"), "150.00\n"),
            "not",
            (*BAL0, "balanceAmount", "amount"),
            id="amount-trailing-newline",
        ),
        pytest.param(
            "balances",
            _with(BALANCES, (*BAL0, "balanceAmount", "currency"), "eur"),
            "pattern",
            (*BAL0, "balanceAmount", "currency"),
            id="currency-lowercase",
        ),
        pytest.param(
            "balances",
            _with(BALANCES, (*BAL0, "balanceType"), "FOO"),
            "enum",
            (*BAL0, "balanceType"),
            id="balanceType-FOO",
        ),
        pytest.param(
            "balances",
            _with(BALANCES, ("_links", "self"), DELETE),
            "required",
            ("_links",),
            id="balances-missing-links-self",
        ),
        pytest.param(
            "balances",
            {**BALANCES, "balances": []},
            "minItems",
            ("balances",),
            id="balances-empty",
        ),
        pytest.param(
            "balances",
            _with(BALANCES, (*BAL0, "referenceDate"), "28/09/2018"),
            ("pattern", "format"),
            (*BAL0, "referenceDate"),
            id="referenceDate-not-iso",
        ),
        # transactions
        pytest.param(
            "transactions",
            _with(TRANSACTIONS, (*TX0, "status"), "DONE"),
            "enum",
            (*TX0, "status"),
            id="status-DONE",
        ),
        pytest.param(
            "transactions",
            _with(TRANSACTIONS, (*TX0, "creditDebitIndicator"), "CREDIT"),
            "enum",
            (*TX0, "creditDebitIndicator"),
            id="creditDebitIndicator-CREDIT",
        ),
        pytest.param(
            "transactions",
            _with(TRANSACTIONS, (*TX0, "bookingDate"), "2026-13-01"),
            "format",
            (*TX0, "bookingDate"),
            id="bookingDate-month-13",
        ),
        pytest.param(
            "transactions",
            _with(TRANSACTIONS, (*TX0, "resourceId"), 12),
            "anyOf",
            (*TX0, "resourceId"),
            id="resourceId-number",
        ),
        pytest.param(
            "transactions",
            _with(TRANSACTIONS, (*TX0, "entryReference"), "x" * 41),
            "maxLength",
            (*TX0, "entryReference"),
            id="entryReference-41-chars",
        ),
        pytest.param(
            "transactions",
            _with(TRANSACTIONS, (*TX0, "remittanceInformation"), ["x" * 141]),
            "maxLength",
            (*TX0, "remittanceInformation", 0),
            id="remittance-over-140",
        ),
        pytest.param(
            "transactions",
            _with(TRANSACTIONS, (*TX0, "remittanceInformation"), DELETE),
            "required",
            TX0,
            id="remittance-missing",
        ),
        pytest.param(
            "transactions",
            _with(TRANSACTIONS, ("_links", "self", "href"), "/" + "x" * 140),
            "maxLength",
            ("_links", "self", "href"),
            id="href-over-140",
        ),
        # error
        pytest.param(
            "error", _with(ERROR, ("status",), DELETE), "required", (), id="error-missing-status"
        ),
        pytest.param(
            "error", _with(ERROR, ("status",), "400"), "type", ("status",), id="error-status-string"
        ),
        pytest.param(
            "error",
            _with(ERROR, ("timestamp",), "yesterday"),
            "pattern",
            ("timestamp",),
            id="error-timestamp-garbage",
        ),
        # accounts
        pytest.param(
            "accounts",
            _with(ACCOUNTS_AFTER_CONSENT, ("accounts",), DELETE),
            "required",
            (),
            id="accounts-missing-accounts",
        ),
        pytest.param(
            "accounts",
            _with(ACCOUNTS_AFTER_CONSENT, ("accounts", 0, "currency"), DELETE),
            "anyOf",
            ("accounts", 0),
            id="account-without-any-currency",
        ),
        pytest.param(
            "accounts",
            _with(ACCOUNTS_AFTER_CONSENT, ("accounts", 0, "cashAccountType"), "SVGS"),
            "enum",
            ("accounts", 0, "cashAccountType"),
            id="cashAccountType-SVGS",
        ),
        pytest.param(
            "accounts",
            _with(ACCOUNTS_AFTER_CONSENT, ("accounts", 0, "accountId", "iban"), "FR76 1257"),
            "pattern",
            ("accounts", 0, "accountId", "iban"),
            id="iban-with-space",
        ),
        # consent, funds, token, oauth error
        pytest.param(
            "consent_request",
            _with(CONSENT, ("psuIdentity",), DELETE),
            "required",
            (),
            id="consent-missing-psuIdentity",
        ),
        pytest.param(
            "consent_request",
            _with(CONSENT, ("balances",), ""),
            "type",
            ("balances",),
            id="consent-swagger-example-empty-string",
        ),
        pytest.param(
            "funds_confirmation",
            _with(FUNDS_REPORT, ("result",), "true"),
            "type",
            ("result",),
            id="funds-result-string",
        ),
        pytest.param(
            "token",
            _with(TOKEN, ("token_type",), DELETE),
            "required",
            (),
            id="token-missing-token_type",
        ),
        pytest.param(
            "token",
            _with(TOKEN, ("expires_in",), "3600"),
            "type",
            ("expires_in",),
            id="token-expires_in-string",
        ),
        pytest.param(
            "oauth_error",
            {"error": "access_denied"},
            "enum",
            ("error",),
            id="oauth-error-not-a-token-endpoint-code",
        ),
        pytest.param(
            "end_user_identity",
            _with(IDENTITY, ("connectedPsu",), "x" * 71),
            "maxLength",
            ("connectedPsu",),
            id="identity-connectedPsu-over-70",
        ),
    ],
)
def test_invalid_body_fails_for_the_expected_reason(
    stem: str, body: Any, keyword: str | tuple[str, ...], where: tuple[str | int, ...]
) -> None:
    keywords = (keyword,) if isinstance(keyword, str) else keyword
    assert failures(stem, body) == {(k, where) for k in keywords}


def _cases(test: Any) -> list[tuple[Any, ...]]:
    """The (stem, body, ...) parameters of another parametrized test of this module."""
    return [tuple(param.values) for param in test.pytestmark[0].args[1]]


def test_the_harness_fast_validator_agrees_with_jsonschema_on_every_example() -> None:
    """The harness decides validity with jsonschema-rs: it must never pass what this rejects."""
    from stet_conformance.checks.schemas import SchemaStore

    store = SchemaStore(SCHEMA_DIR)
    valid = _cases(test_valid_body)
    invalid = _cases(test_invalid_body_fails_for_the_expected_reason)
    assert len(valid) > 10 and len(invalid) > 20
    for stem, body, *_ in valid:
        assert store.is_valid(stem, body), stem
        assert store.errors(stem, body) == []
    for stem, body, *_ in invalid:
        assert not store.is_valid(stem, body), (stem, body)
        assert store.errors(stem, body), stem
