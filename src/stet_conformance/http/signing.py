"""The httpx ``Auth`` flow that makes every request a signed STET request.

It adds, in this order: the OAuth bearer, ``X-Request-ID`` (a fresh UUID unless the caller set
one), ``PSU-IP-Address`` (when configured), ``Digest`` (SHA-256 of the body, also for an empty
body) and a draft-cavage ``Signature`` (rsa-sha256). The signed set is every header of
``SIGNED_BY_DEFAULT`` that the request carries, plus every ``psu-*`` header; a profile may name a
smaller or different list. Callers can switch each part off per request (``extensions``) so
scenarios can send deliberately broken requests.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Generator, Sequence
from dataclasses import dataclass, field

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from stet_conformance.config.secret_repr import SecretHolder
from stet_conformance.shared import cavage

SIGNED_BY_DEFAULT = (
    cavage.REQUEST_TARGET,
    "digest",
    "x-request-id",
    "content-type",
    "date",
)
PSU_PREFIX = "psu-"


@dataclass(frozen=True)
class Signer:
    """A QSEAL key and the keyId the bank knows it by."""

    key: rsa.RSAPrivateKey
    key_id: str
    headers: Sequence[str] | None = None  # None: the strict default set

    def names_for(self, request_headers: httpx.Headers) -> list[str]:
        """Which headers to sign for a request, in signing order."""
        return self._names({name.lower() for name in request_headers})

    def _names(self, present: Collection[str]) -> list[str]:
        """``names_for`` given the lower-case names the request carries."""
        if self.headers is not None:
            return [n for n in self.headers if n == cavage.REQUEST_TARGET or n in present]
        names = [n for n in SIGNED_BY_DEFAULT if n == cavage.REQUEST_TARGET or n in present]
        names += sorted(n for n in present if n.startswith(PSU_PREFIX))
        return names

    def signature_header(self, request: httpx.Request) -> str:
        headers = {name.lower(): value for name, value in request.headers.items()}
        names = self._names(headers.keys())  # the headers read once, not once more by name
        target = request.url.raw_path.decode("ascii")
        text = cavage.signing_string(request.method, target, headers, names)
        params = cavage.SignatureParams(
            self.key_id, cavage.ALGORITHM, tuple(names), cavage.sign(self.key, text)
        )
        return params.to_header()


@dataclass(frozen=True, repr=False)
class RequestOptions(SecretHolder):
    """Per-request switches, passed through ``httpx.Request.extensions['stet']``."""

    token: str | None = None
    sign: bool = True
    digest: bool = True
    request_id: bool = True
    psu_ip_address: bool = True

    def __repr__(self) -> str:  # whether a token is sent, never which one
        switches = ("sign", "digest", "request_id", "psu_ip_address")
        shown = " ".join(f"{name}={getattr(self, name)}" for name in switches)
        return f"<RequestOptions token={'set' if self.token else None} {shown}>"


@dataclass
class StetAuth(httpx.Auth):
    """Bearer + X-Request-ID + PSU-IP-Address + Digest + Signature on every request."""

    signer: Signer | None
    psu_ip_address: str | None = None
    requires_request_body = True
    _default: RequestOptions = field(default_factory=RequestOptions)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        options = request.extensions.get("stet", self._default)
        assert isinstance(options, RequestOptions)
        headers = request.headers
        if options.token is not None and "authorization" not in headers:
            headers["Authorization"] = f"Bearer {options.token}"
        if options.request_id and "x-request-id" not in headers:
            headers["X-Request-ID"] = str(uuid.uuid4())
        if options.psu_ip_address and self.psu_ip_address and "psu-ip-address" not in headers:
            headers["PSU-IP-Address"] = self.psu_ip_address
        if options.digest and "digest" not in headers:
            headers["Digest"] = cavage.body_digest(request.content)
        if options.sign and self.signer is not None and "signature" not in headers:
            headers["Signature"] = self.signer.signature_header(request)
        yield request
