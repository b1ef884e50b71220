"""Certificates and keys of a profile are cross-checked before any request is sent."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_run import cli
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from stet_conformance.config.profile import load_profile
from stet_conformance.errors import ConfigError
from stet_conformance.sandbox.server import SandboxServer

CertWriter = Callable[..., x509.Certificate]
KeyLoader = Callable[[Path], rsa.RSAPrivateKey]


@pytest.fixture
def copy(sandbox: SandboxServer, tmp_path: Path) -> Path:
    """A copy of the sandbox's profile and PKI that a test may break."""
    shutil.copytree(Path(sandbox.profile_path).parent / "pki", tmp_path / "pki")
    shutil.copy(sandbox.profile_path, tmp_path / "profile.yaml")
    return tmp_path / "profile.yaml"


def _error(profile: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_profile(profile)
    return str(info.value)


def test_a_qwac_that_does_not_match_its_key(copy: Path, cert_writer: CertWriter) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert_writer(copy.parent / "pki" / "qwac.pem", other)
    message = _error(copy)
    assert "tls.client_cert: the certificate does not match the key in tls.client_key" in message
    assert message.startswith(f"{copy}:")


def test_a_qseal_certificate_that_does_not_match_the_signing_key(
    copy: Path, cert_writer: CertWriter
) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert_writer(copy.parent / "pki" / "qseal.pem", other)
    assert "signing.certificate: the certificate does not match the key in signing.key" in (
        _error(copy)
    )


@pytest.mark.parametrize(
    ("days", "expected"),
    [((-60, -1), "the certificate expired on "), ((2, 60), "the certificate is not valid yet")],
    ids=["expired", "not-yet-valid"],
)
def test_certificate_validity(
    copy: Path, days: tuple[int, int], expected: str, cert_writer: CertWriter, key_loader: KeyLoader
) -> None:
    pki = copy.parent / "pki"
    cert_writer(pki / "qwac.pem", key_loader(pki / "qwac.key"), days=days)
    message = _error(copy)
    assert "tls.client_cert: " + expected in message


def test_a_qwac_without_organization_identifier(
    copy: Path, cert_writer: CertWriter, key_loader: KeyLoader
) -> None:
    pki = copy.parent / "pki"
    cert_writer(pki / "qwac.pem", key_loader(pki / "qwac.key"), org_id=None)
    assert "the QWAC has no organizationIdentifier (OID 2.5.4.97)" in _error(copy)


def test_a_client_id_that_is_not_the_qwac_organization_identifier(copy: Path) -> None:
    copy.write_text(copy.read_text().replace("client_id: PSDFR-ACPR-13807", "client_id: PSDFR-X"))
    message = _error(copy)
    assert "oauth.client_id PSDFR-X is not the QWAC's organizationIdentifier PSDFR-ACPR-13807" in (
        message
    )
    text = copy.read_text().replace(
        "client_id: PSDFR-X}", "client_id: PSDFR-X, check_client_id: false}"
    )
    copy.write_text(text)
    assert load_profile(copy).oauth.client_id == "PSDFR-X"


def test_private_keys_readable_by_others_give_a_warning(copy: Path) -> None:
    assert load_profile(copy).warnings == ()
    key = copy.parent / "pki" / "qseal.key"
    key.chmod(0o644)
    (warning,) = load_profile(copy).warnings
    assert warning == f"{key} has permissions 0644; private keys should be 0600 (chmod 600 {key})"


def test_the_run_prints_profile_warnings(copy: Path) -> None:
    (copy.parent / "pki" / "qwac.key").chmod(0o640)
    done = cli("run", "--target", str(copy), "-k", "ACC-1", timeout=120)
    assert "STET profile warnings" in done.stdout
    assert "qwac.key has permissions 0640" in done.stdout
