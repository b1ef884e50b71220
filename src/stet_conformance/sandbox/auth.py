"""Request authentication, in the order the bank applies it.

1. mTLS: the QWAC presented at TLS level names the TPP (organizationIdentifier).
2. ``X-Request-ID``: required, at most 70 characters.
3. ``Signature`` (draft-cavage, rsa-sha256) whose keyId designates the registered QSEAL, either
   as a URL ending in ``_<sha256 fingerprint>`` or as ``SN=<serial hex>,CA=<issuer>``; the signed
   headers must cover ``(request-target)``, ``digest`` and ``psu-ip-address`` when sent; ``Digest``
   must match the body (SHA-256 or SHA-512); a signed ``date`` must be within 300 s. In the
   replay-protection variant (``SandboxServer(replay_protection=True)``; the portal does not
   promise it, so it is off by default) a verified signature whose (keyId, Signature value) pair
   was already seen in the last 5 minutes is refused (fault ``replay-accepted``: accepted).
4. The bearer token: known, unexpired, and issued to the same TPP.
Every failure raises ``ApiError``.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import hashlib
import hmac
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.requests import Request

from stet_conformance.sandbox.responses import ApiError
from stet_conformance.sandbox.state import AccessToken, SandboxState
from stet_conformance.shared import cavage
from stet_conformance.shared.certs import organization_identifier

MAX_REQUEST_ID = 70
MAX_CLOCK_SKEW = dt.timedelta(seconds=300)
_SERIAL_KEY_ID = re.compile(r"SN=([0-9A-Fa-f]+)\s*,\s*CA=(.+)")
_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")  # RFC 6750 b64token (fault malformed-token-500)
_DIGESTS = {"sha-256": hashlib.sha256, "sha-512": hashlib.sha512}


@dataclass(frozen=True)
class Caller:
    """Who is calling: the TPP (from the QWAC) and the token's persona and scopes."""

    tpp: str
    token: AccessToken


def client_certificate(request: Request) -> x509.Certificate | None:
    """The QWAC that the TLS protocol class put into the ASGI scope."""
    tls = request.scope.get("extensions", {}).get("tls", {})
    der = tls.get("client_cert_der")
    return x509.load_der_x509_certificate(der) if der else None


def client_tpp(request: Request) -> str:
    cert = client_certificate(request)
    tpp = organization_identifier(cert) if cert is not None else None
    if tpp is None:
        raise ApiError(401, "a QWAC with an organizationIdentifier is required (mTLS)")
    return tpp


def check_request_id(request: Request, faults: frozenset[str]) -> None:
    value = request.headers.get("x-request-id")
    if value is None:
        if "request-id-optional" not in faults:
            raise ApiError(400, "Missing request header 'X-Request-ID'")
    elif not value or len(value) > MAX_REQUEST_ID:
        raise ApiError(400, "X-Request-ID must be 1 to 70 characters")


def key_id_matches(key_id: str, cert: x509.Certificate) -> bool:
    """Whether a keyId designates ``cert`` (URL ending in ``_<fingerprint>`` or SN/CA form)."""
    if key_id.lower().startswith(("https://", "http://")):
        last = urlsplit(key_id).path.rsplit("/", 1)[-1]
        return last.lower().endswith("_" + cavage.fingerprint(cert))
    match = _SERIAL_KEY_ID.fullmatch(key_id.strip())
    return (
        match is not None
        and int(match.group(1), 16) == cert.serial_number
        and match.group(2).strip() == cert.issuer.rfc4514_string()
    )


def check_digest(value: str | None, body: bytes, faults: frozenset[str]) -> None:
    if value is None:
        raise ApiError(400, "Missing request header 'Digest'")
    checked = False
    for part in value.split(","):
        name, sep, encoded = part.strip().partition("=")
        algorithm = _DIGESTS.get(name.lower())
        if not sep or algorithm is None:
            continue
        checked = True
        expected = base64.b64encode(algorithm(body).digest()).decode("ascii")
        if "digest-unchecked" not in faults and not hmac.compare_digest(encoded, expected):
            raise ApiError(400, "Digest does not match the request body")
    if not checked:
        raise ApiError(400, "Digest must use SHA-256 or SHA-512")


def check_signature(request: Request, body: bytes, state: SandboxState) -> None:
    faults = state.faults
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    raw = headers.get("signature")
    if raw is None:
        if "signature-optional" not in faults:
            raise ApiError(400, "Missing request header 'Signature'")
        check_digest(headers.get("digest"), body, faults)
        return
    try:
        params = cavage.parse_signature_header(raw)
    except cavage.SignatureFormatError as exc:
        raise ApiError(400, f"malformed Signature: {exc}") from exc
    if params.algorithm.lower() != cavage.ALGORITHM:
        raise ApiError(400, "Signature algorithm must be rsa-sha256")
    if not key_id_matches(params.key_id, state.qseal_cert):
        raise ApiError(400, "Signature keyId does not designate a registered QSEAL certificate")
    required = [cavage.REQUEST_TARGET, "digest"]
    if "psu-ip-address" in headers and "psu-ip-unsigned-ok" not in faults:
        required.append("psu-ip-address")
    missing = [name for name in required if name not in params.headers]
    if missing:
        raise ApiError(400, f"the signature must cover: {', '.join(missing)}")
    check_digest(headers.get("digest"), body, faults)
    if "date" in params.headers and "signature-date-unchecked" not in faults:
        _check_date(headers.get("date"), state.clock())
    target = request.scope["raw_path"].decode("latin-1")
    if request.scope["query_string"]:
        target += "?" + request.scope["query_string"].decode("latin-1")
    try:
        text = cavage.signing_string(request.method, target, headers, params.headers)
    except KeyError as exc:
        raise ApiError(400, f"signed header {exc.args[0]!s} is not in the request") from exc
    key = state.qseal_cert.public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    if "signature-unchecked" not in faults and not cavage.verify(key, text, params.signature):
        raise ApiError(400, "Signature verification failed")
    if (
        state.replay_protection
        and "replay-accepted" not in faults
        and state.replayed(params.key_id, params.signature)
    ):
        raise ApiError(400, "replayed request: this Signature was already used")


def _check_date(value: str | None, now: dt.datetime) -> None:
    try:
        sent = email.utils.parsedate_to_datetime(value or "")
    except (TypeError, ValueError) as exc:
        raise ApiError(400, "the signed Date header is not an HTTP date") from exc
    if sent.tzinfo is None:
        sent = sent.replace(tzinfo=dt.UTC)
    if abs(now - sent) > MAX_CLOCK_SKEW:
        raise ApiError(400, "the signed Date header is more than 300 seconds off")


def check_token(request: Request, tpp: str, state: SandboxState) -> Caller:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if "malformed-token-500" in state.faults and header and not _TOKEN68.fullmatch(value.strip()):
        raise ApiError(500, "Internal Server Error")
    token = state.access.get(value.strip()) if scheme.lower() == "bearer" else None
    if token is None or token.tpp != tpp:
        raise ApiError(
            401, "missing or unknown access token", headers={"WWW-Authenticate": "Bearer"}
        )
    if token.expires_at <= state.clock() and "expired-token-ok" not in state.faults:
        if "expired-token-no-invalid-token" in state.faults:
            raise ApiError(401, "access token refused", headers={"WWW-Authenticate": "Bearer"})
        raise ApiError(
            401,
            "The access token expired",
            error="invalid_token",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return Caller(tpp, token)
