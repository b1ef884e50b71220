"""Running the sandbox: uvicorn over mTLS, in a background thread or in the foreground.

uvicorn does not expose the TLS peer certificate to the application, so ``TlsH11Protocol`` puts
it into ``scope["extensions"]["tls"]``. The server writes a target profile for itself (0600:
it holds bearer tokens) so the harness can be pointed at it directly; its ``sandbox.reset_path``
lets the harness start every run against a long-running sandbox from the same state.

Bank variants are options of the server, not faults: ``replay_protection=True`` is a bank that
refuses a replayed signed request (the same keyId and Signature value within 5 minutes) with 400;
its profile then says ``replay_protection: true``. The portal's bank does not promise it. A fault
that only exists in a variant (``replay-accepted``) switches its variant on, whoever starts the
server: ``stet-conformance run`` and ``pytest`` (``start_sandbox``), ``stet-conformance sandbox``
(``run_forever``) and the tests all construct a ``SandboxServer``.

Legitimate variants (``variants=``, sandbox/variants.py) take the other answers the portal and
STET allow; the profile says what a bank would declare of them: its persona data and payment
requests (variant ``data``), ``oauth.rotates_refresh_token``, ``identity_available``,
``transaction_statuses``, ``fallback.token_param`` and ``vars.fuzz.signature_status``.
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType
from typing import Any, cast

import uvicorn
import yaml
from cryptography import x509
from uvicorn._types import ASGIReceiveCallable, ASGISendCallable, Scope
from uvicorn.protocols.http.h11_impl import H11Protocol

from stet_conformance.sandbox import CONCURRENCY, PKI_DIR, PROFILE_FILE
from stet_conformance.sandbox.app import RESET_PATH, build_app
from stet_conformance.sandbox.chaos import CHAOS_FAULTS, TRANSPORT_KEY, with_chaos
from stet_conformance.sandbox.faults import parse_faults, variant_options
from stet_conformance.sandbox.latency import check_latency, with_latency
from stet_conformance.sandbox.payment_requests import load_payment_requests
from stet_conformance.sandbox.personas import load_bank
from stet_conformance.sandbox.pki import TPP_ID, Pki, ensure_pki
from stet_conformance.sandbox.state import SandboxState
from stet_conformance.sandbox.variants import variant_switches
from stet_conformance.shared import cavage
from stet_conformance.shared.resources import fixtures_dir

_START_TIMEOUT = 10.0


class TlsH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, plus the client certificate in the ASGI TLS extension."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        # asyncio leaves Nagle on for TLS server sockets: with delayed ACKs every response
        # would wait ~40 ms for the client's ACK of the previous TLS record.
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        inner = self.app

        async def with_tls(
            scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
        ) -> None:
            extensions = cast("dict[str, Any]", scope).setdefault("extensions", {})
            extensions["tls"] = {"client_cert_der": der}
            extensions[TRANSPORT_KEY] = transport  # for the chaos faults' connection reset
            await inner(scope, receive, send)

        self.app = with_tls


def _load_cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _data_file(choices: frozenset[str]) -> Path:
    """The personas and payment requests the bank serves (variant data: another shape)."""
    name = "personas-variant.yaml" if "other-persona-data" in choices else "personas.yaml"
    return fixtures_dir() / name


def _declared_data(choices: frozenset[str]) -> dict[str, Any]:
    """What the profile declares of a variant's data (persona data, payment requests) and of
    its signature refusals (``vars.fuzz.signature_status``)."""
    declared: dict[str, Any] = {"vars": {}}
    if "signature-401" in choices:
        declared["vars"]["fuzz"] = {"signature_status": [401]}
    if "other-persona-data" not in choices:
        return declared
    raw = yaml.safe_load(_data_file(choices).read_text(encoding="utf-8"))
    declared["personas"] = raw["personas"]
    declared["vars"] |= {
        "unknown_account": raw["unknown_account"],
        # the resource ids alone, as a bank gives them (PIS-1 checks no amount then)
        "payment_requests": {
            persona: [{"resource_id": r["resource_id"]} for r in requests]
            for persona, requests in raw["payment_requests"].items()
        },
    }
    return declared


def _declared_choices(choices: frozenset[str]) -> list[str]:
    """The profile settings a bank would write for the variant choices that need one."""
    zone = "Europe/Paris" if "impute-paris" in choices else "UTC"
    lines = [f"imputation: {{timezone: {zone}}}"]
    if "identity-unavailable" in choices:
        lines.append("identity_available: false")
    if "pending-pdng" in choices:
        lines.append("transaction_statuses: [BOOK, PDNG]")
    if "fallback-token-jwt" in choices:
        lines.append("fallback: {token_param: jwt}")
    return lines


def _persona_lines(state: SandboxState, declared: dict[str, Any]) -> list[str]:
    lines = ["personas:"]
    for name, issued in state.preissued.items():
        tokens = ", ".join(f"{scope}: {value}" for scope, value in issued.tokens.items())
        refresh = ", ".join(f"{s}: {v}" for s, v in issued.refresh_tokens.items())
        expired = ", ".join(f"{s}: {v}" for s, v in issued.expired_tokens.items())
        pools = ", ".join(
            f"{s}: [{', '.join(v)}]" for s, v in issued.disposable_refresh_tokens.items()
        )
        data = declared.get("personas", {}).get(name)
        extra = f", data: {json.dumps(data)}" if data is not None else ""
        lines.append(
            f"  {name}: {{tokens: {{{tokens}}}, refresh_tokens: {{{refresh}}}, "
            f"expired_tokens: {{{expired}}}, disposable_refresh_tokens: {{{pools}}}{extra}}}"
        )
    if declared.get("vars"):
        lines.append(f"vars: {json.dumps(declared['vars'])}")
    return lines


def _profile(pki: Pki, base_url: str, state: SandboxState) -> str:
    qseal = _load_cert(pki.qseal_cert)
    key_id = f"{base_url}/certs/qseal_{cavage.fingerprint(qseal)}"
    oauth = f"{base_url}/stet/psd2/oauth"
    rotates = "true" if "refresh-rotates" in state.choices else "false"
    lines = [
        "# Target profile written by the reference sandbox (stet-conformance). "
        "Tokens are sandbox-only.",
        "name: reference-sandbox",
        f"base_url: {base_url}",
        "api_prefix: /stet/psd2/v1.4.2",
        "timeouts: {connect: 5, read: 5, total: 10}",
        "tls: {ca_bundle: pki/ca.pem, client_cert: pki/qwac.pem, client_key: pki/qwac.key, "
        "other_client_cert: pki/qwac-other.pem, other_client_key: pki/qwac-other.key}",
        f'signing: {{key: pki/qseal.key, certificate: pki/qseal.pem, key_id: "{key_id}"}}',
        f"oauth: {{token_url: {oauth}/token, authorize_url: {oauth}/authorize, "
        f"revoke_url: {oauth}/revoke, rotates_refresh_token: {rotates}, client_id: {TPP_ID}}}",
        f"replay_protection: {'true' if state.replay_protection else 'false'}",
        *_declared_choices(state.choices),
        f"concurrency: {CONCURRENCY}  # requests in flight at once: run's workers without -n",
        "# Sandbox only: the harness restores the sandbox's start state here at each run's start;",
        "# its authorize issues a code at once for psu=<persona> (no browser).",
        f"sandbox: {{reset_path: {RESET_PATH}, authorize_without_browser: true}}",
    ]
    lines += _persona_lines(state, _declared_data(state.choices))
    return "\n".join(lines) + "\n"


def _write_private(path: Path, text: str) -> None:
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(text, encoding="utf-8")


class SandboxServer:
    """The sandbox on ``https://host:port`` in a background thread (a context manager).

    Raises ``ValueError`` naming the valid faults (or variants) when a name is unknown, or
    when ``latency_ms`` (a delay before every answer, sandbox/latency.py) is negative.
    """

    def __init__(
        self,
        directory: Path,
        faults: Sequence[str] = (),
        port: int = 0,
        host: str = "127.0.0.1",
        *,
        replay_protection: bool = False,
        variants: Sequence[str] = (),
        latency_ms: float = 0,
    ) -> None:
        self.directory = Path(directory)
        self.faults = parse_faults(faults)
        self.latency_ms = check_latency(latency_ms)
        self.choices = variant_switches(variants)
        self.host = host
        options = variant_options(self.faults)
        replay_protection = replay_protection or options.get("replay_protection", False)
        self._client_cert_optional = options.get("client_cert_optional", False)
        self.pki = ensure_pki(self.directory / PKI_DIR)
        self.profile_path = self.directory / PROFILE_FILE
        data = _data_file(self.choices)
        self.state = SandboxState(
            load_bank(data),
            self.faults,
            _load_cert(self.pki.qseal_cert),
            TPP_ID,
            replay_protection=replay_protection,
            choices=self.choices,
            payments=load_payment_requests(data if "other-persona-data" in self.choices else None),
        )
        self._socket = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.port: int = self._socket.getsockname()[1]
        url_host = f"[{host}]" if ":" in host else host
        self.base_url = f"https://{url_host}:{self.port}"
        _write_private(self.profile_path, _profile(self.pki, self.base_url, self.state))
        self._server = uvicorn.Server(self._config())
        self._thread: threading.Thread | None = None

    def _config(self) -> uvicorn.Config:
        return uvicorn.Config(
            with_latency(with_chaos(build_app(self.state), self.faults), self.latency_ms),
            ssl_keyfile=str(self.pki.server_key),
            ssl_certfile=str(self.pki.server_cert),
            ssl_ca_certs=str(self.pki.ca_cert),
            # The bank's TLS layer refuses a client without a certificate from the CA (the
            # fault mtls-optional-on-balances asks for one without requiring it).
            ssl_cert_reqs=ssl.CERT_OPTIONAL if self._client_cert_optional else ssl.CERT_REQUIRED,
            http=TlsH11Protocol,
            ws="none",
            lifespan="off",
            # Chaos faults break responses on purpose: uvicorn's error logs would only be noise.
            log_level="critical" if self.faults & CHAOS_FAULTS.keys() else "warning",
            access_log=False,
            timeout_graceful_shutdown=2,  # a hung handler (chaos fault) must not block stop()
        )

    def start(self) -> SandboxServer:
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the sandbox server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=_START_TIMEOUT)
            self._thread = None
        self._socket.close()

    def run_forever(self) -> None:
        """Serve in the calling (main) thread until SIGINT/SIGTERM (``stet-conformance sandbox``).

        The first line printed names the URL and the profile, for scripts that start it.
        """
        print(f"sandbox listening on {self.base_url}; profile: {self.profile_path}", flush=True)
        try:
            self._server.run(sockets=[self._socket])
        finally:
            self._socket.close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def start_sandbox(
    stack: ExitStack,
    faults: Sequence[str] = (),
    directory: Path | None = None,
    variants: Sequence[str] = (),
    latency_ms: float = 0,
) -> SandboxServer:
    """Run the sandbox in a background thread until ``stack`` closes: a run's default target.

    Without ``directory`` its PKI and profile live in a temporary directory removed with
    ``stack``; with one they stay (to sign an evidence pack with its QSEAL, say).
    """
    if directory is None:
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="stet-sandbox-")))
    server = SandboxServer(directory, faults, variants=variants, latency_ms=latency_ms)
    return stack.enter_context(server)
