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
Every failure raises ``ApiError``. The switches of the legitimate variants (``state.choices``)
relax what no source requires: long X-Request-IDs, the signed set, Digest on an empty body, the
signed Date, an RSA algorithm label; and take other codes (403 for another TPP's token, 400 for
a malformed Bearer value, invalid_token in the ErrorModel only, 401 for a bad signature).
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
_RSA_LABELS = ("rsa-sha1", "rsa-sha512", "")  # variant algorithm-from-key: the key decides


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


def check_request_id(request: Request, state: SandboxState) -> None:
    value = request.headers.get("x-request-id")
    if value is None:
        if "request-id-optional" not in state.faults:
            raise ApiError(400, "Missing request header 'X-Request-ID'")
    elif not value or (len(value) > MAX_REQUEST_ID and "long-request-id-ok" not in state.choices):
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


def _required_headers(headers: dict[str, str], lean: bool) -> list[str]:
    """What the signed set must cover (variant signature-lean: the request target only)."""
    if lean:
        return [cavage.REQUEST_TARGET]
    required = [cavage.REQUEST_TARGET, "digest"]
    return required + (["psu-ip-address"] if "psu-ip-address" in headers else [])


def _check_algorithm(algorithm: str, choices: frozenset[str]) -> None:
    label = algorithm.lower()
    if label == cavage.ALGORITHM or ("algorithm-from-key" in choices and label in _RSA_LABELS):
        return
    raise ApiError(400, "Signature algorithm must be rsa-sha256")


def check_signature(request: Request, body: bytes, state: SandboxState) -> None:
    """Step 3; in the variant ``signature-401`` its refusals answer 401, the status such a bank
    documents for a bad signature (its profile declares ``vars.fuzz.signature_status: [401]``)."""
    try:
        _verify_signature(request, body, state)
    except ApiError as exc:
        if "signature-401" not in state.choices:
            raise
        raise ApiError(401, exc.message) from exc


def _verify_signature(request: Request, body: bytes, state: SandboxState) -> None:
    faults = state.faults
    lean = "signature-lean" in state.choices
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    digest_needed = not (lean and not body and "digest" not in headers)
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
    _check_algorithm(params.algorithm, state.choices)
    if not key_id_matches(params.key_id, state.qseal_cert):
        raise ApiError(400, "Signature keyId does not designate a registered QSEAL certificate")
    missing = [name for name in _required_headers(headers, lean) if name not in params.headers]
    if missing:
        raise ApiError(400, f"the signature must cover: {', '.join(missing)}")
    if digest_needed:
        check_digest(headers.get("digest"), body, faults)
    if "date" in params.headers and not lean:
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
    if not header and "no-token-400" in state.faults:
        raise ApiError(400, "Missing request header 'Authorization'")
    scheme, _, value = header.partition(" ")
    if "malformed-token-500" in state.faults and header and not _TOKEN68.fullmatch(value.strip()):
        raise ApiError(500, "Internal Server Error")
    bearer = scheme.lower() == "bearer"
    malformed = bearer and not _TOKEN68.fullmatch(value.strip())
    if malformed and "malformed-authorization-400" in state.choices:  # RFC 6750 3.1
        challenge = {"WWW-Authenticate": 'Bearer error="invalid_request"'}
        raise ApiError(400, "malformed Bearer value", error="invalid_request", headers=challenge)
    token = state.access.get(value.strip()) if bearer else None
    if token is not None and token.tpp != tpp and "other-tpp-token-403" in state.choices:
        raise ApiError(403, "the access token was issued to another TPP")
    if token is None and bearer and value.strip() and "unknown-token-403" in state.choices:
        raise ApiError(403, "unknown access token")  # RFC 6750 3.1: 401 is a SHOULD
    if token is None or token.tpp != tpp:
        raise ApiError(
            401, "missing or unknown access token", headers={"WWW-Authenticate": "Bearer"}
        )
    if token.expires_at <= state.clock() and "expired-token-ok" not in state.faults:
        _refuse_expired(state)
    return Caller(tpp, token)


def _refuse_expired(state: SandboxState) -> None:
    """401 for an expired or revoked token, with invalid_token where the bank puts it."""
    if "expired-token-no-invalid-token" in state.faults:
        raise ApiError(401, "access token refused", headers={"WWW-Authenticate": "Bearer"})
    challenge = 'Bearer error="invalid_token"'
    if "invalid-token-in-body" in state.choices:  # RFC 6750 3: the attribute is a SHOULD
        challenge = 'Bearer realm="stet"'
    raise ApiError(
        401,
        "The access token expired",
        error="invalid_token",
        headers={"WWW-Authenticate": challenge},
    )
