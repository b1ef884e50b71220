"""Fixtures shared by the harness's own tests (tests/): a running reference sandbox, and
certificates made to order (expired, without organizationIdentifier, for another key)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from stet_conformance.sandbox.server import SandboxServer
from stet_conformance.shared.certs import ORGANIZATION_IDENTIFIER


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    """The conformant bundled sandbox, shared by the whole test session (read-mostly)."""
    with SandboxServer(tmp_path_factory.mktemp("sandbox")) as server:
        yield server


@pytest.fixture(scope="session")
def sandbox_profile(sandbox: SandboxServer) -> Path:
    return Path(sandbox.profile_path)


def write_cert(
    path: Path,
    key: rsa.RSAPrivateKey,
    *,
    org_id: str | None = "PSDFR-ACPR-13807",
    days: tuple[int, int] = (-1, 365),
) -> x509.Certificate:
    """A certificate for ``key`` signed by a throw-away issuer, valid ``days`` around now."""
    now = dt.datetime.now(dt.UTC)
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, "test")]
    if org_id is not None:
        attributes.append(x509.NameAttribute(ORGANIZATION_IDENTIFIER, org_id))
    issuer_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(attributes))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "issuer")]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + dt.timedelta(days=days[0]))
        .not_valid_after(now + dt.timedelta(days=days[1]))
        .sign(issuer_key, hashes.SHA256())
    )
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert


def load_key(path: Path) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


@pytest.fixture
def cert_writer() -> Callable[..., x509.Certificate]:
    return write_cert


@pytest.fixture
def key_loader() -> Callable[[Path], rsa.RSAPrivateKey]:
    return load_key
