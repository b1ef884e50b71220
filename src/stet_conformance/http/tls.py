"""The mutual-TLS context: trust anchor for the bank's server, QWAC for the client side."""

from __future__ import annotations

import ssl
from pathlib import Path


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
