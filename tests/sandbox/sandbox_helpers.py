"""Test helpers for the sandbox tests: a signed mTLS client bound to one sandbox."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from stet_conformance.http.signing import RequestOptions, Signer, StetAuth
from stet_conformance.http.tls import client_context
from stet_conformance.sandbox.server import SandboxServer

BASE = "/stet/psd2/v1.4.2"
PSU_IP = "192.0.2.10"


def load_key(path: Path) -> rsa.RSAPrivateKey:
    key = load_pem_private_key(path.read_bytes(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


@dataclass
class Api:
    """A signed mTLS client for one sandbox, with the tokens of its profile."""

    server: SandboxServer
    profile: dict[str, Any]
    client: httpx.Client

    def token(self, persona: str = "LEA", scope: str = "aisp") -> str:
        return str(self.profile["personas"][persona]["tokens"][scope])

    def call(
        self,
        method: str,
        path: str,
        *,
        persona: str = "LEA",
        scope: str = "aisp",
        token: str | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        **options: bool,
    ) -> httpx.Response:
        value = token if token is not None else self.token(persona, scope)
        return self.client.request(
            method,
            BASE + path,
            json=json,
            headers=headers,
            params=params,
            extensions={"stet": RequestOptions(token=value, **options)},
        )

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.call("GET", path, **kwargs)


@contextmanager
def open_api(
    server: SandboxServer,
    *,
    signer: Signer | None = None,
    cert: Path | None = None,
    key: Path | None = None,
) -> Iterator[Api]:
    profile = yaml.safe_load(server.profile_path.read_text(encoding="utf-8"))
    if signer is None:
        signer = Signer(load_key(server.pki.qseal_key), profile["signing"]["key_id"])
    context = client_context(
        server.pki.ca_cert, cert or server.pki.qwac_cert, key or server.pki.qwac_key
    )
    auth = StetAuth(signer, psu_ip_address=PSU_IP)
    with httpx.Client(base_url=server.base_url, verify=context, auth=auth, timeout=10) as client:
        yield Api(server, profile, client)


ApiCheck = Callable[[Api], None]


def check_registry() -> tuple[dict[str, ApiCheck], Callable[[str], Callable[[ApiCheck], ApiCheck]]]:
    """A table of checks by fault or switch name, and the decorator that fills it."""
    checks: dict[str, ApiCheck] = {}

    def check(name: str) -> Callable[[ApiCheck], ApiCheck]:
        def register(func: ApiCheck) -> ApiCheck:
            checks[name] = func
            return func

        return register

    return checks, check
