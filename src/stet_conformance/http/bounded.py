"""Exchanges bounded in time and memory, whatever a hostile or broken server sends.

Every request of the harness (scenarios, fuzzing, the OAuth token endpoint) goes through
``send_bounded``: ``timeouts.total`` bounds the whole exchange, connection, headers and body
(each socket operation waits at most until the deadline), and ``limits.max_body_bytes`` bounds the
body as it is decoded, so a compression bomb is refused before it grows. Transport failures become
a ``TransportError`` with one sentence a QA engineer can act on and no secret.
"""

from __future__ import annotations

import ssl
import time
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from stet_conformance.config.settings import Limits
from stet_conformance.errors import TargetError
from stet_conformance.http.tls import refused_server_certificate

# The encodings decoded here, and so the only ones the harness asks for.
ACCEPT_ENCODING = "gzip, deflate"
_WBITS = {"gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS}
_CHUNK = 64 * 1024  # the most one decoding step produces at a time


class TransportError(TargetError):
    """A failure below HTTP semantics; ``kind`` is what a retry policy can name."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class Unreachable(TransportError):
    """No connection at all (refused, no route, unknown host): every later request fails the same
    way, so a run stops at the first one. TLS refusals are not this: they may concern one QWAC."""

    def __init__(self, message: str) -> None:
        super().__init__("connect", message)


@dataclass(frozen=True)
class Bounds:
    """What one exchange may cost: ``origin`` is named in messages, ``setting`` is where the
    profile declares it (for the fix a message suggests)."""

    origin: str
    total_timeout: float
    max_body_bytes: int
    setting: str = "base_url"

    @classmethod
    def of(cls, limits: Limits, origin: str, setting: str = "base_url") -> Bounds:
        return cls(origin, limits.total_timeout, limits.max_body_bytes, setting)


class _Deadline:
    """The end of one exchange; ``decided`` says whether it cut the last socket wait short."""

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds
        self.decided = False

    def clamp(self, timeout: float | None, error: type[Exception]) -> float:
        """``timeout`` shortened to the time left; ``error`` when none is left."""
        left = self.at - time.monotonic()
        self.decided = timeout is None or left <= timeout
        if left <= 0:
            raise error("timeouts.total reached")
        return left if timeout is None else min(timeout, left)

    def passed(self) -> bool:
        return time.monotonic() >= self.at


_DEADLINE: ContextVar[_Deadline | None] = ContextVar("stet_deadline", default=None)


def _clamp(timeout: float | None, error: type[Exception]) -> float | None:
    deadline = _DEADLINE.get()
    return timeout if deadline is None else deadline.clamp(timeout, error)


class _DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose every wait ends at the current exchange's deadline."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _clamp(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _clamp(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        wait = _clamp(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, wait))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's socket backend, with streams that honour the exchange deadline."""

    def __init__(self) -> None:
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        wait = _clamp(timeout, httpcore.ConnectTimeout)
        stream = self._backend.connect_tcp(host, port, wait, local_address, socket_options)
        return _DeadlineStream(stream)


class BoundedTransport(httpx.HTTPTransport):
    """httpx's transport over the deadline backend (httpx offers no total timeout).

    ``HTTPTransport`` takes no network backend, so its connection pool is replaced by one with
    the same settings that has it; the header-drip tests fail if an httpx upgrade breaks this.
    """

    def __init__(self, context: ssl.SSLContext) -> None:
        super().__init__(verify=context)
        self._pool = httpcore.ConnectionPool(
            ssl_context=context,
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=_DeadlineBackend(),
        )


def bounded_client(
    context: ssl.SSLContext,
    limits: Limits,
    *,
    base_url: str = "",
    auth: httpx.Auth | None = None,
    transport: httpx.BaseTransport | None = None,
) -> httpx.Client:
    """A client for ``send_bounded``: the profile's timeouts, no redirects, decodable encodings.

    ``transport`` replaces the network, for unit tests only.
    """
    return httpx.Client(
        base_url=base_url,
        verify=context,
        auth=auth,
        timeout=httpx.Timeout(limits.read_timeout, connect=limits.connect_timeout),
        follow_redirects=False,
        headers={"Accept-Encoding": ACCEPT_ENCODING},
        transport=transport or BoundedTransport(context),
    )


def send_bounded(http: httpx.Client, request: httpx.Request, bounds: Bounds) -> httpx.Response:
    """The response to ``request`` with its decoded body read, within ``bounds``."""
    deadline = _Deadline(bounds.total_timeout)
    token = _DEADLINE.set(deadline)
    try:
        response = http.send(request, stream=True)
        try:
            body = _read_decoded(response, bounds, deadline)
        finally:
            response.close()
    except httpx.HTTPError as exc:
        raise _transport_error(bounds, exc, deadline) from None
    finally:
        _DEADLINE.reset(token)
    # The body is decoded already: drop Content-Encoding so it is not decoded twice. Names
    # lower-cased, values as bytes: as sent, whatever their charset, and not decoded for nothing.
    raw = ((name.lower(), value) for name, value in response.headers.raw)
    headers = [(name, value) for name, value in raw if name != b"content-encoding"]
    complete = httpx.Response(
        response.status_code,
        headers=headers,
        content=body,
        request=response.request,  # an auth flow may have changed it: keep the one actually sent
        extensions=response.extensions,
    )
    complete.read()
    return complete


def _read_decoded(response: httpx.Response, bounds: Bounds, deadline: _Deadline) -> bytes:
    """The body decoded as it arrives, refused past the cap or the deadline."""
    if response.is_stream_consumed:  # built in memory (a unit test's MockTransport): decoded
        pieces: Iterable[bytes] = [response.content]
    else:
        encodings = response.headers.get_list("content-encoding", split_commas=True)
        pieces = _decoded(response.iter_raw(), encodings, bounds.origin)
    chunks: list[bytes] = []
    size = 0
    for chunk in pieces:
        size += len(chunk)
        if size > bounds.max_body_bytes:
            raise TransportError(
                "too-large",
                f"{bounds.origin} sent a body larger than {bounds.max_body_bytes} bytes "
                "(limits.max_body_bytes); the rest was not read",
            )
        if deadline.passed():
            raise _too_slow(bounds)
        chunks.append(chunk)
    return b"".join(chunks)


def _decoded(raw: Iterable[bytes], encodings: Sequence[str], origin: str) -> Iterator[bytes]:
    """``raw`` with its gzip/deflate layers undone, in pieces of at most ``_CHUNK`` bytes.

    Other encodings are left as they are, as httpx does (the harness does not ask for them).
    """
    stream: Iterable[bytes] = raw
    for encoding in reversed([e.strip().lower() for e in encodings]):
        if encoding in _WBITS:
            stream = _inflate(stream, encoding, origin)
    return iter(stream)


def _inflate(stream: Iterable[bytes], encoding: str, origin: str) -> Iterator[bytes]:
    """One layer of decompression that never produces more than ``_CHUNK`` bytes at once."""
    inflater: Any = None
    try:
        for data in stream:
            if inflater is None and data:
                inflater = zlib.decompressobj(_wbits(encoding, data))
            while data:
                out = inflater.decompress(data, _CHUNK)
                data = inflater.unconsumed_tail
                if out:
                    yield out
        if inflater is not None:
            yield inflater.flush()
    except zlib.error as exc:
        raise TransportError(
            "http", f"{origin} sent a {encoding} body that does not decode: {exc}"
        ) from None


def _wbits(encoding: str, head: bytes) -> int:
    """The zlib window bits; raw deflate when a "deflate" body has no zlib header (as httpx)."""
    zlib_header = len(head) < 2 or (head[0] & 0x0F == 8 and int.from_bytes(head[:2]) % 31 == 0)
    if encoding == "deflate" and not zlib_header:
        return -zlib.MAX_WBITS
    return _WBITS[encoding]


def _too_slow(bounds: Bounds) -> TransportError:
    return TransportError(
        "timeout",
        f"{bounds.origin} took longer than {bounds.total_timeout:g} s to send the response "
        "(timeouts.total)",
    )


def _transport_error(bounds: Bounds, exc: httpx.HTTPError, deadline: _Deadline) -> TransportError:
    origin = bounds.origin
    if isinstance(exc, httpx.TimeoutException):
        if deadline.decided or deadline.passed():
            return _too_slow(bounds)
        return TransportError("timeout", f"timeout talking to {origin}: {_kind(exc)}")
    if isinstance(exc, httpx.ConnectError):
        return _connect_error(bounds, exc)
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return TransportError(
            "reset",
            f"{origin} closed the connection before the response was complete ({_kind(exc)}); "
            "if this happens on the first request, the server probably refused the TLS "
            "client certificate (QWAC)",
        )
    return TransportError("http", f"HTTP error with {origin}: {_kind(exc)}")


def _kind(exc: Exception) -> str:
    return type(exc).__name__


# A connection made, then ended during the TLS handshake (an alert, a reset, an abrupt EOF): the
# server refused something of this client (its certificate), not the connection itself.
_HANDSHAKE_WORDS = ("certificate", "alert", "reset by peer", "eof")


def _connect_error(bounds: Bounds, exc: httpx.ConnectError) -> TransportError:
    origin, text = bounds.origin, str(exc)
    refused = refused_server_certificate(text, origin, bounds.setting)
    if refused:
        return TransportError("connect", refused)
    if any(word in text.lower() for word in _HANDSHAKE_WORDS):
        return TransportError("connect", f"TLS handshake with {origin} failed: {text[:200]}")
    return Unreachable(f"cannot connect to {origin}: {text[:200]}")
