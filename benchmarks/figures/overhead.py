"""Figure 1: the harness client's time per request against raw httpx on the same connection."""

from __future__ import annotations

from figures.cpu_split import cpu_split
from figures.figure import Figure, Sizes
from figures.target import accounts_url, presigned_headers, raw_client, token
from figures.timing import interleave_cpu
from stet_conformance.checks import CheckContext, Expect, run_checks
from stet_conformance.checks.schemas import default_store
from stet_conformance.config.profile import Profile
from stet_conformance.http.client import Exchange, StetClient
from stet_conformance.http.redact import Redactor
from stet_conformance.http.signing import RequestOptions

ACCOUNTS_EXPECT = Expect(status=(200,), schema="accounts")


def bench_overhead(profile: Profile, sizes: Sizes) -> tuple[Figure, float]:
    url = accounts_url(profile)
    headers = presigned_headers(profile)
    raw = raw_client(profile)
    harness = StetClient.for_profile(profile, Redactor())
    store = default_store()
    options = RequestOptions(token=token(profile))

    def raw_once() -> None:
        response = raw.get(url, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"raw client: HTTP {response.status_code}: {response.text[:200]}")

    def harness_send() -> Exchange:
        return harness.send("GET", url, options=options)

    def harness_check(exchange: Exchange) -> None:
        failures = run_checks(CheckContext(exchange, ACCOUNTS_EXPECT, store))
        if failures:
            raise RuntimeError(f"harness client: {failures}")

    def harness_once() -> None:
        harness_check(harness_send())

    try:
        for _ in range(20):  # handshakes, schema compilation, caches
            raw_once()
            harness_once()
        per_request = interleave_cpu(
            {"raw": raw_once, "harness": harness_once}, sizes.http_batch, sizes.http_rounds
        )
        split = cpu_split(harness_send, harness_check, sizes.http_batch)
    finally:
        raw.close()
        harness.close()
    (raw_s, raw_cpu), (harness_s, harness_cpu) = per_request["raw"], per_request["harness"]
    harness_rps = 1 / harness_s
    figure = Figure(
        "overhead_ratio",
        "1. harness / raw httpx time per request",
        harness_s / raw_s,
        1.25,
        "<=",
        "x",
        {
            "raw_requests_per_s": 1 / raw_s,
            "harness_requests_per_s": harness_rps,
            "raw_ms_per_request": raw_s * 1000,
            "harness_ms_per_request": harness_s * 1000,
            "raw_client_cpu_ms_per_request": raw_cpu * 1000,
            "harness_client_cpu_ms_per_request": harness_cpu * 1000,
            **split,  # the harness client's CPU per request, part by part
            "batch": sizes.http_batch,
            "rounds": sizes.http_rounds,
        },
    )
    return figure, harness_rps
