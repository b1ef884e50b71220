"""HTTP Signatures (draft-cavage-http-signatures-12) and the Digest header, as STET uses them.

Pure functions shared by the harness's signer and the sandbox's verifier, so both sides agree on
one definition of the signing string. Only ``rsa-sha256`` (RSASSA-PKCS1-v1_5 with SHA-256) is
implemented: it is what STET and the Banque BCP portal ask for.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

ALGORITHM = "rsa-sha256"
REQUEST_TARGET = "(request-target)"
_PARAM = re.compile(r'\s*([A-Za-z]+)\s*=\s*"([^"]*)"\s*(?:,|$)')


class SignatureFormatError(ValueError):
    """A Signature header that cannot be parsed (the message is safe to show)."""


@dataclass(frozen=True)
class SignatureParams:
    """The parameters of one ``Signature`` header."""

    key_id: str
    algorithm: str
    headers: tuple[str, ...]
    signature: bytes

    def to_header(self) -> str:
        return (
            f'keyId="{self.key_id}",algorithm="{self.algorithm}",'
            f'headers="{" ".join(self.headers)}",'
            f'signature="{base64.b64encode(self.signature).decode("ascii")}"'
        )


def body_digest(body: bytes) -> str:
    """The ``Digest`` header value for a body (RFC 3230 with SHA-256)."""
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def request_target(method: str, path_and_query: str) -> str:
    return f"{method.lower()} {path_and_query}"


def signing_string(
    method: str, path_and_query: str, headers: Mapping[str, str], names: Sequence[str]
) -> str:
    """Build the string to sign; ``headers`` must be keyed by lower-case name.

    Raises ``KeyError`` naming the first listed header that the request does not carry.
    """
    lines = []
    for name in names:
        if name == REQUEST_TARGET:
            lines.append(f"{REQUEST_TARGET}: {request_target(method, path_and_query)}")
        else:
            lines.append(f"{name}: {headers[name].strip()}")
    return "\n".join(lines)


def parse_signature_header(value: str) -> SignatureParams:
    """Parse ``keyId="..",algorithm="..",headers="..",signature=".."``."""
    params: dict[str, str] = {}
    pos = 0
    while pos < len(value):
        match = _PARAM.match(value, pos)
        if match is None:
            raise SignatureFormatError('Signature header is not a list of name="value" pairs')
        params[match.group(1)] = match.group(2)
        pos = match.end()
    for required in ("keyId", "signature"):
        if not params.get(required):
            raise SignatureFormatError(f"Signature header has no {required}")
    try:
        raw = base64.b64decode(params["signature"], validate=True)
    except ValueError as exc:
        raise SignatureFormatError("Signature value is not base64") from exc
    names = tuple(params.get("headers", "date").lower().split())
    return SignatureParams(params["keyId"], params.get("algorithm", ""), names, raw)


def sign(key: rsa.RSAPrivateKey, message: str) -> bytes:
    return key.sign(message.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())


def verify(key: rsa.RSAPublicKey, message: str, signature: bytes) -> bool:
    try:
        key.verify(signature, message.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 fingerprint of a certificate, lower-case hex: the tail of a STET keyId URL."""
    return cert.fingerprint(hashes.SHA256()).hex()


def serial_key_id(cert: x509.Certificate) -> str:
    """The ``SN=<serial hex>,CA=<issuer>`` keyId form the BCP portal's try-it page shows."""
    return f"SN={cert.serial_number:x},CA={cert.issuer.rfc4514_string()}"
