"""The client's retry policy, body cap and error wording (no network: an httpx MockTransport)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import httpx
import pytest

from stet_conformance.config.profile import Profile, RetryPolicy, load_profile
from stet_conformance.errors import TargetError
from stet_conformance.http.client import StetClient
from stet_conformance.http.redact import Redactor
from stet_conformance.sandbox.server import SandboxServer


@pytest.fixture(scope="module")
def profile(sandbox: SandboxServer) -> Profile:
    return load_profile(Path(sandbox.profile_path))


class Script:
    """Answers a request from a list of outcomes and counts the calls."""

    def __init__(self, *outcomes: int | Exception) -> None:
        self.outcomes = list(outcomes)
        self.calls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        outcome = self.outcomes[min(self.calls, len(self.outcomes) - 1)]
        self.calls += 1
        if isinstance(outcome, Exception):
            raise outcome
        return httpx.Response(outcome, json={"status": outcome, "message": "x"})


def client(profile: Profile, script: Script, **changes: object) -> StetClient:
    changed = dataclasses.replace(profile, **changes)  # type: ignore[arg-type]
    return StetClient(changed, Redactor(), transport=httpx.MockTransport(script))


FAST = RetryPolicy(count=2, backoff=0.0)


def test_no_retry_by_default(profile: Profile) -> None:
    script = Script(503, 200)
    exchange = client(profile, script).send("GET", "/stet/psd2/v1.4.2/accounts")
    assert (exchange.status, script.calls) == (503, 1)


def test_idempotent_requests_are_retried_on_the_named_statuses(profile: Profile) -> None:
    script = Script(503, 502, 200)
    exchange = client(profile, script, retries=FAST).send("GET", "/stet/psd2/v1.4.2/accounts")
    assert (exchange.status, script.calls) == (200, 3)


def test_retries_stop_after_count(profile: Profile) -> None:
    script = Script(503)
    exchange = client(profile, script, retries=FAST).send("PUT", "/stet/psd2/v1.4.2/consents")
    assert (exchange.status, script.calls) == (503, 3)


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_non_idempotent_requests_are_never_retried(profile: Profile, method: str) -> None:
    script = Script(503, 200)
    exchange = client(profile, script, retries=FAST).send(method, "/x")
    assert (exchange.status, script.calls) == (503, 1)
    script = Script(httpx.ReadTimeout("slow"), 200)
    with pytest.raises(TargetError, match="timeout talking to"):
        client(profile, script, retries=FAST).send(method, "/x")
    assert script.calls == 1


def test_timeouts_are_retried_only_when_named(profile: Profile) -> None:
    script = Script(httpx.ReadTimeout("slow"), 200)
    assert client(profile, script, retries=FAST).send("GET", "/x").status == 200
    script = Script(httpx.ReadTimeout("slow"), 200)
    only_503 = RetryPolicy(count=2, on=frozenset({"503"}), backoff=0.0)
    with pytest.raises(TargetError, match="timeout talking to"):
        client(profile, script, retries=only_503).send("GET", "/x")
    assert script.calls == 1


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (httpx.ConnectError("refused"), "cannot connect to https://127.0.0.1:"),
        (
            httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"),
            "is not trusted (set tls.ca_bundle",
        ),
        (httpx.RemoteProtocolError("gone"), "closed the connection before the response was"),
        (httpx.ConnectTimeout("slow"), "timeout talking to"),
    ],
)
def test_transport_errors_are_one_clear_sentence(
    profile: Profile, error: Exception, message: str
) -> None:
    with pytest.raises(TargetError, match=re.escape(message)) as info:
        client(profile, Script(error)).send("GET", "/x")
    assert "Traceback" not in str(info.value)


def test_bodies_beyond_the_cap_are_refused(profile: Profile) -> None:
    def big(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"x" * 5000)

    small = dataclasses.replace(profile, max_body_bytes=4096)
    with pytest.raises(TargetError, match="larger than 4096 bytes"):
        StetClient(small, Redactor(), transport=httpx.MockTransport(big)).send("GET", "/x")
    roomy = dataclasses.replace(profile, max_body_bytes=8192)
    exchange = StetClient(roomy, Redactor(), transport=httpx.MockTransport(big)).send("GET", "/x")
    assert len(exchange.response.content) == 5000


def test_each_retry_is_a_new_signed_request(profile: Profile) -> None:
    """A retry must not look like a replay to a bank with replay protection."""
    seen: list[tuple[str, str]] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append((request.headers["x-request-id"], request.headers["signature"]))
        return httpx.Response(503 if len(seen) < 3 else 200, json={"status": 503, "message": "x"})

    exchange = StetClient(
        dataclasses.replace(profile, retries=FAST),
        Redactor(),
        transport=httpx.MockTransport(record),
    ).send("GET", "/stet/psd2/v1.4.2/accounts")
    assert exchange.status == 200
    assert len(seen) == 3
    assert len({request_id for request_id, _ in seen}) == 3
    assert len({signature for _, signature in seen}) == 3
