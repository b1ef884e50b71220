"""One keep-alive, mutual-TLS, signing httpx client per run, and the record of each exchange.

Transport failures become ``TargetError`` with a sentence a QA engineer can act on (refused
connection, untrusted server certificate, refused client certificate, timeout); they never carry
a secret. ``Exchange`` keeps the raw response for the checks and renders a redacted copy for
humans.
"""

from __future__ import annotations

import json
import ssl
import time
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import httpx

from stet_conformance.config.profile import Profile
from stet_conformance.errors import TargetError
from stet_conformance.http.redact import Redactor
from stet_conformance.http.signing import RequestOptions, Signer, StetAuth
from stet_conformance.http.tls import client_context

MAX_BODY_SHOWN = 4000


@dataclass
class Exchange:
    """One request and its response."""

    request: httpx.Request
    response: httpx.Response
    elapsed: float

    @property
    def status(self) -> int:
        return self.response.status_code

    @cached_property
    def body(self) -> Any:
        """The response body as JSON, or ``None`` when it is empty; ``ValueError`` if not JSON."""
        if not self.response.content:
            return None
        return json.loads(self.response.content)

    def render_parts(self, redactor: Redactor) -> tuple[str, str]:
        """The request and the response as text, with secrets removed."""
        req, resp = self.request, self.response
        request = [f"> {req.method} {redactor.text(str(req.url))}"]
        request += [f"> {k}: {v}" for k, v in redactor.headers(req.headers.multi_items())]
        if req.content:
            content_type = req.headers.get("content-type", "")
            request.append(redactor.body(req.content, content_type)[:MAX_BODY_SHOWN])
        response = [f"< {resp.status_code} {resp.reason_phrase}  ({self.elapsed * 1000:.0f} ms)"]
        response += [f"< {k}: {v}" for k, v in redactor.headers(resp.headers.multi_items())]
        if resp.content:
            content_type = resp.headers.get("content-type", "")
            response.append(redactor.body(resp.content, content_type)[:MAX_BODY_SHOWN])
        return "\n".join(request), "\n".join(response)

    def render(self, redactor: Redactor) -> str:
        """The exchange as text, with secrets removed, for failure messages and reports."""
        return "\n".join(self.render_parts(redactor))

    def __repr__(self) -> str:  # never show headers (tokens) in tracebacks
        return f"<Exchange {self.request.method} {self.request.url.path} -> {self.status}>"


class StetClient:
    """The harness's HTTP client for one target profile."""

    def __init__(self, profile: Profile, redactor: Redactor) -> None:
        self.profile = profile
        self.redactor = redactor
        signer = Signer(profile.signing_key, profile.key_id, profile.signed_headers)
        try:
            context = client_context(
                profile.ca_bundle,
                profile.client_cert,
                profile.client_key,
                profile.client_key_password,
            )
        except ssl.SSLError as exc:
            raise TargetError(f"tls: cannot use the QWAC certificate and key: {exc}") from None
        self._http = httpx.Client(
            base_url=profile.base_url,
            verify=context,
            auth=StetAuth(signer, profile.psu_ip_address),
            timeout=httpx.Timeout(profile.read_timeout, connect=profile.connect_timeout),
            follow_redirects=False,
        )

    def close(self) -> None:
        self._http.close()

    def send(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
        options: RequestOptions | None = None,
    ) -> Exchange:
        request = self._http.build_request(
            method,
            url,
            params=params,
            headers=headers,
            content=content,
            extensions={"stet": options or RequestOptions()},
        )
        started = time.perf_counter()
        try:
            response = self._http.send(request)
        except httpx.TimeoutException as exc:
            raise TargetError(f"timeout talking to {self.profile.base_url}: {_kind(exc)}") from None
        except httpx.ConnectError as exc:
            raise TargetError(_connect_message(self.profile.base_url, exc)) from None
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            raise TargetError(
                f"{self.profile.base_url} closed the connection ({_kind(exc)}); if this is the "
                "first request, the server probably refused the TLS client certificate (QWAC)"
            ) from None
        except httpx.HTTPError as exc:
            raise TargetError(f"HTTP error with {self.profile.base_url}: {_kind(exc)}") from None
        # The auth flow mutated the request; keep the one actually sent.
        return Exchange(response.request, response, time.perf_counter() - started)


def _kind(exc: Exception) -> str:
    return type(exc).__name__


def _connect_message(base_url: str, exc: httpx.ConnectError) -> str:
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return (
            f"the server certificate of {base_url} is not trusted "
            "(set tls.ca_bundle to the CA that issued it)"
        )
    if "certificate" in text.lower() or "alert" in text.lower():
        return f"TLS handshake with {base_url} failed: {text[:200]}"
    return f"cannot connect to {base_url}: {text[:200]}"
