"""The mutual-TLS context: trust anchor for the bank's server, QWAC for the client side."""

from __future__ import annotations

import ssl
from pathlib import Path
from urllib.parse import urlsplit


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
