"""Hand-made signed requests with one thing wrong, for the signature and digest suite.

The run's ``StetAuth`` signs correctly; here the headers are built and signed explicitly (the same
``shared.cavage`` code), then exactly one property is broken. ``StetAuth`` never overwrites a
header the caller set, so these requests leave the client as built.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from stet_conformance.config.profile import DEFAULT_PSU_IP
from stet_conformance.fuzz.session import FuzzSession, raw_target
from stet_conformance.http.signing import RequestOptions
from stet_conformance.scenario import declared
from stet_conformance.shared import cavage


@dataclass
class SignedRequest:
    """Everything ``FuzzSession.send`` needs, with explicit Digest and Signature headers."""

    method: str
    url: str
    headers: dict[str, str]
    content: bytes | None
    options: RequestOptions
    names: list[str] = field(default_factory=list)


def build(
    fuzz: FuzzSession,
    persona: str,
    method: str,
    path: str,
    *,
    content: bytes | None = None,
    names: list[str] | None = None,
    key: rsa.RSAPrivateKey | None = None,
    date: dt.datetime | None = None,
) -> SignedRequest:
    """A request signed over ``names`` (default: target, digest, x-request-id, psu-ip, date)."""
    url = fuzz.url(path)
    headers = {
        "X-Request-ID": str(uuid.uuid4()),
        "PSU-IP-Address": fuzz.profile.psu_ip_address or DEFAULT_PSU_IP,
        "Digest": cavage.body_digest(content or b""),
    }
    if content is not None:
        headers["Content-Type"] = "application/json"
    if date is not None:
        headers["Date"] = email.utils.format_datetime(date, usegmt=True)
    lower = {k.lower(): v for k, v in headers.items()}
    default = [cavage.REQUEST_TARGET, "digest", "x-request-id", "psu-ip-address"]
    default += ["content-type"] if content is not None else []
    default += ["date"] if date is not None else []
    chosen = names if names is not None else default
    text = cavage.signing_string(method, raw_target(url), lower, chosen)
    params = cavage.SignatureParams(
        fuzz.profile.signing.key_id,
        cavage.ALGORITHM,
        tuple(chosen),
        cavage.sign(key or fuzz.profile.signing.key, text),
    )
    headers["Signature"] = params.to_header()
    options = RequestOptions(token=fuzz.token(persona))
    return SignedRequest(method, url, headers, content, options, list(chosen))


def replace_param(header: str, name: str, value: str) -> str:
    """Set one ``name="value"`` parameter of a Signature header."""
    parsed = cavage.parse_signature_header(header)
    values = {
        "keyId": parsed.key_id,
        "algorithm": parsed.algorithm,
        "headers": " ".join(parsed.headers),
        "signature": header.rsplit('signature="', 1)[1].rstrip('"'),
    }
    values[name] = value
    return ",".join(f'{k}="{v}"' for k, v in values.items())


def load_key(path: Path) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), None)
    assert isinstance(key, rsa.RSAPrivateKey), f"{path} is not an RSA key"
    return key


def consent_body(fuzz: FuzzSession, persona: str) -> dict[str, object]:
    """The consent the profile declares for the persona, so a body accepted by mistake is moot."""
    return declared.consent_body(fuzz.persona(persona))


def reformat(body: dict[str, object], indent: int | None, sort: bool, space: bool) -> bytes:
    """The same JSON document in other bytes: what a proxy re-serialising the body produces."""
    separators = (", ", ": ") if space else (",", ":")
    return json.dumps(body, indent=indent, sort_keys=sort, separators=separators).encode()
