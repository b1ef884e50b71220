"""Figure 1: the harness client's time per request against raw httpx on the same connection.

Two baselines, measured side by side: raw httpx replaying one pre-computed signature (the
client's whole cost, ``overhead_ratio``), and raw httpx signing each request itself with bare
``cryptography`` (the floor any signing client pays, ``overhead_beyond_signing_ratio``).
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from figures.cpu_split import cpu_split
from figures.figure import Figure, Sizes
from figures.target import (
    accounts_url,
    presigned_headers,
    raw_client,
    self_signed_headers,
    token,
)
from figures.timing import interleave_cpu
from stet_conformance.checks import CheckContext, Expect, run_checks
from stet_conformance.checks.schemas import default_store
from stet_conformance.config.profile import Profile
from stet_conformance.http.client import Exchange, StetClient
from stet_conformance.http.redact import Redactor
from stet_conformance.http.signing import RequestOptions

ACCOUNTS_EXPECT = Expect(status=(200,), schema="accounts")
TARGET = 1.25


def bench_overhead(profile: Profile, sizes: Sizes) -> tuple[list[Figure], float]:
    url = accounts_url(profile)
    raw = raw_client(profile)
    harness = StetClient.for_profile(profile, Redactor())
    store = default_store()
    options = RequestOptions(token=token(profile))

    def harness_send() -> Exchange:
        return harness.send("GET", url, options=options)

    def harness_check(exchange: Exchange) -> None:
        failures = run_checks(CheckContext(exchange, ACCOUNTS_EXPECT, store))
        if failures:
            raise RuntimeError(f"harness client: {failures}")

    presigned = presigned_headers(profile)

    def harness_once() -> None:
        harness_check(harness_send())

    work: dict[str, Callable[[], object]] = {
        "raw": _raw_get(raw, url, lambda: presigned),
        "raw_signed": _raw_get(raw, url, self_signed_headers(profile)),
        "harness": harness_once,
    }
    try:
        for _ in range(20):  # handshakes, schema compilation, caches
            for once in work.values():
                once()
        per_request = interleave_cpu(work, sizes.http_batch, sizes.http_rounds)
        split = cpu_split(harness_send, harness_check, sizes.http_batch)
    finally:
        raw.close()
        harness.close()
    figures = _figures(per_request, split, sizes)
    return figures, 1 / per_request["harness"][0]


def _raw_get(
    raw: httpx.Client, url: str, headers: Callable[[], dict[str, str]]
) -> Callable[[], None]:
    """One GET with raw httpx and the headers ``headers()`` gives (all the signing it does)."""

    def once() -> None:
        response = raw.get(url, headers=headers())
        if response.status_code != 200:
            raise RuntimeError(f"raw client: HTTP {response.status_code}: {response.text[:200]}")

    return once


def _figures(
    per_request: dict[str, tuple[float, float]], split: dict[str, float], sizes: Sizes
) -> list[Figure]:
    """``overhead_ratio`` (its details: the CPU split and the signing floor), then the ratio
    beyond that floor."""
    (raw_s, raw_cpu), (signed_s, signed_cpu) = per_request["raw"], per_request["raw_signed"]
    harness_s, harness_cpu = per_request["harness"]
    counts = {"batch": sizes.http_batch, "rounds": sizes.http_rounds}
    overhead = Figure(
        "overhead_ratio",
        "1. harness / raw httpx time per request",
        harness_s / raw_s,
        TARGET,
        "<=",
        "x",
        {
            "raw_requests_per_s": 1 / raw_s,
            "harness_requests_per_s": 1 / harness_s,
            "raw_ms_per_request": raw_s * 1000,
            "harness_ms_per_request": harness_s * 1000,
            "raw_client_cpu_ms_per_request": raw_cpu * 1000,
            "harness_client_cpu_ms_per_request": harness_cpu * 1000,
            # what signing each request costs any client: raw-signed / raw (pre-signed)
            "floor_ratio": signed_s / raw_s,
            **split,  # the harness client's CPU per request, part by part
            **counts,
        },
    )
    beyond = Figure(
        "overhead_beyond_signing_ratio",
        "1. harness / raw httpx signing each request",
        harness_s / signed_s,
        TARGET,
        "<=",
        "x",
        {
            "raw_signed_ms_per_request": signed_s * 1000,
            "harness_ms_per_request": harness_s * 1000,
            "raw_signed_client_cpu_ms_per_request": signed_cpu * 1000,
            "harness_client_cpu_ms_per_request": harness_cpu * 1000,
            **counts,
        },
    )
    return [overhead, beyond]
