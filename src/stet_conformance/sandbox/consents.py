"""The AISP consent model of the bank (STET "mixed detailed consent", seed: Forward PSU consent).

A consent is recorded per TPP and PSU. Each ``PUT /consents`` replaces the previous one; lists
with no account revoke every account. Kept free of HTTP so the rules are unit-testable.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

_ACCESS_KEYS = ("balances", "transactions", "psuIdentity", "trustedBeneficiaries")


@dataclass(frozen=True)
class Consent:
    """Which IBANs the TPP may read balances/transactions of, and whether identity is shared."""

    balances: frozenset[str]
    transactions: frozenset[str]
    psu_identity: bool
    trusted_beneficiaries: bool = False


class AccessError(ValueError):
    """A ``PUT /consents`` body that the bank refuses with 400 (message safe to show)."""


def parse_access(body: object, own_ibans: Collection[str], *, lenient: bool = False) -> Consent:
    """Validate an STET ``Access`` body; every IBAN must be one of the PSU's.

    ``lenient`` (variant consent-lenient): trustedBeneficiaries may be left out, since the portal
    says its value is not used.
    """
    if not isinstance(body, dict):
        raise AccessError("the body must be a JSON object (STET Access)")
    if lenient:
        body = {"trustedBeneficiaries": False, **body}
    missing = [key for key in _ACCESS_KEYS if key not in body]
    if missing:
        raise AccessError(f"missing field(s): {', '.join(missing)}")
    lists = {key: _ibans(body[key], key, own_ibans) for key in ("balances", "transactions")}
    flags = {}
    for key in ("psuIdentity", "trustedBeneficiaries"):
        if not isinstance(body[key], bool):
            raise AccessError(f"{key} must be a boolean")
        flags[key] = body[key]
    return Consent(
        lists["balances"],
        lists["transactions"],
        flags["psuIdentity"],
        flags["trustedBeneficiaries"],
    )


def _ibans(value: object, key: str, own_ibans: Collection[str]) -> frozenset[str]:
    if not isinstance(value, list):
        raise AccessError(f"{key} must be an array of account identifications")
    found = set()
    for item in value:
        iban = item.get("iban") if isinstance(item, dict) else None
        if not isinstance(iban, str):
            raise AccessError(f"{key}: each item must carry an iban")
        if iban not in own_ibans:
            raise AccessError(f"{key}: {iban[:34]} is not an account of this PSU")
        found.add(iban)
    return frozenset(found)


def apply_consent(
    old: Consent, new: Consent, *, merge: bool = False, keep_on_empty: bool = False
) -> Consent:
    """The consent in force after ``PUT /consents``: ``new`` replaces ``old``.

    ``merge`` and ``keep_on_empty`` are the faults consent-merged and consent-revoke-ignored.
    """
    if merge:
        return Consent(
            old.balances | new.balances,
            old.transactions | new.transactions,
            old.psu_identity or new.psu_identity,
            old.trusted_beneficiaries or new.trusted_beneficiaries,
        )
    if keep_on_empty:
        return Consent(
            new.balances or old.balances,
            new.transactions or old.transactions,
            new.psu_identity,
            new.trusted_beneficiaries,
        )
    return new
