"""The AIS/CBPII endpoints of the bank, called once the request is authenticated and scoped.

``GET /trusted-beneficiaries`` is answered 501: the seed's limits say the bank does not offer it.
Rate limit (seed limits): without ``PSU-IP-Address`` a TPP gets 4 calls a calendar day per PSU,
account and AIS method (accounts, balances, transactions, end-user-identity); the 5th is 429.
``PUT /consents`` takes ``application/json`` only (any parameters, any case): another or no
Content-Type is 415 with an ErrorModel, before the body is read (fault ``content-type-500``: 500).
The switches of the legitimate variants (``Context.choices``, sandbox/variants.py) are read here
where each behaviour lives, as the faults are.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response

from stet_conformance.sandbox import data
from stet_conformance.sandbox.auth import Caller
from stet_conformance.sandbox.consents import AccessError, Consent, apply_consent, parse_access
from stet_conformance.sandbox.personas import Account, Persona
from stet_conformance.sandbox.responses import (
    BASE,
    JSON,
    ApiError,
    empty_response,
    hal_response,
)
from stet_conformance.sandbox.state import DAILY_BATCH_CALLS, SandboxState
from stet_conformance.shared.dates import parse_stet_datetime

_AMOUNT = re.compile(r"-?[0-9]{1,13}(\.[0-9]{0,5})?")
_CURRENCY = re.compile(r"[A-Z]{3}")
_OFFSET_WITHOUT_COLON = re.compile(r"[+-][0-9]{4}")
# variant injection-waf-403: what a web application firewall blocks in a query parameter
_INJECTION = re.compile(r"['<>;\x00]|\$\{|\.\./|%00|\{\{")
_EXTRA_IBAN = "FR7612579000920499999999901"
_PARIS = ZoneInfo("Europe/Paris")  # variants zone-less-paris, impute-paris: the bank's zone
STANDING_ORDER_PERIOD = 30  # variant standing-order-references: one schedule every 30 operations


@dataclass(frozen=True)
class Context:
    """One authenticated request."""

    request: Request
    state: SandboxState
    caller: Caller
    body: bytes

    @property
    def faults(self) -> frozenset[str]:
        return self.state.faults

    @property
    def choices(self) -> frozenset[str]:
        return self.state.choices

    def hal(self, body: dict[str, Any]) -> Response:
        """A 2xx resource (variant hal-json-absolute: application/json, absolute hrefs; variant
        hal-relative: hrefs relative to the API base, ``accounts/X/balances``, as STET's own
        examples write them without a leading slash)."""
        if "hal-relative" in self.choices:
            body = _hrefs(body, lambda href: href.removeprefix(BASE + "/"))
        if "hal-json-absolute" not in self.choices:
            return hal_response(body, self.faults)
        origin = str(self.request.base_url).rstrip("/")
        absolute = _hrefs(body, lambda href: origin + href if href.startswith("/") else href)
        return hal_response(absolute, self.faults, media=JSON)

    @property
    def persona(self) -> Persona:
        return self.state.bank.personas[self.caller.token.persona]

    @property
    def today(self) -> dt.date:
        return self.state.clock().date()


def _link(href: str, templated: bool = False) -> dict[str, Any]:
    return {"templated": templated, "href": href}


def _hrefs(value: Any, rewrite: Callable[[str], str]) -> Any:
    """``value`` with every HAL ``href`` rewritten."""
    if isinstance(value, list):
        return [_hrefs(item, rewrite) for item in value]
    if not isinstance(value, dict):
        return value
    copy = {key: _hrefs(item, rewrite) for key, item in value.items()}
    href = copy.get("href")
    if isinstance(href, str):
        copy["href"] = rewrite(href)
    return copy


def rate_limit(ctx: Context, kind: str, account: str = "-") -> None:
    if "psu-ip-address" in ctx.request.headers or "rate-limit-missing" in ctx.faults:
        return
    key: tuple[str, ...] = (ctx.caller.tpp, ctx.persona.key, account, kind)
    if "quota-per-psu" in ctx.choices:
        key = key[:2]
    if ctx.state.count_call(key) > DAILY_BATCH_CALLS:
        raise ApiError(429, "at most 4 calls a day without PSU-IP-Address")


def _place_currency(ctx: Context, item: dict[str, Any]) -> None:
    """Variants account-currency-in-id (both places) and -only-in-id (the portal's place)."""
    if {"account-currency-in-id", "account-currency-only-in-id"} & ctx.choices:
        item["accountId"]["currency"] = item["currency"]
    if "account-currency-only-in-id" in ctx.choices:
        del item["currency"]


def accounts(ctx: Context) -> Response:
    persona = ctx.persona
    consent = ctx.state.consent(ctx.caller.tpp, persona.key)
    rate_limit(ctx, "accounts")
    items = []
    for account in persona.accounts:
        item: dict[str, Any] = {
            "cashAccountType": account.cash_account_type,
            "accountId": {"iban": account.iban},
            "usage": account.usage,
            "psuStatus": "Account Holder",
            "name": persona.name,
            "currency": "EUR",
        }
        _place_currency(ctx, item)
        links = {}
        href = f"{BASE}/accounts/{account.resource_id}"
        if account.iban in consent.balances:
            links["balances"] = _link(f"{href}/balances")
            item["balances"] = [_balance(ctx, account)]
        if account.iban in consent.transactions:
            links["transactions"] = _link(f"{href}/transactions", templated=True)
        if links:
            item["resourceId"] = account.resource_id
            item["_links"] = links
        items.append(item)
    if "accounts-extra-account" in ctx.faults:
        items.append(
            {
                "cashAccountType": "CACC",
                "accountId": {"iban": _EXTRA_IBAN},
                "usage": "PRIV",
                "psuStatus": "Account Holder",
                "name": persona.name,
                "currency": "EUR",
            }
        )
    top: dict[str, Any] = {"self": _link(f"{BASE}/accounts")}
    if consent.psu_identity:
        top["endUserIdentity"] = _link(f"{BASE}/end-user-identity")
    return ctx.hal({"accounts": items, "_links": top})


def _resolve(ctx: Context, resource_id: str, kind: str) -> Account | Response:
    """The PSU's account; 404 for anything else (never leak another PSU's data), 403 if the
    consent does not cover it."""
    own = ctx.persona.account(resource_id)
    if own is not None:
        consent = ctx.state.consent(ctx.caller.tpp, ctx.persona.key)
        allowed = consent.balances if kind == "balances" else consent.transactions
        if own.iban not in allowed:
            status = 404 if "unconsented-404" in ctx.choices else 403
            raise ApiError(status, f"no {kind} consent for this account")
        return own
    found = ctx.state.bank.owner(resource_id)
    if found is not None and "cross-psu-access" in ctx.faults:
        return found[1]
    if found is not None and "consents-other-psu-iban-accepted" in ctx.faults:
        consent = ctx.state.consent(ctx.caller.tpp, ctx.persona.key)
        if found[1].iban in (consent.balances if kind == "balances" else consent.transactions):
            return found[1]  # the consent named another PSU's account, and it is served
    if found is None and kind == "balances" and "unknown-account-403" in ctx.faults:
        raise ApiError(403, "access to this account is not allowed")
    if (
        found is None
        and kind == "transactions"
        and "unknown-account-transactions-204" in ctx.faults
    ):
        return empty_response(204)
    raise ApiError(404, f"{resource_id[:40]} is invalid")


def _balance(ctx: Context, account: Account) -> dict[str, Any]:
    amount: Any = account.balance
    if "balance-sign-dropped" in ctx.faults:
        amount = amount.lstrip("-")
    if "balance-amount-number" in ctx.faults:
        amount = float(amount)
    return {
        "name": f"Solde comptable au {ctx.today:%d/%m/%Y}",
        "balanceType": "XPCD" if "balance-type-xpcd" in ctx.faults else "CLBD",
        "balanceAmount": {"amount": amount, "currency": "EUR"},
        "referenceDate": ctx.today.isoformat(),
    }


def _balances(ctx: Context, account: Account) -> list[dict[str, Any]]:
    """CLBD, and (variant balance-xpcd-too) an instant balance beside it."""
    found = [_balance(ctx, account)]
    if "balance-xpcd-too" in ctx.choices:
        instant = {**found[0], "name": "Solde instantane", "balanceType": "XPCD"}
        found.append(instant)
    return found


def balances(ctx: Context, resource_id: str) -> Response:
    account = _resolve(ctx, resource_id, "balances")
    if isinstance(account, Response):
        return account
    rate_limit(ctx, "balances", account.iban)
    if "zero-balance-204" in ctx.faults and Decimal(account.balance) == 0:
        return empty_response(204)
    href = f"{BASE}/accounts/{account.resource_id}"
    links = {
        "self": _link(f"{href}/balances"),
        "parent-list": _link(f"{BASE}/accounts"),
        "transactions": _link(f"{href}/transactions", templated=True),
    }
    if "links-self-missing" in ctx.faults:
        del links["self"]
    elif "self-href-wrong" in ctx.faults:
        links["self"] = _link(f"{BASE}/accounts")
    return ctx.hal({"balances": _balances(ctx, account), "_links": links})


def _date(ctx: Context, name: str) -> dt.datetime | None:
    value = ctx.request.query_params.get(name)
    if value is None or (not value and "empty-date-absent" in ctx.choices):
        return None
    if "injection-waf-403" in ctx.choices and _INJECTION.search(value):
        raise ApiError(403, f"{name} blocked by the web application firewall")
    parse = partial(
        parse_stet_datetime,
        local=_PARIS if "zone-less-paris" in ctx.choices else dt.UTC,
        require_millis="date-millis-required" in ctx.choices,
    )
    try:
        parsed = parse(value)
    except ValueError as exc:
        if "invalid-date-accepted" in ctx.faults:
            return None
        try:
            if "unicode-digits-accepted" not in ctx.faults:
                raise
            parsed = parse(_ascii_digits(value))
        except ValueError:
            raise ApiError(400, f"{name} is not a valid date-time") from exc
    offset = parsed.utcoffset()
    if "negative-offset-400" in ctx.choices and offset is not None and offset < dt.timedelta():
        raise ApiError(400, f"{name}: the offset must be +HHMM or +HH:MM")
    if "negative-offset-positive" in ctx.faults and offset is not None and offset < dt.timedelta():
        parsed = parsed.replace(tzinfo=dt.timezone(-offset))
    if "offset-500" in ctx.faults and _OFFSET_WITHOUT_COLON.search(value[-5:]):
        raise ApiError(500, "Internal Server Error")
    return parsed


def _ascii_digits(value: str) -> str:
    """What ``\\d`` and ``int()`` make of Unicode digits (fault unicode-digits-accepted)."""
    return "".join(str(unicodedata.digit(ch)) if ch.isdecimal() else ch for ch in value)


def transactions(ctx: Context, resource_id: str) -> Response:
    account = _resolve(ctx, resource_id, "transactions")
    if isinstance(account, Response):
        return account
    faults = ctx.faults
    date_from = None if "datefrom-ignored" in faults else _date(ctx, "dateFrom")
    date_to = None if "dateto-ignored" in faults else _date(ctx, "dateTo")
    owner = ctx.state.bank.owner(account.resource_id)
    history_days = owner[0].history_days if owner else ctx.persona.history_days
    start = data.history_start(ctx.today, history_days)
    if date_from is not None and date_from < start and "depth-unchecked" not in faults:
        raise ApiError(400, f"period out of bound: history is limited to {history_days} days")
    if date_from is not None and date_to is not None and date_from > date_to:
        if "inverted-window-204" in ctx.choices:
            return empty_response(204)
        raise ApiError(400, "dateFrom is after dateTo")
    if "future-dateto-400" in faults and date_to is not None and date_to > ctx.state.clock():
        raise ApiError(400, "dateTo is in the future")
    rate_limit(ctx, "transactions", account.iban)
    chosen = data.select(
        data.transactions_for(account, history_days, ctx.today),
        date_from,
        date_to,
        from_exclusive="datefrom-exclusive" in faults,
        to_inclusive="dateto-inclusive" in faults,
        cap=None if "cap-ignored" in faults else data.MAX_OPERATIONS,
        zone=_PARIS if "impute-paris" in ctx.choices else dt.UTC,
    )
    if not chosen and "empty-history-200" not in faults:
        return empty_response(204)
    if "oldest-first" in ctx.choices:
        chosen.reverse()
    items = _transaction_items(ctx, account, chosen)
    href = f"{BASE}/accounts/{account.resource_id}"
    links = {
        "self": _link(f"{href}/transactions", templated=True),
        "parent-list": _link(f"{BASE}/accounts"),
        "balances": _link(f"{href}/balances"),
    }
    return ctx.hal({"transactions": items, "_links": links})


def _transaction_items(
    ctx: Context, account: Account, chosen: list[data.Transaction]
) -> list[dict[str, Any]]:
    """The STET transactions of the list, as the bank's faults and choices write them."""
    references = "all" if "entry-reference-always" in ctx.faults else account.entry_reference
    pdng = "status-pdng" in ctx.faults or "pending-pdng" in ctx.choices
    items = [
        tx.to_stet(
            entry_reference=references,
            status="PDNG" if pdng and tx.status == "OTHR" else None,
        )
        for tx in chosen
    ]
    if "transaction-nulls" in ctx.choices:
        items = [_with_nulls(item) for item in items]
    if "standing-order-references" in ctx.choices:
        _share_standing_order_references(items)
    return items


def _share_standing_order_references(items: list[dict[str, Any]]) -> None:
    """Variant standing-order-references: every STANDING_ORDER_PERIOD-th operation is a
    schedule of one standing order, all with its entryReference (the portal's Note 1)."""
    schedules = [i for i in items[::STANDING_ORDER_PERIOD] if i.get("entryReference")]
    for schedule in schedules[1:]:
        schedule["entryReference"] = schedules[0]["entryReference"]


def _with_nulls(item: dict[str, Any]) -> dict[str, Any]:
    """Variant transaction-nulls: the portal's example writes an absent field as null."""
    return {"resourceId": None, "entryReference": None, **item}


def _json_body(ctx: Context) -> object:
    try:
        return json.loads(ctx.body or b"null")
    except ValueError as exc:
        raise ApiError(400, "the body is not JSON") from exc


def _is_json(body: bytes) -> bool:
    try:
        json.loads(body)
    except ValueError:
        return False
    return True


def _require_json_content_type(ctx: Context) -> None:
    value = ctx.request.headers.get("content-type", "")
    if value.split(";", 1)[0].strip().lower() == "application/json":
        return
    if "content-type-lenient" in ctx.choices:
        return  # the body is read as JSON whatever it is labelled (RFC 9110 8.3)
    if "content-type-500" in ctx.faults:
        raise ApiError(500, "Internal Server Error")
    raise ApiError(415, "the body must be sent as Content-Type: application/json")


def consents(ctx: Context) -> Response:
    persona = ctx.persona
    _require_json_content_type(ctx)
    if "consents-malformed-body-accepted" in ctx.faults and not _is_json(ctx.body):
        return empty_response(201)
    new = _requested_consent(ctx)
    key = (ctx.caller.tpp, persona.key)
    if "consent-revoke-final" in ctx.faults and _revoked(ctx.state.consents.get(key)):
        raise ApiError(403, "every account was revoked: the consent cannot be changed")
    ctx.state.consents[key] = apply_consent(
        ctx.state.consent(*key),
        new,
        merge="consent-merged" in ctx.faults,
        keep_on_empty="consent-revoke-ignored" in ctx.faults,
    )
    status = 200 if "consents-put-200" in ctx.faults else 201
    if "consent-body-json" in ctx.choices:
        return Response(b"{}", status, media_type=JSON)
    return empty_response(status)


def _revoked(sent: Consent | None) -> bool:
    """Whether the TPP's last PUT /consents (``None``: none since the reset) revoked every
    account (the fault consent-revoke-final then refuses the next ones)."""
    return sent is not None and not (sent.balances or sent.transactions)


def _requested_consent(ctx: Context) -> Consent:
    """The body's consent, or 400; the variant consent-lenient takes a body without
    trustedBeneficiaries and leaves another PSU's account out (never consented)."""
    lenient = "consent-lenient" in ctx.choices
    try:
        new = parse_access(_json_body(ctx), _consentable(ctx), lenient=lenient)
    except AccessError as exc:
        raise ApiError(400, str(exc)) from exc
    if not lenient:
        return new
    own = ctx.persona.ibans
    return replace(new, balances=new.balances & own, transactions=new.transactions & own)


def _consentable(ctx: Context) -> frozenset[str]:
    """The IBANs a consent may name: the PSU's (fault consents-other-psu-iban-accepted and the
    variant consent-lenient: any)."""
    if not {"consents-other-psu-iban-accepted", "consent-lenient"} & (ctx.faults | ctx.choices):
        return ctx.persona.ibans
    return frozenset(a.iban for p in ctx.state.bank.personas.values() for a in p.accounts)


def identity(ctx: Context) -> Response:
    if "identity-unavailable" in ctx.choices:  # the portal's Limits: identity NOT available
        raise ApiError(501, "access to the account holder's identity is not available")
    persona = ctx.persona
    consent = ctx.state.consent(ctx.caller.tpp, persona.key)
    if not consent.psu_identity and "identity-consent-ignored" not in ctx.faults:
        raise ApiError(403, "the PSU has not consented to share their identity")
    rate_limit(ctx, "identity")
    if "identity-lean" in ctx.choices:  # a shape outside the unverified schema
        return ctx.hal({"connectedPsuLastName": persona.last_name})
    body: dict[str, Any] = {
        "connectedPsu": f"{persona.first_name} {persona.last_name}".strip(),
        "connectedPsuLastName": persona.last_name,
    }
    if persona.first_name:
        body["connectedPsuFirstName"] = persona.first_name
    if "identity-no-connected-psu" in ctx.faults:
        del body["connectedPsu"]
    body["_links"] = {"self": _link(f"{BASE}/end-user-identity")}
    return ctx.hal(body)


def short_amount(text: str) -> str:
    """Variant amounts-short: the same decimal with fewer zeros ("10.00" -> "10.0")."""
    if "." not in text:
        return text
    shorter = text.rstrip("0")
    return shorter + "0" if shorter.endswith(".") else shorter


def _comma_read(ctx: Context, amount: Any) -> Any:
    """Fault funds-amount-lenient and variant funds-amount-comma read "12,50" as 12.50."""
    lenient = "funds-amount-lenient" in ctx.faults or "funds-amount-comma" in ctx.choices
    if lenient and isinstance(amount, dict) and isinstance(amount.get("amount"), str):
        return {**amount, "amount": amount["amount"].replace(",", ".")}
    return amount


def funds_confirmation(ctx: Context) -> Response:
    body = _json_body(ctx)
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a PaymentCoverageRequestResource")
    request_id = body.get("paymentCoverageRequestId")
    amount = _comma_read(ctx, body.get("instructedAmount"))
    if "funds-amount-comma" in ctx.choices:  # echoed as read, inside STET's pattern
        body = {**body, "instructedAmount": amount}
    account_id = body.get("accountId")
    if not isinstance(request_id, str) or not 0 < len(request_id) <= 35:
        raise ApiError(400, "paymentCoverageRequestId must be 1 to 35 characters")
    if not (
        isinstance(amount, dict)
        and isinstance(amount.get("amount"), str)
        and _AMOUNT.fullmatch(amount["amount"])
        and isinstance(amount.get("currency"), str)
        and _CURRENCY.fullmatch(amount["currency"])
    ):
        raise ApiError(400, "instructedAmount must be {amount, currency} strings")
    iban = account_id.get("iban") if isinstance(account_id, dict) else None
    if not isinstance(iban, str):
        raise ApiError(400, "accountId.iban is required")
    account = next((a for a in ctx.persona.accounts if a.iban == iban), None)
    if account is None and "funds-other-psu-account" in ctx.faults:
        everyone = (a for p in ctx.state.bank.personas.values() for a in p.accounts)
        account = next((a for a in everyone if a.iban == iban), None)
    if account is None:
        status = 400 if "funds-other-psu-400" in ctx.choices else 403
        raise ApiError(status, "the account is not one of the PSU's")
    try:
        covered = amount["currency"] == "EUR" and Decimal(account.balance) >= Decimal(
            amount["amount"]
        )
    except InvalidOperation as exc:
        raise ApiError(400, "instructedAmount.amount is not a number") from exc
    if "funds-always-covered" in ctx.faults:
        covered = True
    if "amounts-short" in ctx.choices:
        body = {**body, "instructedAmount": {**amount, "amount": short_amount(amount["amount"])}}
    report = {
        "request": body,
        "result": covered,
        "_links": {"self": _link(f"{BASE}/funds-confirmations")},
    }
    return ctx.hal(report)
