"""Response builders: STET ErrorModel errors and HAL JSON bodies, with their fault variants."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from starlette.responses import Response

from stet_conformance.shared.dates import format_stet_datetime

BASE = "/stet/psd2/v1.4.2"  # the path prefix of every resource and HAL link
HAL_JSON = "application/hal+json; charset=utf-8"
JSON = "application/json; charset=utf-8"
TEXT = "text/plain; charset=utf-8"


class ApiError(Exception):
    """An error answered with an ErrorModel body."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        error: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error = error
        self.headers = dict(headers or {})


def dumps(body: object) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


PORTAL_ONLY_ERRORS = (409, 501)  # the portal lists them; STET 1.4.0.47 gives them no body format


def error_response(
    exc: ApiError,
    path: str,
    faults: frozenset[str],
    now: Any,
    choices: frozenset[str] = frozenset(),
) -> Response:
    """The ErrorModel ``{timestamp, status, error, message, path}`` for an ``ApiError``.

    Variant error-model-lean: STET's own example form, a ``+0000`` timestamp and only
    ``status`` and ``message`` (plus ``error`` when it is an OAuth error code). Variants
    error-409-501-bare and error-409-501-text: 409 and 501 without a body, or with the message
    as text/plain (STET 1.4.0.47 defines no response for them).
    """
    reason = HTTPStatus(exc.status).phrase
    body: dict[str, Any] = {
        "timestamp": format_stet_datetime(now),
        "status": exc.status,
        "error": exc.error or reason,
        "message": exc.message[:140],
        "path": path[:140],
    }
    if "error-model-lean" in choices:
        body = {"timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"}
        body |= {"status": exc.status, "message": exc.message[:140]}
        if exc.error:
            body["error"] = exc.error
    if exc.status in PORTAL_ONLY_ERRORS and "error-409-501-bare" in choices:
        return Response(b"", exc.status, exc.headers)
    if exc.status in PORTAL_ONLY_ERRORS and "error-409-501-text" in choices:
        return Response(exc.message, exc.status, exc.headers, media_type=TEXT)
    if "error-model-no-status" in faults:
        del body["status"]
    if "error-body-html" in faults and 400 <= exc.status < 500:
        page = (
            f"<html><body><h1>{exc.status} {html.escape(reason)}</h1>"
            f"<p>{html.escape(exc.message)}</p></body></html>"
        )
        return Response(page, exc.status, exc.headers, media_type="text/html; charset=utf-8")
    return Response(dumps(body), exc.status, exc.headers, media_type=JSON)


def hal_response(
    body: object, faults: frozenset[str], status: int = 200, media: str = HAL_JSON
) -> Response:
    """A 2xx HAL JSON body (served as text/plain under the fault hal-content-type-wrong)."""
    if "hal-content-type-wrong" in faults:
        media = TEXT
    return Response(dumps(body), status, media_type=media)


def empty_response(status: int) -> Response:
    return Response(b"", status)


def oauth_error(status: int, error: str, description: str) -> Response:
    """An RFC 6749 error body (the OAuth endpoints do not use STET's ErrorModel)."""
    body = {"error": error, "error_description": description}
    return Response(dumps(body), status, {"Cache-Control": "no-store"}, media_type=JSON)
