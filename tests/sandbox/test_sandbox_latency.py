"""``--latency-ms``: the sandbox answers every request that much later, through the one start
path of ``run`` and ``pytest`` (``start_sandbox``; ``run`` calls it in a thread). Only a lower
bound is asserted: a loaded machine may be slower, never faster."""

from __future__ import annotations

import shutil
import time
from contextlib import ExitStack
from pathlib import Path

import pytest

from stet_conformance.cli.common import BundledSandbox
from stet_conformance.config.persona_tokens import persona_token
from stet_conformance.config.profile import load_profile
from stet_conformance.http.client import StetClient
from stet_conformance.http.redact import Redactor
from stet_conformance.http.signing import RequestOptions
from stet_conformance.sandbox.server import SandboxServer

LATENCY_MS = 40


def test_every_answer_waits_the_latency(sandbox: SandboxServer, tmp_path: Path) -> None:
    shutil.copytree(sandbox.pki.directory, tmp_path / "pki")  # a fresh PKI costs seconds
    with ExitStack() as stack:
        profile = load_profile(BundledSandbox(stack, [], tmp_path, (), LATENCY_MS).wait())
        client = StetClient.for_profile(profile, Redactor())
        stack.callback(client.close)
        options = RequestOptions(token=persona_token(profile, "LEA", "aisp"))
        for _ in range(4):  # the first one opens the connection: the others are answers only
            started = time.perf_counter()
            exchange = client.send("GET", f"{profile.api_prefix}/accounts", options=options)
            elapsed = time.perf_counter() - started
            assert exchange.status == 200
            assert elapsed >= LATENCY_MS / 1000


@pytest.mark.parametrize("latency", [-1, float("nan"), float("inf")])
def test_a_latency_that_is_no_delay_is_refused(latency: float, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="milliseconds >= 0"):
        SandboxServer(tmp_path, latency_ms=latency)
