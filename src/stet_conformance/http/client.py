"""One keep-alive, mutual-TLS, signing httpx client per run, and the record of each exchange.

Each exchange is bounded in time and memory (``bounded.send_bounded``); transport failures become
``TargetError`` with a sentence a QA engineer can act on (refused connection, untrusted server
certificate, refused client certificate, timeout); they never carry a secret. ``Exchange`` keeps
the raw response for the checks and renders a redacted copy for humans.
"""

from __future__ import annotations

import ssl
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import httpx

from stet_conformance.config.live import Origin, UndeclaredOrigin, declared_origins, origin
from stet_conformance.config.profile import Profile
from stet_conformance.config.secret_repr import SecretHolder
from stet_conformance.config.settings import Limits, SigningSettings, TlsSettings
from stet_conformance.errors import ConfigError, TargetError
from stet_conformance.http.bounded import Bounds, TransportError, bounded_client, send_bounded
from stet_conformance.http.budget import Charge, DryRun
from stet_conformance.http.jsonbody import JSONTooDeep, loads
from stet_conformance.http.redact import Redactor
from stet_conformance.http.signing import RequestOptions, Signer, StetAuth
from stet_conformance.http.tls import client_context, write_impostor

MAX_BODY_SHOWN = 4000
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
# Request headers: a mapping, or (name, value) pairs to send a header more than once.
HeaderInput = Mapping[str, str] | Sequence[tuple[str, str]]
# A request sent again as it is: the signing flow adds nothing to it.
_AS_IS = RequestOptions(sign=False, digest=False, request_id=False, psu_ip_address=False)


@dataclass
class Exchange(SecretHolder):
    """One request and its response."""

    request: httpx.Request
    response: httpx.Response
    elapsed: float

    @property
    def status(self) -> int:
        return self.response.status_code

    @cached_property
    def body(self) -> Any:
        """The response body as JSON, or ``None`` when it is empty; ``ValueError`` if not JSON.

        A body nested too deep for the checks is a broken target (``TargetError``).
        """
        if not self.response.content:
            return None
        try:
            return loads(self.response.content)
        except JSONTooDeep as exc:
            where = f"{self.request.method} {self.request.url.path}"
            raise TargetError(f"{where} answered {exc}") from None

    def render_parts(self, redactor: Redactor) -> tuple[str, str]:
        """The request and the response as text, with secrets removed."""
        req, resp = self.request, self.response
        request = [f"> {req.method} {redactor.text(str(req.url))}"]
        request += [f"> {k}: {v}" for k, v in redactor.headers(req.headers.multi_items())]
        if req.content:
            content_type = req.headers.get("content-type", "")
            request.append(redactor.body(req.content, content_type)[:MAX_BODY_SHOWN])
        response = [f"< {resp.status_code} {resp.reason_phrase}  ({self.elapsed * 1000:.0f} ms)"]
        response += [f"< {k}: {v}" for k, v in redactor.headers(resp.headers.multi_items())]
        if resp.content:
            content_type = resp.headers.get("content-type", "")
            response.append(redactor.body(resp.content, content_type)[:MAX_BODY_SHOWN])
        return "\n".join(request), "\n".join(response)

    def render(self, redactor: Redactor) -> str:
        """The exchange as text, with secrets removed, for failure messages and reports."""
        return "\n".join(self.render_parts(redactor))

    def __repr__(self) -> str:  # never show headers (tokens) in tracebacks
        return f"<Exchange {self.request.method} {self.request.url.path} -> {self.status}>"


def mtls_context(tls: TlsSettings) -> ssl.SSLContext:
    """A mutual-TLS context: the trust anchor and the QWAC of ``tls``."""
    try:
        return client_context(
            tls.ca_bundle, tls.client_cert, tls.client_key, tls.client_key_password
        )
    except ssl.SSLError as exc:
        raise ConfigError(f"tls: cannot use the QWAC certificate and key: {exc}") from None


@dataclass(frozen=True, repr=False)
class ClientSettings(SecretHolder):
    """What the client uses of a profile: the target, the QWAC and QSEAL, the limits, and the
    origins it may contact."""

    base_url: str
    tls: TlsSettings
    signing: SigningSettings
    limits: Limits
    origins: frozenset[Origin]
    psu_ip_address: str | None = None

    @classmethod
    def of(cls, profile: Profile) -> ClientSettings:
        return cls(
            profile.base_url,
            profile.tls,
            profile.signing,
            profile.limits,
            declared_origins(profile),
            profile.psu_ip_address,
        )

    def __repr__(self) -> str:  # the parts hold passphrases: name the target only
        return f"<ClientSettings {self.base_url}>"


class StetClient:
    """The harness's HTTP client for one target.

    Every request reaches the wire through ``_attempt``: only to an origin the profile declares,
    never in a dry run, and paid for (a ``Charge``) before each attempt, retries included.
    """

    def __init__(
        self,
        settings: ClientSettings,
        redactor: Redactor,
        transport: httpx.BaseTransport | None = None,
        *,
        dry_run: bool = False,
    ) -> None:
        """``transport`` replaces the network, for unit tests of the retry policy only."""
        self.settings = settings
        self.redactor = redactor
        self.dry_run = dry_run
        signing = settings.signing
        signer = Signer(signing.key, signing.key_id, signing.headers)
        self._http = bounded_client(
            mtls_context(settings.tls),
            settings.limits,
            base_url=settings.base_url,
            auth=StetAuth(signer, settings.psu_ip_address),
            transport=transport,
        )

    @classmethod
    def for_profile(
        cls, profile: Profile, redactor: Redactor, *, dry_run: bool = False
    ) -> StetClient:
        return cls(ClientSettings.of(profile), redactor, dry_run=dry_run)

    def __repr__(self) -> str:  # its settings hold passphrases: name the target only
        return f"<StetClient {self.settings.base_url}>"

    def close(self) -> None:
        self._http.close()

    def with_tls(self, tls: TlsSettings) -> StetClient:
        """A client for another identity of the same target (a second TPP's QWAC), same mode."""
        return StetClient(replace(self.settings, tls=tls), self.redactor, dry_run=self.dry_run)

    def without_qwac(self, kind: Literal["none", "untrusted"]) -> StetClient:
        """A client that presents no client certificate, or a self-signed one (made here, its
        files gone once the TLS context has read them): does the bank require its QWAC?"""
        tls = self.settings.tls
        bare = TlsSettings(ca_bundle=tls.ca_bundle)
        if kind == "none":
            return self.with_tls(bare)
        with tempfile.TemporaryDirectory(prefix="stet-untrusted-") as directory:
            cert, key = write_impostor(Path(directory), tls.client_cert)
            return self.with_tls(replace(bare, client_cert=cert, client_key=key))

    def send(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, str] | None = None,
        headers: HeaderInput | None = None,
        content: bytes | None = None,
        options: RequestOptions | None = None,
        charge: Charge | None = None,
    ) -> Exchange:
        """Send one request; retry only as the profile says, and never a non-idempotent one.

        ``headers`` may be (name, value) pairs: a name given twice is sent twice (the signer
        signs both values joined with ", ", as draft-cavage says). Each retry is a new request
        (fresh X-Request-ID and Signature), so a bank's replay protection does not refuse it.
        ``charge`` pays for every attempt; ``BudgetExhausted`` stops the retries.
        """
        policy = self.settings.limits.retries
        attempts = 1 + (policy.count if method.upper() in IDEMPOTENT else 0)
        for attempt in range(1, attempts + 1):
            last = attempt == attempts
            request = self._http.build_request(
                method,
                url,
                params=params,
                headers=headers,
                content=content,
                extensions={"stet": options or RequestOptions()},
            )
            try:
                exchange = self._attempt(request, charge)
            except TransportError as exc:
                if last or exc.kind not in policy.on:
                    raise
            else:
                if last or str(exchange.status) not in policy.on:
                    return exchange
            time.sleep(policy.backoff * attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def resend(self, request: httpx.Request, charge: Charge | None = None) -> Exchange:
        """Send an already-sent request again, byte for byte: a replay.

        Same method, URL, headers (Authorization, X-Request-ID, Digest, Signature, Date...) and
        body; the signing flow adds nothing, and a replay is never retried.
        """
        again = httpx.Request(
            request.method,
            request.url,
            headers=request.headers.raw,
            content=request.content,
            extensions={"stet": _AS_IS},
        )
        return self._attempt(again, charge)

    def _attempt(self, request: httpx.Request, charge: Charge | None) -> Exchange:
        """The one way onto the wire: a declared origin, not a dry run, paid for, then sent."""
        if origin(request.url) not in self.settings.origins:
            raise UndeclaredOrigin(request.url)
        if self.dry_run:
            raise DryRun()
        if charge is not None:
            charge.spend()
        return self._send_once(request)

    def _send_once(self, request: httpx.Request) -> Exchange:
        started = time.perf_counter()
        bounds = Bounds.of(self.settings.limits, self.settings.base_url)
        response = send_bounded(self._http, request, bounds)
        # Before any check or failure message: a code or token handed out is a secret now.
        self.redactor.learn(response.status_code, response.headers.multi_items(), response.content)
        return Exchange(response.request, response, time.perf_counter() - started)
