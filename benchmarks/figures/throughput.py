"""Figure 5: signed requests per second the sandbox answers to two client processes."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path
from typing import Any

from figures.figure import Figure, Sizes
from figures.target import Sandbox, accounts_url, presigned_headers, raw_client
from stet_conformance.config.profile import load_profile


def throughput_worker(
    profile_path: str, ready: Any, go: Any, stop_at: Any, results: Any
) -> None:  # pragma: no cover - runs in a child process
    profile = load_profile(Path(profile_path))
    url, headers = accounts_url(profile), presigned_headers(profile)
    with raw_client(profile) as client:
        client.get(url, headers=headers)  # handshake
        ready.set()
        go.wait()
        deadline, count = stop_at.value, 0
        while time.time() < deadline:
            response = client.get(url, headers=headers)
            if response.status_code != 200:
                raise RuntimeError(f"HTTP {response.status_code}")
            count += 1
    results.put(count)


def bench_throughput(sandbox: Sandbox, sizes: Sizes, harness_rps: float) -> Figure:
    ctx = multiprocessing.get_context("spawn")
    clients = 2
    readies = [ctx.Event() for _ in range(clients)]
    go, stop_at, results = ctx.Event(), ctx.Value("d", 0.0), ctx.Queue()
    workers = [
        ctx.Process(
            target=throughput_worker,
            args=(str(sandbox.profile_path), ready, go, stop_at, results),
        )
        for ready in readies
    ]
    for worker in workers:
        worker.start()
    for ready in readies:
        if not ready.wait(timeout=60):
            raise RuntimeError("a throughput client did not start")
    stop_at.value = time.time() + sizes.throughput_seconds
    go.set()
    counts = [results.get(timeout=60 + sizes.throughput_seconds) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    rps = sum(counts) / sizes.throughput_seconds
    return Figure(
        "sandbox_requests_per_s",
        "5. sandbox signed req/s, 2 client processes",
        rps,
        harness_rps,
        ">=",
        "req/s",
        {
            "clients": clients,
            "seconds": sizes.throughput_seconds,
            "requests": sum(counts),
            "target_is": "the harness client's single-connection req/s of figure 1",
        },
    )
