"""Deterministic transaction histories for the personas' accounts.

Each account's history is generated from a PRNG seeded by its IBAN and dated relative to today
(UTC), so every run serves the same amounts and labels while the dates stay inside the bank's
history depth. Bookings are spread over the last ``history_days`` days (today included), newest
first; the last two days are still ``OTHR`` (not booked), older ones ``BOOK``. The bank never
uses ``PDNG`` (seed: Get transactions history).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from stet_conformance.sandbox.personas import Account
from stet_conformance.shared.dates import day_start

MAX_OPERATIONS = 500  # seed limits: "limited to 500 operations, no paginations"
PENDING_DAYS = 2
_LABELS = (
    "Retrait Carte",
    "Paiement CB CARREFOUR MARKET",
    "Virement SEPA recu",
    "Prelevement EDF",
    "Paiement CB SNCF",
    "Virement permanent epargne",
    "Cotisation carte",
    "Prelevement FREE MOBILE",
    "Remise de cheque",
    "Paiement CB AMAZON EU",
)


@dataclass(frozen=True)
class Transaction:
    """One operation; ``imputation()`` is the instant dateFrom/dateTo filter on."""

    entry_reference: str
    amount: str
    credit_debit: str
    status: str
    booking_date: dt.date
    value_date: dt.date
    transaction_date: dt.date
    remittance: str

    def imputation(self, zone: dt.tzinfo = dt.UTC) -> dt.datetime:
        """00:00 of the booking day in the bank's ``zone`` (variant impute-paris: Paris)."""
        return day_start(self.booking_date, zone)

    def to_stet(self, *, entry_reference: str, status: str | None = None) -> dict[str, Any]:
        """The STET ``Transaction`` object; ``entry_reference`` is the account's all/none/some.

        ``some``: booked operations carry their reference, the others an empty one (the portal
        gives Paylib operations a reference once booked only).
        """
        body: dict[str, Any] = {
            "transactionAmount": {"amount": self.amount, "currency": "EUR"},
            "creditDebitIndicator": self.credit_debit,
            "status": status or self.status,
            "bookingDate": self.booking_date.isoformat(),
            "valueDate": self.value_date.isoformat(),
            "transactionDate": self.transaction_date.isoformat(),
            "remittanceInformation": [self.remittance],
        }
        if entry_reference == "all" or (entry_reference == "some" and self.status == "BOOK"):
            body["entryReference"] = self.entry_reference
        elif entry_reference == "some":
            body["entryReference"] = ""
        return body


def history_start(today: dt.date, history_days: int) -> dt.datetime:
    """The earliest dateFrom the bank accepts: today 00:00 UTC minus ``history_days`` days."""
    return dt.datetime.combine(today, dt.time(), tzinfo=dt.UTC) - dt.timedelta(days=history_days)


@lru_cache(maxsize=64)
def transactions_for(
    account: Account, history_days: int, today: dt.date
) -> tuple[Transaction, ...]:
    """The account's whole history, newest first."""
    rng = random.Random(account.iban)
    count = account.transactions
    prefix = "".join(ch for ch in account.resource_id if ch.isalnum())[:21].rjust(21, "0")
    result = []
    for index in range(count):
        age = index * history_days // count
        booking = today - dt.timedelta(days=age)
        credit = rng.random() < 0.3
        cents = rng.randint(100, 250_000 if credit else 40_000)
        sequence = count - index
        result.append(
            Transaction(
                entry_reference=f"{prefix}{booking:%Y%m%d}{sequence:011d}",
                amount=f"{cents // 100}.{cents % 100:02d}",
                credit_debit="CRDT" if credit else "DBIT",
                status="OTHR" if age < PENDING_DAYS else "BOOK",
                booking_date=booking,
                value_date=booking + dt.timedelta(days=rng.randint(0, 1)),
                transaction_date=booking - dt.timedelta(days=rng.randint(0, 2)),
                remittance=rng.choice(_LABELS),
            )
        )
    return tuple(result)


def select(
    transactions: Sequence[Transaction],
    date_from: dt.datetime | None,
    date_to: dt.datetime | None,
    *,
    from_exclusive: bool = False,
    to_inclusive: bool = False,
    cap: int | None = MAX_OPERATIONS,
    zone: dt.tzinfo = dt.UTC,
) -> list[Transaction]:
    """Filter on the imputation instant: dateFrom inclusive, dateTo exclusive; keep the newest.

    ``from_exclusive``/``to_inclusive`` are the faults datefrom-exclusive and dateto-inclusive;
    ``zone`` is the zone of the bank's midnight (variant impute-paris).
    """
    chosen = []
    for tx in transactions:
        instant = tx.imputation(zone)
        if date_from is not None and (
            instant <= date_from if from_exclusive else instant < date_from
        ):
            continue
        if date_to is not None and (instant > date_to if to_inclusive else instant >= date_to):
            continue
        chosen.append(tx)
    return chosen if cap is None else chosen[:cap]
