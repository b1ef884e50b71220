"""Saved payment requests (PISP): the model and the fixtures the sandbox starts with.

The PISP posted each request earlier, the bank saved it (status ACTC) and the PSU approved it
through the OAuth2 redirect flow; ``fixtures/payment_requests.yaml`` lists them. Confirming one
(``pisp.py``) makes it ACSP. The state holds them, so this module imports no request handling.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from stet_conformance.sandbox.responses import BASE
from stet_conformance.shared.resources import fixtures_dir

CONFIRMATION = "o-confirmation"
_CREATED = "2026-01-15T10:30:00.000+01:00"
_PISP = {
    "name": "CONFORMANCE PISP",
    "organisationId": {"identification": "13807", "schemeName": "COID", "issuer": "ACPR"},
}


@dataclass
class PaymentRequest:
    """One saved payment request; ``status`` is STET's paymentInformationStatus."""

    resource_id: str
    persona: str
    debtor_iban: str
    amount: str
    creditor: str
    creditor_iban: str
    remittance: str
    status: str = "ACTC"

    @property
    def confirmed(self) -> bool:
        return self.status != "ACTC"

    def to_stet(self, *, confirmation_link: bool, with_id: bool = True) -> dict[str, Any]:
        """The HalPaymentRequest; ``with_id=False`` leaves out the optional resourceId."""
        href = f"{BASE}/payment-requests/{self.resource_id}"
        links: dict[str, Any] = {"self": {"href": href}}
        if confirmation_link:
            links["confirmation"] = {"href": f"{href}/{CONFIRMATION}"}
        transaction_status = "ACSP" if self.confirmed else "PDNG"
        request: dict[str, Any] = {"resourceId": self.resource_id} if with_id else {}
        request |= {
            "paymentInformationId": self.resource_id,
            "creationDateTime": _CREATED,
            "numberOfTransactions": 1,
            "initiatingParty": _PISP,
            "paymentTypeInformation": {"serviceLevel": "SEPA"},
            "debtorAccount": {"iban": self.debtor_iban},
            "beneficiary": {
                "creditor": {"name": self.creditor},
                "creditorAccount": {"iban": self.creditor_iban},
            },
            "paymentInformationStatus": self.status,
            "creditTransferTransaction": [
                {
                    "paymentId": {
                        "resourceId": f"{self.resource_id}-1",
                        "instructionId": f"{self.resource_id}-1",
                        "endToEndId": f"{self.resource_id}-E2E",
                    },
                    "instructedAmount": {"amount": self.amount, "currency": "EUR"},
                    "remittanceInformation": [self.remittance],
                    "transactionStatus": transaction_status,
                }
            ],
            "supplementaryData": {"acceptedAuthenticationApproach": ["REDIRECT"]},
        }
        return {"paymentRequest": request, "_links": links}


def load_payment_requests(path: Path | None = None) -> dict[str, PaymentRequest]:
    """The saved payment requests of ``fixtures/payment_requests.yaml``, by resource id."""
    source = path or fixtures_dir() / "payment_requests.yaml"
    raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    found: dict[str, PaymentRequest] = {}
    for persona, items in (raw.get("payment_requests") or {}).items():
        for item in items:
            request = PaymentRequest(
                resource_id=str(item["resource_id"]),
                persona=str(persona),
                debtor_iban=str(item["debtor_iban"]),
                amount=str(item["amount"]),
                creditor=str(item["creditor"]),
                creditor_iban=str(item["creditor_iban"]),
                remittance=str(item["remittance"]),
            )
            found[request.resource_id] = request
    return found
