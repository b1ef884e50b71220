"""The sandbox under test, in its own process, and the signed request every figure sends."""

from __future__ import annotations

import base64
import re
import subprocess
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from figures import CLI
from stet_conformance.config.persona_tokens import persona_token
from stet_conformance.config.profile import Profile
from stet_conformance.http.signing import Signer
from stet_conformance.http.tls import client_context
from stet_conformance.shared import cavage

LISTENING = re.compile(r"sandbox listening on (\S+); profile: (.+)$")
PERSONA, SCOPE = "CLAIRE", "aisp"


@dataclass(frozen=True)
class Sandbox:
    base_url: str
    profile_path: Path


@contextmanager
def sandbox_process(directory: Path) -> Iterator[Sandbox]:
    """``stet-conformance sandbox --dir DIR`` in a child process, until the block ends."""
    log = (directory / "sandbox.log").open("w")
    proc = subprocess.Popen(
        [*CLI, "sandbox", "--dir", str(directory / "sandbox")],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = LISTENING.search(line.strip())
        if match is None:
            raise RuntimeError(f"the sandbox did not start: {line!r} (see {log.name})")
        yield Sandbox(match.group(1), Path(match.group(2)))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def accounts_url(profile: Profile) -> str:
    return profile.api_prefix + "/accounts"


def token(profile: Profile) -> str:
    return persona_token(profile, PERSONA, SCOPE)


def presigned_headers(profile: Profile) -> dict[str, str]:
    """The headers the harness would send for GET /accounts, signed once (fixed request id)."""
    headers = {
        "Authorization": f"Bearer {token(profile)}",
        "X-Request-ID": "0b7bb1d6-3d43-4c8e-8a55-benchmark000",
        "Digest": cavage.body_digest(b""),
    }
    if profile.psu_ip_address:
        headers["PSU-IP-Address"] = profile.psu_ip_address
    signer = Signer(profile.signing.key, profile.signing.key_id, profile.signing.headers)
    request = httpx.Request("GET", profile.base_url + accounts_url(profile), headers=headers)
    headers["Signature"] = signer.signature_header(request)
    return headers


def self_signed_headers(profile: Profile) -> Callable[[], dict[str, str]]:
    """Fresh headers for GET /accounts, signed by the caller with bare ``cryptography``.

    What any signing client pays per request, and nothing of the harness: a new X-Request-ID,
    the signing string of the headers the harness signs, one RSA signature, the header.
    """
    base = presigned_headers(profile)
    del base["Signature"]
    url = httpx.URL(profile.base_url + accounts_url(profile))
    names = Signer(profile.signing.key, profile.signing.key_id, profile.signing.headers).names_for(
        httpx.Headers(base)
    )
    target = f"{cavage.REQUEST_TARGET}: get {url.raw_path.decode('ascii')}"
    key, pkcs1, sha256 = profile.signing.key, padding.PKCS1v15(), hashes.SHA256()
    signed = f'keyId="{profile.signing.key_id}",algorithm="rsa-sha256",headers="{" ".join(names)}"'

    def headers() -> dict[str, str]:
        fresh = {**base, "X-Request-ID": str(uuid.uuid4())}
        lower = {name.lower(): value for name, value in fresh.items()}
        text = "\n".join(
            target if name == cavage.REQUEST_TARGET else f"{name}: {lower[name]}" for name in names
        )
        signature = base64.b64encode(key.sign(text.encode(), pkcs1, sha256)).decode("ascii")
        fresh["Signature"] = f'{signed},signature="{signature}"'
        return fresh

    return headers


def raw_client(profile: Profile) -> httpx.Client:
    tls = profile.tls
    key_password = tls.client_key_password
    context = client_context(tls.ca_bundle, tls.client_cert, tls.client_key, key_password)
    return httpx.Client(base_url=profile.base_url, verify=context)
