"""Performance benchmark of the harness (issue 8): prints a table and writes JSON.

Run from the checkout root::

    .venv/bin/python benchmarks/run.py [--quick] [--only latency] [--json reports/benchmark.json]

Every figure is measured side by side in this one run, on this machine, against the bundled
sandbox over mTLS. The sandbox under test runs in its own process (``stet-conformance sandbox``)
so it does not share the client's GIL. Timings are interleaved (A B A B ...) and the median is
kept, because a small shared machine is noisy; ratios are more trustworthy than absolute numbers.

Figures (value, target):

1. overhead ratio: harness client time per request / raw httpx keep-alive time per request
   (same mTLS context, pre-computed headers and Signature). Target <= 1.25. Its details split
   the harness client's CPU per request: sign, transport, recording, redaction, checks, other
   (``cpu_split``), and give ``floor_ratio``: raw httpx signing each request / raw httpx
   replaying one signature, the RSA signature's share that no signing client escapes.
   Overhead beyond signing (``overhead_beyond_signing_ratio``): harness client time per
   request / raw httpx signing each request itself with bare ``cryptography`` (a fresh
   X-Request-ID, the same signed headers, one RSA signature), in the same interleaved
   batches. Target <= 1.25.
2. signing: ``Signer.signature_header`` and ``cavage.sign`` per second / bare ``cryptography``
   ``key.sign`` per second. Target >= 0.9 each.
3. whole scenario suite (``stet-conformance run``) wall time, serial (< 5 s).
4. collection of 1,000 generated scenarios: ``load_all`` and ``pytest --collect-only`` (< 2 s
   each); peak RSS per scenario for 100, 1,000 and 10,000 (constant: 10,000 / 1,000 <= 1.25).
5. sandbox throughput: signed GET /accounts per second answered with 2 concurrent client
   processes; target: at least the harness client's single-connection rate of figure 1.
6. start-up: seconds from the start of ``run --id ACC-1`` (bundled sandbox) to its first
   request (< 1 s).
7. latency-bound run: wall time of ``run --mode certification`` with the sandbox answering
   20 ms late / without delay (<= 1.5x).

``--quick`` shrinks every count so the whole run takes well under a minute (used by the smoke
test); its numbers are not meant to be quoted. ``--only latency`` measures figure 7 alone (its
JSON, by default, in ``reports/benchmark-latency.json``).

This file runs the figures and writes the report; each figure is a module of ``figures/``
(``overhead`` and its ``cpu_split``, ``signing``, ``suite``, ``collection``, ``throughput``,
``startup``, ``latency``), beside what they share:
``target`` (the sandbox process, the signed request), ``timing``, ``figure`` and ``report``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from figures import ROOT
from figures.collection import bench_collection
from figures.figure import QUICK, Figure, Sizes
from figures.latency import bench_latency
from figures.overhead import bench_overhead
from figures.report import details, machine, table
from figures.signing import bench_signing
from figures.startup import bench_startup
from figures.suite import bench_suite
from figures.target import sandbox_process
from figures.throughput import bench_throughput

from stet_conformance.config.profile import load_profile
from stet_conformance.shared.resources import project_root

DEFAULT_JSON = ROOT / "reports" / "benchmark.json"
ORDER = [  # the figures in the order of the docstring; the JSON names are a stable interface
    "overhead_ratio",
    "overhead_beyond_signing_ratio",
    "signer_vs_bare",
    "cavage_sign_vs_bare",
    "suite_serial_s",
    "collect_load_all_s",
    "collect_pytest_s",
    "rss_per_scenario_growth",
    "sandbox_requests_per_s",
    "startup_s",
    "latency_certification_ratio",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small counts (smoke test)")
    parser.add_argument("--json", type=Path, default=None, help="where to write JSON")
    parser.add_argument("--only", choices=["latency"], help="measure this figure alone")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else Sizes()
    assert project_root() == ROOT, f"run from the checkout: {project_root()} != {ROOT}"
    started, load_before = time.perf_counter(), os.getloadavg()[0]
    if args.only == "latency":
        step("latency-bound certification run")
        figures = [bench_latency(sizes)]
    else:
        figures = all_figures(sizes)
    figures.sort(key=lambda f: ORDER.index(f.name))
    facts = machine()
    print(
        f"\nstet-conformance benchmark{' (--quick)' if args.quick else ''}: "
        f"{facts['nproc']} CPUs, {facts['cpu']}, Python {facts['python']}, "
        f"{time.perf_counter() - started:.0f} s, load average {load_before:.2f} -> "
        f"{facts['load_average_1min']:.2f}\n"
    )
    print(table(figures))
    print("\ndetails:")
    print(details(figures))
    report = {
        "quick": args.quick,
        "machine": facts,
        "sizes": sizes.__dict__,
        "figures": {f.name: f.as_json() for f in figures},
    }
    out = args.json or (
        DEFAULT_JSON.with_stem(f"benchmark-{args.only}") if args.only else DEFAULT_JSON
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nJSON: {out}")
    return 0


def all_figures(sizes: Sizes) -> list[Figure]:
    """Every figure, side by side in this one run."""
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="stet-bench-") as tmp:
        work = Path(tmp)
        with sandbox_process(work) as sandbox:
            profile = load_profile(sandbox.profile_path)
            step("client overhead")
            overhead, harness_rps = bench_overhead(profile, sizes)
            figures += overhead
            step("signing")
            figures += bench_signing(profile, sizes)
            step("sandbox throughput")
            figures.append(bench_throughput(sandbox, sizes, harness_rps))
        step("scenario suite")
        figures += bench_suite(sizes)
        step("start-up")
        figures.append(bench_startup(sizes))
        step("latency-bound certification run")
        figures.append(bench_latency(sizes))
        step("collection")
        figures += bench_collection(sizes, work)
    return figures


def step(what: str) -> None:
    print(f"... {what}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
