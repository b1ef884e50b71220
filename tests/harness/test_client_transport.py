"""The client's retry policy, body cap, deadline, decoding, error wording and live safety (budget
per attempt, dry run, declared origins).

Mostly without network (an httpx MockTransport); the deadline tests use hostile loopback servers.
"""

from __future__ import annotations

import dataclasses
import json
import re
import textwrap
import time
import tracemalloc
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from stet_conformance.checks.schemas import default_store
from stet_conformance.config.live import UndeclaredOrigin
from stet_conformance.config.profile import Profile, load_profile
from stet_conformance.config.settings import RetryPolicy
from stet_conformance.errors import ScenarioError, TargetError
from stet_conformance.http.bounded import TransportError, Unreachable
from stet_conformance.http.budget import BudgetExhausted, Charge, DryRun, RequestBudget
from stet_conformance.http.client import ClientSettings, StetClient
from stet_conformance.http.redact import Redactor
from stet_conformance.sandbox.server import SandboxServer
from stet_conformance.scenario.loader import load_file
from stet_conformance.scenario.model import Scenario
from stet_conformance.scenario.runner import RunContext, ScenarioSkipped, run_scenario

if TYPE_CHECKING:
    from conftest import HostileServers


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


def settings(profile: Profile, base_url: str | None = None, **limits: Any) -> ClientSettings:
    """The client settings of ``profile``, with other limits or another base URL."""
    changed = dataclasses.replace(
        profile,
        base_url=base_url or profile.base_url,
        limits=dataclasses.replace(profile.limits, **limits),
    )
    return ClientSettings.of(changed)


def client(profile: Profile, script: Script, **limits: Any) -> StetClient:
    return StetClient(
        settings(profile, **limits), Redactor(), transport=httpx.MockTransport(script)
    )


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
        (httpx.WriteError("[Errno 32] Broken pipe"), "closed the connection before the response"),
        (httpx.ConnectTimeout("slow"), "timeout talking to"),
    ],
)
def test_transport_errors_are_one_clear_sentence(
    profile: Profile, error: Exception, message: str
) -> None:
    with pytest.raises(TargetError, match=re.escape(message)) as info:
        client(profile, Script(error)).send("GET", "/x")
    assert "Traceback" not in str(info.value)


@pytest.mark.parametrize(
    ("error", "unreachable"),
    [
        (httpx.ConnectError("[Errno 111] Connection refused"), True),
        (httpx.ConnectError("[Errno -2] Name or service not known"), True),
        (httpx.ConnectError("[SSL: TLSV1_ALERT_UNKNOWN_CA] tlsv1 alert unknown ca"), False),
        (httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"), False),
        (httpx.ConnectError("[Errno 104] Connection reset by peer"), False),
        (httpx.ConnectError("[SSL: UNEXPECTED_EOF_WHILE_READING] EOF occurred"), False),
    ],
)
def test_only_a_connection_that_cannot_be_made_is_unreachable(
    profile: Profile, error: Exception, unreachable: bool
) -> None:
    """A run stops at an Unreachable; a TLS refusal may concern one QWAC only."""
    with pytest.raises(TransportError) as info:
        client(profile, Script(error)).send("GET", "/x")
    assert isinstance(info.value, Unreachable) is unreachable
    assert info.value.kind == "connect"  # what retries.on names, either way


def test_bodies_beyond_the_cap_are_refused(profile: Profile) -> None:
    def big(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"x" * 5000)

    small = settings(profile, max_body_bytes=4096)
    with pytest.raises(TargetError, match="larger than 4096 bytes"):
        StetClient(small, Redactor(), transport=httpx.MockTransport(big)).send("GET", "/x")
    roomy = settings(profile, max_body_bytes=8192)
    exchange = StetClient(roomy, Redactor(), transport=httpx.MockTransport(big)).send("GET", "/x")
    assert len(exchange.response.content) == 5000


def test_each_retry_is_a_new_signed_request(profile: Profile) -> None:
    """A retry must not look like a replay to a bank with replay protection."""
    seen: list[tuple[str, str]] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append((request.headers["x-request-id"], request.headers["signature"]))
        return httpx.Response(503 if len(seen) < 3 else 200, json={"status": 503, "message": "x"})

    exchange = StetClient(
        settings(profile, retries=FAST),
        Redactor(),
        transport=httpx.MockTransport(record),
    ).send("GET", "/stet/psd2/v1.4.2/accounts")
    assert exchange.status == 200
    assert len(seen) == 3
    assert len({request_id for request_id, _ in seen}) == 3
    assert len({signature for _, signature in seen}) == 3


# --- live safety: the one way onto the wire ----------------------------------------------------


def test_every_attempt_is_paid_for_retries_included(profile: Profile) -> None:
    """``budget.requests: 5`` with 5 retries on 503 puts 5 requests on the wire, not 25."""
    budget = RequestBudget(per_run=5)
    script = Script(503)
    retrying = client(profile, script, retries=RetryPolicy(count=5, backoff=0.0))
    with pytest.raises(BudgetExhausted, match="request budget exhausted: 5 requests"):
        retrying.send("GET", "/stet/psd2/v1.4.2/accounts", charge=Charge(budget, "LEA"))
    assert (script.calls, budget.spent) == (5, 5)
    with pytest.raises(BudgetExhausted):
        retrying.resend(httpx.Request("GET", profile.base_url + "/x"), Charge(budget, "LEA"))
    assert script.calls == 5


def test_a_dry_run_client_puts_nothing_on_the_wire(profile: Profile) -> None:
    script = Script(200)
    dry = StetClient(
        settings(profile), Redactor(), transport=httpx.MockTransport(script), dry_run=True
    )
    with pytest.raises(DryRun, match="dry run: nothing sent"):
        dry.send("GET", "/stet/psd2/v1.4.2/accounts")
    with pytest.raises(DryRun):
        dry.resend(httpx.Request("GET", profile.base_url + "/x"))
    assert profile.other_tpp is not None
    with pytest.raises(DryRun):
        dry.with_tls(profile.other_tpp.tls).send("GET", "/x")  # the second TPP's client too
    assert script.calls == 0


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1:9/stet/psd2/v1.4.2/accounts",  # another port
        "http://127.0.0.1/x",  # another scheme
        "https://127.0.0.1:1@bank.invalid/x",  # userinfo hides the host
    ],
)
def test_an_undeclared_origin_is_refused_before_sending(profile: Profile, url: str) -> None:
    script = Script(200)
    with pytest.raises(UndeclaredOrigin, match="not an origin the profile declares"):
        client(profile, script).send("GET", url)
    assert script.calls == 0


def test_every_declared_origin_may_be_contacted(profile: Profile) -> None:
    script = Script(200)
    other = "https://127.0.0.2:9"
    urls = dataclasses.replace(profile.oauth, token_url=f"{other}/token", revoke_url=None)
    declared = ClientSettings.of(dataclasses.replace(profile, oauth=urls))
    oauth = StetClient(declared, Redactor(), transport=httpx.MockTransport(script))
    assert oauth.send("POST", f"{other}/token").status == 200
    assert oauth.send("GET", profile.base_url + "/x").status == 200
    with pytest.raises(UndeclaredOrigin):
        oauth.send("GET", "https://127.0.0.3:9/x")
    assert script.calls == 2


def _scenario(tmp_path: Path, request: str) -> Scenario:
    path = tmp_path / "x.yaml"
    path.write_text(
        f"- id: X-1\n  title: t\n  persona: LEA\n  request: {request}\n  expect: {{status: 200}}\n",
        encoding="utf-8",
    )
    (scenario,) = load_file(path)
    return scenario


def test_a_scenario_skips_when_its_retries_spend_the_budget(
    profile: Profile, tmp_path: Path
) -> None:
    script = Script(503)
    retrying = client(profile, script, retries=RetryPolicy(count=5, backoff=0.0))
    run = RunContext(profile, retrying, default_store(), RequestBudget(per_run=5))
    scenario = _scenario(tmp_path, "{method: GET, path: /accounts}")
    with pytest.raises(ScenarioSkipped, match="request budget exhausted: 5 requests this run"):
        run_scenario(scenario, run)
    assert script.calls == 5


def test_a_scenario_url_on_an_undeclared_origin_is_a_usage_error(
    profile: Profile, tmp_path: Path
) -> None:
    script = Script(200)
    scenario = _scenario(tmp_path, "{method: GET, url: 'https://127.0.0.1:9/x'}")
    run = RunContext(profile, client(profile, script), default_store())
    with pytest.raises(ScenarioError) as info:
        run_scenario(scenario, run)
    assert str(info.value) == (
        "step 'request' (line 4): refused to send to https://127.0.0.1:9: not an origin the "
        "profile declares (base_url, oauth.token_url, oauth.authorize_url, oauth.revoke_url); "
        "nothing was sent"
    )
    assert script.calls == 0


# --- bounded in time and memory, whatever the target sends ---------------------------------------


def test_headers_dripped_byte_by_byte_end_at_the_total_timeout(
    profile: Profile, hostile: HostileServers
) -> None:
    """Each header byte arrives well within timeouts.read; timeouts.total still ends it."""
    slow = settings(profile, hostile.drip_headers(), total_timeout=1.0, read_timeout=30.0)
    client = StetClient(slow, Redactor())
    started = time.monotonic()
    with pytest.raises(TargetError, match=re.escape("took longer than 1 s to send the response")):
        client.send("GET", "/x")
    assert time.monotonic() - started < 3
    client.close()


def test_a_gigabyte_body_ends_at_the_total_timeout_or_the_cap(
    profile: Profile, hostile: HostileServers
) -> None:
    url = hostile.big_body(10**9)
    slow = settings(profile, url, total_timeout=1.0, read_timeout=30.0)
    with pytest.raises(TargetError, match=r"took longer than 1 s|larger than \d+ bytes"):
        StetClient(slow, Redactor()).send("GET", "/x")


def gzipped(pieces: Iterable[bytes], wbits: int = 31) -> bytes:
    """``pieces`` compressed as they come (gzip by default), never held whole."""
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    return b"".join(packer.compress(piece) for piece in pieces) + packer.flush()


def streamed(headers: dict[str, str], raw: bytes) -> httpx.MockTransport:
    """A transport answering 200 with ``raw`` as the undecoded wire bytes."""
    return httpx.MockTransport(
        lambda request: httpx.Response(200, headers=headers, stream=httpx.ByteStream(raw))
    )


def test_a_stacked_gzip_bomb_is_refused_before_it_grows(profile: Profile) -> None:
    """``Content-Encoding: gzip, gzip``: 64 MiB of zeros in a few hundred bytes; cap 1 MiB."""
    inner = gzipped(b"\0" * 2**20 for _ in range(64))
    bomb = gzipped([inner])
    assert len(bomb) < 2000
    capped = settings(profile, max_body_bytes=2**20)
    client = StetClient(
        capped, Redactor(), transport=streamed({"content-encoding": "gzip, gzip"}, bomb)
    )
    tracemalloc.start()
    try:
        with pytest.raises(TargetError, match="larger than 1048576 bytes"):
            client.send("GET", "/x")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * 2**20  # the cap and a few 64 KiB pieces, not 64 MiB


BODY = json.dumps({"balances": [{"name": "x" * 50, "amount": str(n)} for n in range(2000)]})


@pytest.mark.parametrize(
    ("encoding", "wire"),
    [
        ("gzip", gzipped([BODY.encode()])),
        ("deflate", gzipped([BODY.encode()], zlib.MAX_WBITS)),  # zlib stream
        ("deflate", gzipped([BODY.encode()], -zlib.MAX_WBITS)),  # raw deflate, as some send it
        ("gzip, deflate", gzipped([gzipped([BODY.encode()])], zlib.MAX_WBITS)),
        ("identity", BODY.encode()),
        ("br", BODY.encode()),  # not asked for: left as it is, as httpx does
    ],
)
def test_encoded_bodies_are_decoded(profile: Profile, encoding: str, wire: bytes) -> None:
    client = StetClient(
        settings(profile), Redactor(), transport=streamed({"content-encoding": encoding}, wire)
    )
    exchange = client.send("GET", "/x")
    assert exchange.response.content == BODY.encode()
    assert "content-encoding" not in exchange.response.headers


def test_the_recorded_response_keeps_every_header_byte_for_byte(profile: Profile) -> None:
    """Names lower-cased, Content-Encoding dropped (the body is decoded), and a value that is
    not ASCII (a bank's UTF-8 error text) kept as sent rather than a crash."""
    wire = [("X-Message", "Requête refusée".encode()), ("Content-Encoding", b"gzip")]
    transport = httpx.MockTransport(
        lambda request: httpx.Response(
            200, headers=wire, stream=httpx.ByteStream(gzipped([BODY.encode()]))
        )
    )
    exchange = StetClient(settings(profile), Redactor(), transport=transport).send("GET", "/x")
    assert exchange.response.headers.raw[0] == (b"x-message", "Requête refusée".encode())
    assert exchange.response.headers["x-message"] == "Requête refusée"
    assert "content-encoding" not in exchange.response.headers
    assert exchange.response.content == BODY.encode()


def test_a_corrupt_gzip_body_is_a_broken_target(profile: Profile) -> None:
    wire = b"this is not gzip"
    client = StetClient(
        settings(profile), Redactor(), transport=streamed({"content-encoding": "gzip"}, wire)
    )
    with pytest.raises(TargetError, match="sent a gzip body that does not decode"):
        client.send("GET", "/x")


def test_the_harness_asks_only_for_the_encodings_it_decodes(profile: Profile) -> None:
    seen: list[str] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["accept-encoding"])
        return httpx.Response(204)

    StetClient(settings(profile), Redactor(), transport=httpx.MockTransport(record)).send(
        "GET", "/x"
    )
    assert seen == ["gzip, deflate"]


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize(
    "content",
    [nested(101), nested(5000), nested(100_000), b"[[]," + nested(101)[1:]],
    ids=["101", "5000", "100000", "second-branch-101"],
)
def test_json_nested_too_deep_is_a_broken_target(profile: Profile, content: bytes) -> None:
    def deep(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=content, headers={"content-type": "application/json"})

    exchange = StetClient(settings(profile), Redactor(), transport=httpx.MockTransport(deep)).send(
        "GET", "/x"
    )
    with pytest.raises(TargetError, match="GET /x answered JSON nested deeper than 100 levels"):
        _ = exchange.body
    assert "[[[[" in exchange.render(Redactor())  # shown as text, without a RecursionError


@pytest.mark.parametrize(
    "content",
    [nested(100), b"[" + b",".join([nested(99)] * 3) + b"]", b"[" + b"[]," * 500 + b"[]]"],
    ids=["one-branch", "three-branches", "wide"],
)
def test_json_as_deep_as_allowed_is_parsed(profile: Profile, content: bytes) -> None:
    def deep(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=content)

    exchange = StetClient(settings(profile), Redactor(), transport=httpx.MockTransport(deep)).send(
        "GET", "/x"
    )
    assert isinstance(exchange.body, list)


def test_a_too_deep_body_ends_the_scenario_as_broken_not_failed(
    profile: Profile, tmp_path: Path
) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text(
        textwrap.dedent(
            """
            - id: DEEP-1
              title: Accounts
              persona: LEA
              request: {method: GET, path: /accounts}
              expect: {status: 200, schema: accounts}
            """
        ),
        encoding="utf-8",
    )
    deep = httpx.MockTransport(lambda request: httpx.Response(200, content=nested(100_000)))
    run = RunContext(
        profile, StetClient(settings(profile), Redactor(), transport=deep), default_store()
    )
    with pytest.raises(TargetError, match="nested deeper than 100 levels"):
        run_scenario(load_file(path)[0], run)
