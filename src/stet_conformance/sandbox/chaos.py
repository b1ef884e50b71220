"""Faults of the transport, not of the API: a gateway that hangs, drips, resets or overflows.

They prove the harness ends such a run as *broken* or *failed*, never crashed, and keeps going.
An ASGI wrapper around the sandbox application, active only for the chaos faults it names; each
acts on one endpoint so the rest of the run still passes.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

ASGIApp = Any  # the Starlette application; typed loosely, as ASGI callables are
BASE = "/stet/psd2/v1.4.2"
TRANSPORT_KEY = "stet.transport"  # the asyncio transport, put in the scope by the server

CHAOS_FAULTS: dict[str, str] = {
    "identity-hangs": "GET /end-user-identity never answers (a hung gateway)",
    "identity-drips": "GET /end-user-identity sends its body one byte every half second",
    "balances-reset-mid-body": "GET balances drops the connection in the middle of the body",
    "accounts-502-html": "GET /accounts answers 502 with an HTML gateway error page",
    "transactions-truncated-json": "GET transactions sends a JSON body cut in half",
    "beneficiaries-huge-body": "GET /trusted-beneficiaries sends a 24 MB body",
}

_JSON = [(b"content-type", b"application/hal+json; charset=utf-8")]


async def _start(send: Any, status: int, headers: list[tuple[bytes, bytes]], length: int) -> None:
    headers = [*headers, (b"content-length", str(length).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})


async def _hang(scope: Any, send: Any) -> None:
    await asyncio.sleep(120)


async def _drip(scope: Any, send: Any) -> None:
    body = json.dumps({"connectedPsu": "MARC SANDBOXM", "_links": {}}).encode()
    await _start(send, 200, _JSON, len(body))
    for byte in body:
        await send({"type": "http.response.body", "body": bytes([byte]), "more_body": True})
        await asyncio.sleep(0.5)
    await send({"type": "http.response.body", "body": b""})


async def _reset(scope: Any, send: Any) -> None:
    await _start(send, 200, _JSON, 2000)
    await send({"type": "http.response.body", "body": b'{"balances": [', "more_body": True})
    await asyncio.sleep(0.05)
    transport = scope.get("extensions", {}).get(TRANSPORT_KEY)
    if transport is not None:
        transport.abort()


async def _html_502(scope: Any, send: Any) -> None:
    body = b"<html><head><title>502 Bad Gateway</title></head><body>Bad Gateway</body></html>"
    await _start(send, 502, [(b"content-type", b"text/html")], len(body))
    await send({"type": "http.response.body", "body": body})


async def _truncated(scope: Any, send: Any) -> None:
    full = json.dumps({"transactions": [{"status": "BOOK"}] * 20, "_links": {}}).encode()
    body = full[: len(full) // 2]
    await _start(send, 200, _JSON, len(body))
    await send({"type": "http.response.body", "body": body})


async def _huge(scope: Any, send: Any) -> None:
    chunk = b" " * 65536
    count = 24 * 16  # 24 MB
    await _start(send, 200, _JSON, len(chunk) * count)
    for _ in range(count):
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


_ACTIONS = {
    "identity-hangs": (f"{BASE}/end-user-identity", _hang),
    "identity-drips": (f"{BASE}/end-user-identity", _drip),
    "balances-reset-mid-body": ("/balances", _reset),
    "accounts-502-html": (f"{BASE}/accounts", _html_502),
    "transactions-truncated-json": ("/transactions", _truncated),
    "beneficiaries-huge-body": (f"{BASE}/trusted-beneficiaries", _huge),
}


def with_chaos(app: ASGIApp, faults: frozenset[str]) -> ASGIApp:
    """``app``, unless a chaos fault is on: then its endpoint misbehaves at the transport level."""
    active = [_ACTIONS[name] for name in sorted(faults) if name in _ACTIONS]
    if not active:
        return app

    async def chaotic(scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "") if scope.get("type") == "http" else ""
        for suffix, action in active:
            exact = suffix.startswith("/stet/")
            if (path == suffix) if exact else path.endswith(suffix):
                await action(scope, send)
                return
        await app(scope, receive, send)

    return chaotic
