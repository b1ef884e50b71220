"""Fixtures shared by the harness's own tests (tests/): a running reference sandbox,
certificates made to order (expired, without organizationIdentifier, for another key), and
hostile loopback servers (dripping headers, huge bodies)."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from stet_conformance.report.results import REPORTS_ENV
from stet_conformance.sandbox.server import SandboxServer
from stet_conformance.shared.certs import ORGANIZATION_IDENTIFIER

CHECKOUT_REPORTS = Path(__file__).resolve().parent / "reports"


@pytest.fixture(scope="session", autouse=True)
def reports_outside_the_checkout(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``run`` writes a results directory under reports/ by default: the tests' go to a
    temporary directory, and a test session that leaves anything in the checkout's reports/
    ends with an error naming it."""
    before = set(CHECKOUT_REPORTS.iterdir())
    reports = tmp_path_factory.mktemp("reports")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(REPORTS_ENV, str(reports))
        yield reports
    left = sorted(str(p) for p in set(CHECKOUT_REPORTS.iterdir()) - before)
    assert not left, f"the tests left files in the checkout's reports/: {', '.join(left)}"


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


# --- hostile loopback servers -------------------------------------------------------------------

Answer = Callable[[socket.socket, threading.Event], None]


class HostileServers:
    """Servers on 127.0.0.1 that answer every request with ``answer`` (one thread each).

    Plain HTTP, or HTTPS with the sandbox's server certificate when given its ``pki`` directory.
    An answer stops when the client hangs up or the test ends (``stop`` is set).
    """

    def __init__(self) -> None:
        self.stop = threading.Event()
        self._listeners: list[socket.socket] = []

    def start(self, answer: Answer, pki: Path | None = None) -> str:
        """The base URL of a new server answering with ``answer``."""
        listener = socket.create_server(("127.0.0.1", 0))
        self._listeners.append(listener)
        tls = None
        if pki is not None:
            tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            tls.load_cert_chain(pki / "server.pem", pki / "server.key")
        args = (listener, answer, tls)
        threading.Thread(target=self._serve, args=args, daemon=True).start()
        scheme = "http" if tls is None else "https"
        return f"{scheme}://127.0.0.1:{listener.getsockname()[1]}"

    def drip_headers(self, seconds: float = 6.0, pki: Path | None = None) -> str:
        """A server sending its status line and headers one byte every 0.1 s, for ``seconds``."""

        def answer(conn: socket.socket, stop: threading.Event) -> None:
            ends = time.monotonic() + seconds
            head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Slow: " + b"a" * 10_000
            for byte in head:
                if stop.is_set() or time.monotonic() > ends:
                    return
                conn.sendall(bytes([byte]))
                time.sleep(0.1)

        return self.start(answer, pki)

    def big_body(self, size: int) -> str:
        """A server answering 200 with a body of ``size`` spaces, sent 64 KiB at a time."""

        def answer(conn: socket.socket, stop: threading.Event) -> None:
            head = (
                f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {size}\r\n"
            )
            conn.sendall(head.encode() + b"\r\n")
            for start in range(0, size, 65536):
                if stop.is_set():
                    return
                conn.sendall(b" " * min(65536, size - start))

        return self.start(answer)

    def close(self) -> None:
        self.stop.set()
        for listener in self._listeners:
            listener.close()

    def _serve(self, listener: socket.socket, answer: Answer, tls: ssl.SSLContext | None) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            args = (conn, answer, tls)
            threading.Thread(target=self._handle, args=args, daemon=True).start()

    def _handle(self, conn: socket.socket, answer: Answer, tls: ssl.SSLContext | None) -> None:
        try:
            if tls is not None:
                conn = tls.wrap_socket(conn, server_side=True)
            _read_request(conn)
            answer(conn, self.stop)
        except OSError:
            pass  # the client hung up, as it should
        finally:
            conn.close()


def _read_request(conn: socket.socket) -> None:
    """Read one request (head and Content-Length body), so closing does not reset the client."""
    data = b""
    while b"\r\n\r\n" not in data:
        more = conn.recv(65536)
        if not more:
            return
        data += more
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":")[1])
            for line in head.lower().split(b"\r\n")
            if line.startswith(b"content-length:")
        ),
        0,
    )
    while len(body) < length:
        more = conn.recv(65536)
        if not more:
            return
        body += more


@pytest.fixture
def hostile() -> Iterator[HostileServers]:
    servers = HostileServers()
    yield servers
    servers.close()
