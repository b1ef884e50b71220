"""An injected response delay: the sandbox answers like a bank across a network.

A bank's gateway answers in tens of milliseconds, the loopback sandbox in one or two; a
latency-bound run (``--latency-ms 20``) shows what waiting costs and what overlapping it saves.
An ASGI wrapper, like chaos.py: every HTTP request waits ``latency_ms`` before the application
sees it, without blocking the event loop, so concurrent requests wait side by side.
"""

from __future__ import annotations

import asyncio
from typing import Any

ASGIApp = Any  # the Starlette application; typed loosely, as ASGI callables are


def check_latency(latency_ms: float) -> float:
    """``latency_ms`` when it is a finite number of milliseconds >= 0; else ``ValueError``."""
    if not 0 <= latency_ms < float("inf"):
        raise ValueError(f"latency must be a number of milliseconds >= 0, not {latency_ms}")
    return latency_ms


def with_latency(app: ASGIApp, latency_ms: float) -> ASGIApp:
    """``app``, answering every HTTP request ``latency_ms`` later (``app`` itself when 0)."""
    if check_latency(latency_ms) == 0:
        return app
    delay = latency_ms / 1000

    async def delayed(scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") == "http":
            await asyncio.sleep(delay)
        await app(scope, receive, send)

    return delayed
