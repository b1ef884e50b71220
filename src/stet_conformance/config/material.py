"""Cross-checks of the TPP's certificates and keys, before any request is sent.

A QWAC that does not match its key, an expired QSEAL or a client_id that is not the QWAC's
organizationIdentifier makes every scenario fail with a confusing TLS or 401 error; saying it
once, with the setting's name, saves a QA engineer an afternoon; so does a CA bundle that is not
PEM, which otherwise fails at the first connection looking like a QWAC problem. Private key files
readable by others are only worth a warning.
"""

from __future__ import annotations

import datetime as dt
import ssl
import stat
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from stet_conformance.errors import ConfigError
from stet_conformance.shared.certs import organization_identifier


def check_pair(
    cert: x509.Certificate, key: rsa.RSAPrivateKey, cert_setting: str, key_setting: str
) -> None:
    if cert.public_key() != key.public_key():
        raise ConfigError(
            f"{cert_setting}: the certificate does not match the key in {key_setting}"
        )


def check_validity(cert: x509.Certificate, setting: str, now: dt.datetime | None = None) -> None:
    now = now or dt.datetime.now(dt.UTC)
    if cert.not_valid_before_utc > now:
        start = f"{cert.not_valid_before_utc:%Y-%m-%d}"
        raise ConfigError(f"{setting}: the certificate is not valid yet (from {start})")
    if cert.not_valid_after_utc < now:
        raise ConfigError(
            f"{setting}: the certificate expired on {cert.not_valid_after_utc:%Y-%m-%d}"
        )


def check_tpp_identity(qwac: x509.Certificate, client_id: str | None, setting: str) -> str:
    """The QWAC's organizationIdentifier, which must be the OAuth client_id."""
    org_id = organization_identifier(qwac)
    if org_id is None:
        raise ConfigError(
            f"{setting}: the QWAC has no organizationIdentifier (OID 2.5.4.97); a PSD2 bank "
            "identifies the TPP by it"
        )
    if client_id is not None and client_id != org_id:
        raise ConfigError(
            f"oauth.client_id {client_id} is not the QWAC's organizationIdentifier {org_id} "
            "(if the bank matches them indirectly, set oauth.check_client_id: false)"
        )
    return org_id


def check_ca_bundle(path: Path | None, setting: str) -> Path | None:
    """``path``, once the TLS client has loaded it as its trust anchor (PEM CA certificates)."""
    if path is None:
        return None
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=str(path))
    except (ssl.SSLError, OSError):
        raise ConfigError(
            f"{setting}: {path} is not a PEM bundle of CA certificates (one or more "
            "-----BEGIN CERTIFICATE----- blocks; convert a DER file with: "
            "openssl x509 -inform der -in FILE -out ca.pem)"
        ) from None
    return path


def loose_permissions(path: Path) -> str | None:
    """A warning when a private key file is readable or writable by group or others."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        return f"{path} has permissions {mode:04o}; private keys should be 0600 (chmod 600 {path})"
    return None
