"""What a profile declares of a persona's data, read alike by the scenarios and the suites.

A bank describes its test personas in its profile (``personas.<P>.data``, merged over
``fixtures/personas.yaml``): accounts with IBAN, resource id, expected balance, number of
transactions and ``entry_reference`` (``all``, ``none`` or ``some`` of its transactions carry
one; true and false mean all and none; not declared: all), the recorded ``consent``, the
``history_days`` it serves, and the ``funds`` a confirmation may test. Scenarios pick an account
by what it is for (a role), never by its position, so any order and any number of accounts work,
and restore a consent from what the profile declares.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

Persona = Mapping[str, Any]
Account = Mapping[str, Any]

DEFAULT_HISTORY_DAYS = 62  # the portal's depth for retail and small professional customers
OVER_CAP = 500  # the portal's cap on listed operations


def consented(persona: Persona, kind: str) -> frozenset[str]:
    """The IBANs the recorded consent covers for ``balances`` or ``transactions``."""
    value = (persona.get("consent") or {}).get(kind)
    if value == "all":
        return frozenset(str(a.get("iban")) for a in accounts(persona))
    if isinstance(value, list):
        return frozenset(str(iban) for iban in value)
    return frozenset()


def accounts(persona: Persona) -> list[Account]:
    found = persona.get("accounts")
    return [a for a in found if isinstance(a, Mapping)] if isinstance(found, list) else []


def _balance(account: Account) -> Decimal | None:
    try:
        return Decimal(str(account.get("balance")))
    except InvalidOperation:
        return None


def _count(account: Account) -> int:
    value = account.get("transactions")
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def entry_reference(account: Account) -> str:
    """Which of the account's transactions carry an entryReference: all, none or some."""
    value = account.get("entry_reference", "all")
    if isinstance(value, bool):
        return "all" if value else "none"
    return str(value) if value in ("all", "none", "some") else "all"


def _sign(wanted: int) -> Callable[[Persona, Account], bool]:
    def holds(persona: Persona, account: Account) -> bool:
        balance = _balance(account)
        return _readable(persona, account) and balance is not None and balance.compare(0) == wanted

    return holds


def _readable(persona: Persona, account: Account) -> bool:
    return str(account.get("iban")) in consented(persona, "balances")


def _listed(persona: Persona, account: Account) -> bool:
    return str(account.get("iban")) in consented(persona, "transactions")


def _history(persona: Persona, account: Account) -> bool:
    return _listed(persona, account) and _count(account) > 0


ROLES: dict[str, tuple[str, Callable[[Persona, Account], bool]]] = {
    "balances": ("an account consented for balances", _readable),
    "transactions": ("an account consented for transactions", _listed),
    "negative": ("a readable account with a negative balance", _sign(-1)),
    "zero": ("a readable account with a zero balance", _sign(0)),
    "positive": ("a readable account with a positive balance", _sign(1)),
    "empty": (
        "a consented account without transactions",
        lambda p, a: _listed(p, a) and _count(a) == 0,
    ),
    "history": ("a consented account with transactions", _history),
    "empty_entry_reference": (
        "a consented account with transactions and entry_reference none or some",
        lambda p, a: _history(p, a) and entry_reference(a) in ("none", "some"),
    ),
    "over_cap": (
        f"a consented account with more than {OVER_CAP} transactions",
        lambda p, a: _listed(p, a) and _count(a) > OVER_CAP,
    ),
}


def undeclared(persona: str, role: str) -> str:
    """Why a scenario or suite needing ``role`` of ``persona`` cannot run at this bank."""
    return (
        f"the profile declares no account of {persona} for role {role!r} ({ROLES[role][0]}): "
        f"personas.{persona}.data.accounts"
    )


def select_account(persona: Persona, role: str) -> Account | None:
    """The first declared account that plays ``role`` (a key of ``ROLES``), or None."""
    holds = ROLES[role][1]
    return next((a for a in accounts(persona) if holds(persona, a)), None)


def consent_body(persona: Persona) -> dict[str, Any]:
    """The STET ``Access`` body of the recorded consent (``all`` = every declared account)."""
    consent = persona.get("consent") or {}
    order = [str(a.get("iban")) for a in accounts(persona)]

    def items(kind: str) -> list[dict[str, str]]:
        chosen = consented(persona, kind)
        return [{"iban": iban} for iban in order if iban in chosen]

    return {
        "balances": items("balances"),
        "transactions": items("transactions"),
        "psuIdentity": bool(consent.get("psu_identity", False)),
        "trustedBeneficiaries": False,
    }


def history_days(persona: Persona) -> int:
    value = persona.get("history_days", DEFAULT_HISTORY_DAYS)
    return value if isinstance(value, int) and not isinstance(value, bool) else DEFAULT_HISTORY_DAYS
