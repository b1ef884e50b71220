"""The parts of a target profile: TLS, signing, OAuth, limits, and the bank's declared choices.

Small frozen dataclasses, so that a client is given what it uses and no more (the second TPP's
client swaps the TLS part only). A part that holds a passphrase is a ``SecretHolder`` whose
``__repr__`` names files and identifiers, never the passphrase.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from stet_conformance.config.secret_repr import SecretHolder

DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True, repr=False)
class TlsSettings(SecretHolder):
    """The bank's trust anchor and one TPP's QWAC (certificate, key, the key's passphrase)."""

    ca_bundle: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    client_key_password: str | None = None

    def __repr__(self) -> str:  # the files, never the passphrase
        return f"<TlsSettings ca_bundle={self.ca_bundle} client_cert={self.client_cert}>"

    def secrets(self) -> set[str]:
        return {self.client_key_password} if self.client_key_password else set()


@dataclass(frozen=True, repr=False)
class OtherTpp(SecretHolder):
    """A second TPP's QWAC (tokens are bound to the TPP) and its organizationIdentifier."""

    tls: TlsSettings
    client_id: str

    def __repr__(self) -> str:
        return f"<OtherTpp {self.client_id} {self.tls!r}>"


@dataclass(frozen=True, repr=False)
class SigningSettings(SecretHolder):
    """The QSEAL key that signs requests, the keyId the bank knows it by, the signed headers."""

    key: rsa.RSAPrivateKey
    key_id: str
    headers: tuple[str, ...] | None = None  # None: the strict default set
    certificate: x509.Certificate | None = None
    key_password: str | None = None

    def __repr__(self) -> str:  # the keyId, never the key or its passphrase
        return f"<SigningSettings key_id={self.key_id!r}>"

    def secrets(self) -> set[str]:
        return {self.key_password} if self.key_password else set()


@dataclass(frozen=True)
class OAuthSettings:
    """The bank's OAuth endpoints and the TPP's ``client_id`` (no secret: PSD2 uses the QWAC)."""

    client_id: str | None = None
    token_url: str | None = None
    authorize_url: str | None = None
    revoke_url: str | None = None
    rotates_refresh_token: bool = False
    code_max_age: float = 600.0  # seconds a stored authorization code serves runs (RFC 6749 4.1.2)


IMPUTATION_INSTANTS = ("midnight", "day")


@dataclass(frozen=True)
class Imputation:
    """When the bank imputes a transaction dated D (the instant dateFrom/dateTo filter on).

    No source defines it: ``timezone`` is the zone of the bank's day (default UTC), ``instant``
    ``midnight`` (00:00 of D there) or ``day`` (any instant of D there).
    """

    timezone: str = "UTC"
    instant: str = "midnight"

    @property
    def zone(self) -> dt.tzinfo:
        return dt.UTC if self.timezone == "UTC" else ZoneInfo(self.timezone)


UTC_MIDNIGHT = Imputation()  # the default: 00:00 UTC of the booking day


@dataclass(frozen=True)
class BankChoices:
    """What a bank declares where its sources leave a choice the harness cannot guess.

    The defaults are the Banque BCP portal's answers: identity served with consent (its IDN-1
    row), BOOK and OTHR only (PDNG "NOT used by this API"), the fallback JWT in ``?token=``,
    400 for a missing or bad signature;
    no source defines replay protection or imputation: off, and 00:00 UTC of the booking day.
    """

    identity_available: bool = True
    transaction_statuses: tuple[str, ...] = ("BOOK", "OTHR")
    fallback_token_param: str = "token"
    replay_protection: bool = False  # the bank refuses a replayed signed request (SEC-REPLAY)
    imputation: Imputation = UTC_MIDNIGHT  # when a transaction dated D is imputed
    # what a missing or bad Signature gets (portal, Try-it parameters: 400); vars.fuzz.*
    signature_status: tuple[int, ...] = (400,)


@dataclass(frozen=True)
class RetryPolicy:
    """Which failures to retry (``timeout``, ``connect``, ``reset`` or a status code as text)."""

    count: int = 0
    on: frozenset[str] = frozenset({"timeout", "connect", "502", "503", "504"})
    backoff: float = 0.5


@dataclass(frozen=True)
class Limits:
    """What the run may cost: time per exchange, body size, retries, requests (``budget``),
    requests in flight at once (``concurrency``)."""

    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    total_timeout: float = 60.0
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    retries: RetryPolicy = RetryPolicy()
    budget: dict[str, int] | None = None
    concurrency: int = 1
