"""PISP: confirmation of a saved payment request (seed: ``/payment-requests/{id}/o-confirmation``).

The portal lists only the confirmation (STET 1.4.2 ``paymentRequestOConfirmation``; STET 1.4.0
names it ``/confirmation``): the PISP posted the request earlier, the bank saved it, the PSU
approved it through the OAuth2 redirect flow. The sandbox starts with the requests of
``fixtures/payment_requests.yaml`` saved (status ACTC). The body is a ``ConfirmationResource``,
a JSON object even when empty. A confirmed request is ACSP and loses its ``confirmation`` link;
confirming it again is 409; a request of another PSU or an unknown id is 404. The variant
switches payment-request-400, confirmation-body-optional, confirmation-lean and amounts-short
take the other answers the sources allow (neither lists 404 for the confirmation; STET makes the
body optional; an amount is a decimal number, however many zeros it ends with).
"""

from __future__ import annotations

import json

from starlette.responses import Response

from stet_conformance.sandbox.endpoints import Context, short_amount
from stet_conformance.sandbox.responses import ApiError


def confirm(ctx: Context, resource_id: str) -> Response:
    """``POST /payment-requests/{id}/o-confirmation`` once authenticated and scoped (pisp)."""
    faults, choices = ctx.faults, ctx.choices
    request = ctx.state.payments.get(resource_id)
    other_psu = request is not None and request.persona != ctx.persona.key
    if request is None or (other_psu and "payment-request-other-psu-ok" not in faults):
        status = 400 if "payment-request-400" in choices else 404
        raise ApiError(status, f"no payment request {resource_id[:35]} for this PSU")
    try:
        body = json.loads(ctx.body) if ctx.body.strip() else None
    except ValueError as exc:
        raise ApiError(400, "the body is not JSON (ConfirmationResource)") from exc
    if not isinstance(body, dict) and "confirmation-body-optional" not in choices:
        raise ApiError(400, "a ConfirmationResource JSON object is required, even when empty")
    factor = body.get("psuAuthenticationFactor") if isinstance(body, dict) else None
    if factor is not None and not isinstance(factor, str):
        raise ApiError(400, "psuAuthenticationFactor must be a string")
    if request.confirmed and "confirmation-twice-200" not in faults:
        status = 400 if "confirmation-twice-400" in faults else 409
        raise ApiError(status, "the payment request is already confirmed")
    unchanged = "confirmation-status-unchanged" in faults
    lean = "confirmation-lean" in choices
    if not unchanged:
        request.status = "ACCP" if lean else "ACSP"
    body = request.to_stet(confirmation_link=unchanged, with_id=not lean)
    if "amounts-short" in choices:
        for item in body["paymentRequest"]["creditTransferTransaction"]:
            item["instructedAmount"]["amount"] = short_amount(item["instructedAmount"]["amount"])
    return ctx.hal(body)
