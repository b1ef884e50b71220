"""A refused server certificate or CA bundle is named precisely: untrusted CA, wrong host name,
expired certificate, a CA bundle that is not PEM. Each once said "set tls.ca_bundle" or blamed
the QWAC, whatever the cause.

The servers are plain TLS listeners on loopback, with certificates made here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from stet_conformance.config.profile import Profile, load_profile
from stet_conformance.errors import ConfigError, TargetError
from stet_conformance.http.client import StetClient
from stet_conformance.http.redact import Redactor
from stet_conformance.onboarding.doctor import diagnose

NOT_PEM = b"-----BEGIN NONSENSE-----\nsecret-looking-content-7f3a\n"


@dataclasses.dataclass(frozen=True)
class Pem:
    """A CA and a server certificate it issued, written as PEM files."""

    ca: Path
    cert: Path
    key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_server_pki(directory: Path, host: str, days: tuple[int, int] = (-1, 30)) -> Pem:
    """A throw-away CA and a server certificate for ``host`` valid ``days`` around now."""
    now = dt.datetime.now(dt.UTC)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def issue(subject: str, public: rsa.RSAPublicKey, ca: bool, start: int, end: int) -> bytes:
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(subject))
            .issuer_name(_name(f"CA of {host}"))
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now + dt.timedelta(days=start))
            .not_valid_after(now + dt.timedelta(days=end))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            san = x509.SubjectAlternativeName([x509.DNSName(host)])
            builder = builder.add_extension(san, critical=False)
        return builder.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)

    directory.mkdir(parents=True, exist_ok=True)
    pem = Pem(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    pem.ca.write_bytes(issue(f"CA of {host}", ca_key.public_key(), True, -1, 365))
    pem.cert.write_bytes(issue(host, key.public_key(), False, *days))
    pem.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return pem


@contextmanager
def tls_listener(pem: Pem) -> Iterator[int]:
    """A loopback TLS server presenting ``pem.cert``; yields its port."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pem.cert, pem.key)
    stop = threading.Event()
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(0.1)

        def serve() -> None:
            while not stop.is_set():
                try:
                    conn, _ = listener.accept()
                except OSError:  # the accept timeout
                    continue
                # The handshake fails: the client refuses our certificate.
                with conn, suppress(ssl.SSLError, OSError):
                    context.wrap_socket(conn, server_side=True).close()

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        try:
            yield listener.getsockname()[1]
        finally:
            stop.set()
            thread.join(timeout=5)


def refusal(profile: Profile, base_url: str, ca_bundle: Path) -> str:
    tls = dataclasses.replace(profile.tls, ca_bundle=ca_bundle)
    changed = dataclasses.replace(profile, base_url=base_url, tls=tls)
    client = StetClient.for_profile(changed, Redactor())
    try:
        with pytest.raises(TargetError) as info:
            client.send("GET", "/accounts")
    finally:
        client.close()
    return str(info.value)


@pytest.fixture(scope="module")
def profile(sandbox_profile: Path) -> Profile:
    return load_profile(sandbox_profile)


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> Pem:
    return make_server_pki(tmp_path_factory.mktemp("bank-pki"), "bank.example")


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_host_name_mismatch_names_the_host_not_the_ca_bundle(
    profile: Profile, bank: Pem, host: str
) -> None:
    with tls_listener(bank) as port:
        message = refusal(profile, f"https://{host}:{port}", bank.ca)
    assert message == (
        f"the server certificate of https://{host}:{port} does not name {host}, the host in "
        "base_url; use a host name the certificate was issued for"
    )


def test_an_unknown_ca_still_says_set_the_ca_bundle(
    profile: Profile, bank: Pem, tmp_path: Path
) -> None:
    other = make_server_pki(tmp_path / "other", "localhost")
    with tls_listener(bank) as port:
        message = refusal(profile, f"https://localhost:{port}", other.ca)
    assert "is not trusted (set tls.ca_bundle to the CA that issued it)" in message


def test_an_expired_server_certificate_says_so(profile: Profile, tmp_path: Path) -> None:
    expired = make_server_pki(tmp_path, "localhost", days=(-30, -1))
    with tls_listener(expired) as port:
        message = refusal(profile, f"https://localhost:{port}", expired.ca)
    assert message == (
        f"the server certificate of https://localhost:{port} has expired "
        "(or this machine's clock is wrong)"
    )


@pytest.fixture
def profile_copy(sandbox_profile: Path, tmp_path: Path) -> Path:
    """A copy of the sandbox's profile and PKI that a test may change."""
    shutil.copytree(sandbox_profile.parent / "pki", tmp_path / "pki")
    return Path(shutil.copy(sandbox_profile, tmp_path / "profile.yaml"))


@pytest.mark.parametrize(
    "content",
    [NOT_PEM, b"\x30\x82\x01\x0a-a DER-like blob"],
    ids=["not-pem", "der"],
)
def test_a_ca_bundle_that_is_not_pem_is_refused_at_load(profile_copy: Path, content: bytes) -> None:
    (profile_copy.parent / "pki" / "ca.pem").write_bytes(content)
    with pytest.raises(ConfigError) as info:
        load_profile(profile_copy)
    message = str(info.value)
    line = profile_copy.read_text(encoding="utf-8").split("ca_bundle")[0].count("\n") + 1
    assert message.startswith(f"{profile_copy}:{line}: tls.ca_bundle: ")
    assert "is not a PEM bundle of CA certificates" in message
    assert "QWAC" not in message and "secret-looking" not in message
    assert "\n" not in message


def test_doctor_names_the_ca_bundle_and_the_host_mismatch(
    profile_copy: Path, bank: Pem, tmp_path: Path
) -> None:
    ca = tmp_path / "pki" / "ca.pem"
    ca.write_bytes(NOT_PEM)
    checks = {c.name: c for c in diagnose(profile_copy, connect=True)}
    assert checks["connect"].status == "FAIL"
    assert checks["connect"].detail.startswith("tls.ca_bundle: ")
    assert "QWAC" not in checks["connect"].detail
    assert "tls.ca_bundle" in checks["profile loads"].detail

    shutil.copy(bank.ca, ca)
    data = yaml.safe_load(profile_copy.read_text(encoding="utf-8"))
    with tls_listener(bank) as port:
        data["base_url"] = f"https://localhost:{port}"
        profile_copy.write_text(yaml.safe_dump(data), encoding="utf-8")
        checks = {c.name: c for c in diagnose(profile_copy, connect=True)}
    assert checks["connect"].status == "FAIL"
    assert "does not name localhost, the host in base_url" in checks["connect"].detail
