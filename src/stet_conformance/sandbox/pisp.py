"""PISP: confirmation of a saved payment request (seed: ``/payment-requests/{id}/o-confirmation``).

The portal lists only the confirmation (STET 1.4.2 ``paymentRequestOConfirmation``; STET 1.4.0
names it ``/confirmation``): the PISP posted the request earlier, the bank saved it, the PSU
approved it through the OAuth2 redirect flow. The sandbox starts with the requests of
``fixtures/payment_requests.yaml`` saved (status ACTC). The body is a ``ConfirmationResource``,
a JSON object even when empty. A confirmed request is ACSP and loses its ``confirmation`` link;
confirming it again is 409; a request of another PSU or an unknown id is 404.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from starlette.responses import Response

from stet_conformance.sandbox.responses import ApiError, hal_response
from stet_conformance.shared.resources import fixtures_dir

if TYPE_CHECKING:
    from stet_conformance.sandbox.resources import Context

BASE = "/stet/psd2/v1.4.2"
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

    def to_stet(self, *, confirmation_link: bool) -> dict[str, Any]:
        href = f"{BASE}/payment-requests/{self.resource_id}"
        links: dict[str, Any] = {"self": {"href": href}}
        if confirmation_link:
            links["confirmation"] = {"href": f"{href}/{CONFIRMATION}"}
        transaction_status = "ACSP" if self.confirmed else "PDNG"
        request = {
            "resourceId": self.resource_id,
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


def confirm(ctx: Context, resource_id: str) -> Response:
    """``POST /payment-requests/{id}/o-confirmation`` once authenticated and scoped (pisp)."""
    faults = ctx.faults
    request = ctx.state.payments.get(resource_id)
    if request is None or request.persona != ctx.persona.key:
        status = 400 if "payment-request-unknown-400" in faults else 404
        raise ApiError(status, f"no payment request {resource_id[:35]} for this PSU")
    try:
        body = json.loads(ctx.body) if ctx.body.strip() else None
    except ValueError as exc:
        raise ApiError(400, "the body is not JSON (ConfirmationResource)") from exc
    if not isinstance(body, dict) and "confirmation-body-optional" not in faults:
        raise ApiError(400, "a ConfirmationResource JSON object is required, even when empty")
    factor = body.get("psuAuthenticationFactor") if isinstance(body, dict) else None
    if factor is not None and not isinstance(factor, str):
        raise ApiError(400, "psuAuthenticationFactor must be a string")
    if request.confirmed and "confirmation-twice-200" not in faults:
        raise ApiError(409, "the payment request is already confirmed")
    unchanged = "confirmation-status-unchanged" in faults
    if not unchanged:
        request.status = "ACSP"
    return hal_response(request.to_stet(confirmation_link=unchanged), faults)
