"""The mutual-TLS context: trust anchor for the bank's server, QWAC for the client side."""

from __future__ import annotations

import datetime as dt
import ssl
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def client_context(
    ca_bundle: Path | None,
    client_cert: Path | None,
    client_key: Path | None,
    password: str | None = None,
) -> ssl.SSLContext:
    """An ``ssl.SSLContext`` for httpx's ``verify=`` (the ``cert=`` argument is deprecated)."""
    context = ssl.create_default_context(cafile=str(ca_bundle) if ca_bundle else None)
    if client_cert is not None:
        context.load_cert_chain(
            str(client_cert), str(client_key) if client_key else None, password=password
        )
    return context


def refused_server_certificate(error: str, url: str, setting: str) -> str | None:
    """Why the client refused the server certificate of ``url`` (``setting`` names where the URL
    comes from), and what to change; ``None`` if ``error`` is not such a refusal.

    Only an unknown issuer is fixed with tls.ca_bundle: sending a reader there for a host name
    mismatch or an expired certificate costs them an afternoon.
    """
    if "CERTIFICATE_VERIFY_FAILED" not in error:
        return None
    if "Hostname mismatch" in error or "IP address mismatch" in error:
        return (
            f"the server certificate of {url} does not name {urlsplit(url).hostname}, the host "
            f"in {setting}; use a host name the certificate was issued for"
        )
    if "certificate has expired" in error:
        return f"the server certificate of {url} has expired (or this machine's clock is wrong)"
    return (
        f"the server certificate of {url} is not trusted "
        "(set tls.ca_bundle to the CA that issued it)"
    )


def _impostor_subject(qwac: Path | None) -> x509.Name:
    """The subject of the TPP's QWAC; a generic name when it cannot be read (the profile's QWAC
    is checked where the profile is loaded)."""
    try:
        if qwac is not None:
            return x509.load_pem_x509_certificate(qwac.read_bytes()).subject
    except (OSError, ValueError):
        pass
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "stet-conformance untrusted")])


def write_impostor(directory: Path, qwac: Path | None) -> tuple[Path, Path]:
    """A self-signed certificate and its key, written into ``directory`` (``client_cert:
    untrusted``): the subject of the TPP's QWAC, signed by no CA the bank trusts, so a bank that
    reads the name without checking the issuer is caught."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = _impostor_subject(qwac)
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    pem_key = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    cert_path, key_path = directory / "untrusted.pem", directory / "untrusted.key"
    for path, data in (
        (cert_path, cert.public_bytes(serialization.Encoding.PEM)),
        (key_path, pem_key),
    ):
        path.touch(mode=0o600)
        path.write_bytes(data)
    return cert_path, key_path
