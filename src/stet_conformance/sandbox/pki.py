"""A throw-away test PKI for the reference sandbox: CA, server certificate, QWACs and a QSEAL.

Created on first use into a directory and reused afterwards, so a sandbox restarted on the same
directory keeps its keys (and a profile written for it stays valid). Private keys are written with
0600 permissions. Nothing here is fit for production.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from stet_conformance.shared.certs import ORGANIZATION_IDENTIFIER

TPP_ID = "PSDFR-ACPR-13807"
OTHER_TPP_ID = "PSDFR-ACPR-99999"
_VALIDITY = dt.timedelta(days=825)


@dataclass(frozen=True)
class Pki:
    """Paths of the PEM files that make up the sandbox PKI."""

    directory: Path

    def path(self, name: str) -> Path:
        return self.directory / name

    @property
    def ca_cert(self) -> Path:
        return self.path("ca.pem")

    @property
    def server_cert(self) -> Path:
        return self.path("server.pem")

    @property
    def server_key(self) -> Path:
        return self.path("server.key")

    @property
    def qwac_cert(self) -> Path:
        return self.path("qwac.pem")

    @property
    def qwac_key(self) -> Path:
        return self.path("qwac.key")

    @property
    def other_qwac_cert(self) -> Path:
        """A QWAC of a second TPP, for token-binding and cross-TPP tests."""
        return self.path("qwac-other.pem")

    @property
    def other_qwac_key(self) -> Path:
        return self.path("qwac-other.key")

    @property
    def qseal_cert(self) -> Path:
        return self.path("qseal.pem")

    @property
    def qseal_key(self) -> Path:
        return self.path("qseal.key")

    @property
    def other_qseal_key(self) -> Path:
        """A signing key the sandbox does not know: its signatures must be refused."""
        return self.path("qseal-other.key")


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _write_key(path: Path, key: rsa.RSAPrivateKey) -> None:
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _name(common_name: str, org_id: str | None = None) -> x509.Name:
    attributes = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "stet-conformance sandbox"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ]
    if org_id is not None:
        attributes.append(x509.NameAttribute(ORGANIZATION_IDENTIFIER, org_id))
    return x509.Name(attributes)


def _issue(
    subject: x509.Name,
    key: rsa.RSAPrivateKey,
    issuer: x509.Name,
    issuer_key: rsa.RSAPrivateKey,
    *,
    ca: bool = False,
    usages: list[x509.ObjectIdentifier] | None = None,
    sans: list[x509.GeneralName] | None = None,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if usages:
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def ensure_pki(directory: Path) -> Pki:
    """Create the PKI in ``directory`` unless it is already complete there."""
    pki = Pki(directory)
    wanted = [
        pki.ca_cert,
        pki.server_cert,
        pki.server_key,
        pki.qwac_cert,
        pki.qwac_key,
        pki.other_qwac_cert,
        pki.other_qwac_key,
        pki.qseal_cert,
        pki.qseal_key,
        pki.other_qseal_key,
    ]
    if all(path.exists() for path in wanted):
        return pki
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = _new_key()
    ca_name = _name("stet-conformance sandbox CA")
    ca_cert = _issue(ca_name, ca_key, ca_name, ca_key, ca=True)
    _write_cert(pki.ca_cert, ca_cert)

    server_key = _new_key()
    sans: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    server = _issue(
        _name("localhost"),
        server_key,
        ca_name,
        ca_key,
        usages=[ExtendedKeyUsageOID.SERVER_AUTH],
        sans=sans,
    )
    _write_key(pki.server_key, server_key)
    _write_cert(pki.server_cert, server)

    for cert_path, key_path, org_id, label in (
        (pki.qwac_cert, pki.qwac_key, TPP_ID, "TPP QWAC"),
        (pki.other_qwac_cert, pki.other_qwac_key, OTHER_TPP_ID, "Other TPP QWAC"),
    ):
        key = _new_key()
        cert = _issue(
            _name(label, org_id),
            key,
            ca_name,
            ca_key,
            usages=[ExtendedKeyUsageOID.CLIENT_AUTH],
        )
        _write_key(key_path, key)
        _write_cert(cert_path, cert)

    qseal_key = _new_key()
    _write_key(pki.qseal_key, qseal_key)
    _write_cert(pki.qseal_cert, _issue(_name("TPP QSEAL", TPP_ID), qseal_key, ca_name, ca_key))
    _write_key(pki.other_qseal_key, _new_key())
    return pki
