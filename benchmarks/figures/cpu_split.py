"""Figure 1's details: where the harness client's CPU goes, per request.

One more batch of ``harness_once``, with accounting wrappers around the parts (class methods
patched for the batch only, each wrapper costing about a microsecond):

- ``sign``: ``Signer.signature_header`` (the signing string and the RSA signature);
- ``transport``: ``httpx.Client.send`` without the signature (the rest of the auth flow:
  bearer, X-Request-ID, Digest; then h11, TLS, the socket);
- ``recording``: ``send_bounded`` without ``httpx.Client.send`` (the body read under its cap and
  deadline, the response kept for the checks);
- ``redaction``: ``Redactor.learn`` (the secrets a response hands out);
- ``checks``: ``run_checks`` (the JSON body parsed, the schema and the automatic checks);
- ``other``: the rest of ``StetClient.send`` (the request built, the origin, the budget).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import httpx

from stet_conformance.http import client as client_module
from stet_conformance.http.redact import Redactor
from stet_conformance.http.signing import Signer


def _accounted(function: Callable[..., Any], spent: dict[str, float], part: str) -> Any:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            spent[part] += time.process_time() - started

    return wrapper


@contextmanager
def accounting(spent: dict[str, float]) -> Iterator[None]:
    """While open, CPU seconds of each wrapped part add up in ``spent`` (raw, nested)."""
    wrapped = [
        (Signer, "signature_header", "sign"),
        (httpx.Client, "send", "http_send"),
        (client_module, "send_bounded", "send_bounded"),
        (Redactor, "learn", "redaction"),
    ]
    with ExitStack() as stack:
        for owner, name, part in wrapped:
            original = getattr(owner, name)
            setattr(owner, name, _accounted(original, spent, part))
            stack.callback(setattr, owner, name, original)
        yield


def cpu_split(
    send: Callable[[], Any], check: Callable[[Any], object], batch: int
) -> dict[str, float]:
    """CPU milliseconds per request of each part (see above), over ``batch`` requests."""
    spent = dict.fromkeys(["sign", "http_send", "send_bounded", "redaction", "send", "checks"], 0.0)
    with accounting(spent):
        for _ in range(batch):
            started = time.process_time()
            exchange = send()
            sent = time.process_time()
            check(exchange)
            spent["send"] += sent - started
            spent["checks"] += time.process_time() - sent
    parts = {
        "sign": spent["sign"],
        "transport": spent["http_send"] - spent["sign"],
        "recording": spent["send_bounded"] - spent["http_send"],
        "redaction": spent["redaction"],
        "checks": spent["checks"],
        "other": spent["send"] - spent["send_bounded"] - spent["redaction"],
    }
    return {f"cpu_ms_{name}": seconds * 1000 / batch for name, seconds in parts.items()}
