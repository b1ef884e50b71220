"""The sandbox's test personas, loaded from ``fixtures/personas.yaml`` (see its header comment).

The fixture is shared with the scenarios, so the sandbox and the tests agree on IBANs, balances
and transaction counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from stet_conformance.sandbox.consents import Consent
from stet_conformance.shared.resources import fixtures_dir


@dataclass(frozen=True)
class Account:
    """One payment account of a persona."""

    iban: str
    resource_id: str
    balance: str
    cash_account_type: str
    usage: str
    transactions: int
    entry_reference: str  # all, none or some (booked operations only; the others carry "")


@dataclass(frozen=True)
class Persona:
    """A PSU of the sandbox bank, with the consent recorded for it at start."""

    key: str
    name: str
    online_id: str
    segment: str
    first_name: str
    last_name: str
    history_days: int
    consent: Consent
    accounts: tuple[Account, ...]

    @property
    def ibans(self) -> frozenset[str]:
        return frozenset(account.iban for account in self.accounts)

    def account(self, resource_id: str) -> Account | None:
        return next((a for a in self.accounts if a.resource_id == resource_id), None)


@dataclass(frozen=True)
class Bank:
    """All personas, keyed by their upper-case name (LEA, CLAIRE, ...)."""

    personas: dict[str, Persona]
    unknown_account: str

    def owner(self, resource_id: str) -> tuple[Persona, Account] | None:
        """Which persona holds an account resource id (any persona)."""
        for persona in self.personas.values():
            account = persona.account(resource_id)
            if account is not None:
                return persona, account
        return None


def load_bank(path: Path | None = None) -> Bank:
    """Read the personas fixture; ``path`` defaults to ``fixtures/personas.yaml``."""
    source = path or fixtures_dir() / "personas.yaml"
    raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    personas = {key: _persona(key, value) for key, value in raw["personas"].items()}
    return Bank(personas, str(raw.get("unknown_account", "")))


def _persona(key: str, raw: dict[str, Any]) -> Persona:
    accounts = tuple(
        Account(
            iban=str(item["iban"]),
            resource_id=str(item["resource_id"]),
            balance=str(item["balance"]),
            cash_account_type=str(item["cash_account_type"]),
            usage=str(item["usage"]),
            transactions=int(item["transactions"]),
            entry_reference=_entry_reference(item["entry_reference"]),
        )
        for item in raw["accounts"]
    )
    all_ibans = frozenset(account.iban for account in accounts)
    consent = raw["consent"]
    return Persona(
        key=key,
        name=str(raw["name"]),
        online_id=str(raw["online_id"]),
        segment=str(raw["segment"]),
        first_name=str(raw["identity"]["first_name"]),
        last_name=str(raw["identity"]["last_name"]),
        history_days=int(raw["history_days"]),
        consent=Consent(
            balances=_consented(consent["balances"], all_ibans),
            transactions=_consented(consent["transactions"], all_ibans),
            psu_identity=bool(consent["psu_identity"]),
        ),
        accounts=accounts,
    )


def _entry_reference(value: object) -> str:
    """The fixture's ``entry_reference``: true (all), false (none) or "some"."""
    if isinstance(value, bool):
        return "all" if value else "none"
    if value in ("all", "none", "some"):
        return str(value)
    raise ValueError(f"entry_reference must be true, false or some, not {value!r}")


def _consented(value: object, all_ibans: frozenset[str]) -> frozenset[str]:
    if value == "all":
        return all_ibans
    if isinstance(value, list):
        return frozenset(str(iban) for iban in value)
    return frozenset()
