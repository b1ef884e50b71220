"""Performance benchmark of the harness (issue 8): prints a table and writes JSON.

Run from the checkout root::

    .venv/bin/python benchmarks/run.py [--quick] [--json reports/benchmark.json]

Every figure is measured side by side in this one run, on this machine, against the bundled
sandbox over mTLS. The sandbox under test runs in its own process (``stet-conformance sandbox``)
so it does not share the client's GIL. Timings are interleaved (A B A B ...) and the median is
kept, because a small shared machine is noisy; ratios are more trustworthy than absolute numbers.

Figures (value, target):

1. overhead ratio: harness client time per request / raw httpx keep-alive time per request
   (same mTLS context, pre-computed headers and Signature). Target <= 1.25.
2. signing: ``Signer.signature_header`` and ``cavage.sign`` per second / bare ``cryptography``
   ``key.sign`` per second. Target >= 0.9 each.
3. whole scenario suite (``stet-conformance run``) wall time, serial (< 5 s) and the speed-up of
   ``-n 2`` (>= 1.6x).
4. collection of 1,000 generated scenarios: ``load_all`` and ``pytest --collect-only`` (< 2 s
   each); peak RSS per scenario for 100, 1,000 and 10,000 (constant: 10,000 / 1,000 <= 1.25).
5. sandbox throughput: signed GET /accounts per second answered with 2 concurrent client
   processes; target: at least the harness client's single-connection rate of figure 1.

``--quick`` shrinks every count so the whole run takes well under a minute (used by the smoke
test); its numbers are not meant to be quoted.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from stet_conformance.checks import CheckContext, run_checks
from stet_conformance.checks.schemas import default_store
from stet_conformance.config.profile import Profile, load_profile
from stet_conformance.http.client import StetClient
from stet_conformance.http.redact import Redactor
from stet_conformance.http.signing import RequestOptions, Signer
from stet_conformance.http.tls import client_context
from stet_conformance.shared import cavage
from stet_conformance.shared.resources import project_root, scenarios_dir

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_JSON = ROOT / "reports" / "benchmark.json"
BIN = Path(sys.executable).parent
CLI = [sys.executable, "-m", "stet_conformance.cli"]
LISTENING = re.compile(r"sandbox listening on (\S+); profile: (.+)$")
PASSED_IN = re.compile(r"(\d+) passed.* in ([0-9.]+)s")
ACCOUNTS_EXPECT: dict[str, Any] = {"status": 200, "schema": "accounts"}
PERSONA, SCOPE = "CLAIRE", "aisp"


@dataclass(frozen=True)
class Sizes:
    """How much work each figure does (``--quick`` shrinks all of it)."""

    http_batch: int = 200
    http_rounds: int = 8
    sign_batch: int = 300
    sign_rounds: int = 7
    suite_reps: int = 3
    collect_n: int = 1000
    rss_ns: tuple[int, ...] = (100, 1000, 10000)
    throughput_seconds: float = 4.0


QUICK = Sizes(
    http_batch=25,
    http_rounds=2,
    sign_batch=40,
    sign_rounds=2,
    suite_reps=1,
    collect_n=100,
    rss_ns=(20, 100, 400),
    throughput_seconds=1.0,
)


@dataclass
class Figure:
    """One row of the table: a value compared with a target."""

    name: str
    label: str
    value: float
    target: float
    op: str  # "<=", "<" or ">="
    unit: str
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        if self.op == "<=":
            return self.value <= self.target
        if self.op == "<":
            return self.value < self.target
        return self.value >= self.target

    def as_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "value": self.value,
            "target": self.target,
            "op": self.op,
            "unit": self.unit,
            "pass": self.passed,
            "detail": self.detail,
        }


# --------------------------------------------------------------------------- the sandbox process


@dataclass(frozen=True)
class Sandbox:
    base_url: str
    profile_path: Path


@contextmanager
def sandbox_process(directory: Path) -> Iterator[Sandbox]:
    """``stet-conformance sandbox --dir DIR`` in a child process, until the block ends."""
    log = (directory / "sandbox.log").open("w")
    proc = subprocess.Popen(
        [*CLI, "sandbox", "--dir", str(directory / "sandbox")],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = LISTENING.search(line.strip())
        if match is None:
            raise RuntimeError(f"the sandbox did not start: {line!r} (see {log.name})")
        yield Sandbox(match.group(1), Path(match.group(2)))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def accounts_url(profile: Profile) -> str:
    return profile.api_prefix + "/accounts"


def token(profile: Profile) -> str:
    return profile.credentials[PERSONA].tokens[SCOPE]


def presigned_headers(profile: Profile) -> dict[str, str]:
    """The headers the harness would send for GET /accounts, signed once (fixed request id)."""
    headers = {
        "Authorization": f"Bearer {token(profile)}",
        "X-Request-ID": "0b7bb1d6-3d43-4c8e-8a55-benchmark000",
        "Digest": cavage.body_digest(b""),
    }
    if profile.psu_ip_address:
        headers["PSU-IP-Address"] = profile.psu_ip_address
    signer = Signer(profile.signing_key, profile.key_id, profile.signed_headers)
    request = httpx.Request("GET", profile.base_url + accounts_url(profile), headers=headers)
    headers["Signature"] = signer.signature_header(request)
    return headers


def raw_client(profile: Profile) -> httpx.Client:
    context = client_context(
        profile.ca_bundle, profile.client_cert, profile.client_key, profile.client_key_password
    )
    return httpx.Client(base_url=profile.base_url, verify=context)


# --------------------------------------------------------------------- figure 1: client overhead


def bench_overhead(profile: Profile, sizes: Sizes) -> tuple[Figure, float]:
    url = accounts_url(profile)
    headers = presigned_headers(profile)
    raw = raw_client(profile)
    harness = StetClient(profile, Redactor())
    store = default_store()
    options = RequestOptions(token=token(profile))

    def raw_once() -> None:
        response = raw.get(url, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"raw client: HTTP {response.status_code}: {response.text[:200]}")

    def harness_once() -> None:
        exchange = harness.send("GET", url, options=options)
        failures = run_checks(CheckContext(exchange, ACCOUNTS_EXPECT, store))
        if failures:
            raise RuntimeError(f"harness client: {failures}")

    try:
        for _ in range(20):  # handshakes, schema compilation, caches
            raw_once()
            harness_once()
        per_request = interleave_cpu(
            {"raw": raw_once, "harness": harness_once}, sizes.http_batch, sizes.http_rounds
        )
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
            "batch": sizes.http_batch,
            "rounds": sizes.http_rounds,
        },
    )
    return figure, harness_rps


def interleave(work: dict[str, Callable[[], object]], batch: int, rounds: int) -> dict[str, float]:
    """Median seconds per call of each function, batches run A B A B ... (then B A, to be fair)."""
    return {name: wall for name, (wall, _) in interleave_cpu(work, batch, rounds).items()}


def interleave_cpu(
    work: dict[str, Callable[[], object]], batch: int, rounds: int
) -> dict[str, tuple[float, float]]:
    """Like ``interleave``, with the median of this process's CPU seconds per call as well."""
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in work}
    names = list(work)
    for round_ in range(rounds):
        for name in names if round_ % 2 == 0 else reversed(names):
            function = work[name]
            cpu, started = time.process_time(), time.perf_counter()
            for _ in range(batch):
                function()
            wall = (time.perf_counter() - started) / batch
            times[name].append((wall, (time.process_time() - cpu) / batch))
    return {
        name: (statistics.median(v[0] for v in values), statistics.median(v[1] for v in values))
        for name, values in times.items()
    }


# ------------------------------------------------------------------------------ figure 2: signing


def bench_signing(profile: Profile, sizes: Sizes) -> list[Figure]:
    key = profile.signing_key
    signer = Signer(key, profile.key_id, profile.signed_headers)
    headers = {
        "Authorization": f"Bearer {token(profile)}",
        "X-Request-ID": "3f1c2a9e-5b7d-4e21-9c4a-7d0e8f6b1a23",
        "PSU-IP-Address": "192.168.0.1",
        "Digest": cavage.body_digest(b""),
    }
    request = httpx.Request("GET", profile.base_url + accounts_url(profile), headers=headers)
    names = signer.names_for(request.headers)
    lower = {k.lower(): v for k, v in headers.items()}
    text = cavage.signing_string("GET", request.url.raw_path.decode(), lower, names)
    data = text.encode("utf-8")

    def bare() -> None:
        key.sign(data, padding.PKCS1v15(), hashes.SHA256())

    per_call = interleave(
        {
            "bare": bare,
            "cavage_sign": lambda: cavage.sign(key, text),
            "signer": lambda: signer.signature_header(request),
        },
        sizes.sign_batch,
        sizes.sign_rounds,
    )
    rates = {name: 1 / seconds for name, seconds in per_call.items()}
    detail = {f"{name}_per_s": rate for name, rate in rates.items()}
    detail["key_bits"] = key.key_size
    return [
        Figure(
            "signer_vs_bare",
            "2. Signer.signature_header / bare key.sign",
            rates["signer"] / rates["bare"],
            0.9,
            ">=",
            "x",
            detail,
        ),
        Figure(
            "cavage_sign_vs_bare",
            "2. cavage.sign / bare key.sign",
            rates["cavage_sign"] / rates["bare"],
            0.9,
            ">=",
            "x",
            detail,
        ),
    ]


# --------------------------------------------------------------------------- figure 3: the suite


def run_suite(parallel: bool) -> tuple[float, float, int]:
    """Wall seconds of ``stet-conformance run [-n 2]``, pytest's own session time, tests passed."""
    args = [*CLI, "run", *(["-n", "2"] if parallel else [])]
    started = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, check=False, cwd=ROOT)
    wall = time.perf_counter() - started
    match = PASSED_IN.search(done.stdout)
    if done.returncode != 0 or match is None:
        raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout[-2000:]}")
    return wall, float(match.group(2)), int(match.group(1))


def bench_suite(sizes: Sizes) -> list[Figure]:
    serial: list[tuple[float, float, int]] = []
    parallel: list[tuple[float, float, int]] = []
    for _ in range(sizes.suite_reps):
        serial.append(run_suite(parallel=False))
        parallel.append(run_suite(parallel=True))
    serial_wall = statistics.median(r[0] for r in serial)
    serial_session = statistics.median(r[1] for r in serial)
    parallel_wall = statistics.median(r[0] for r in parallel)
    parallel_session = statistics.median(r[1] for r in parallel)
    detail = {
        "scenarios_passed": serial[0][2],
        "repetitions": sizes.suite_reps,
        "serial_wall_s": serial_wall,
        "serial_pytest_session_s": serial_session,
        "serial_outside_session_s": serial_wall - serial_session,
        "n2_wall_s": parallel_wall,
        "n2_pytest_session_s": parallel_session,
        "n2_outside_session_s": parallel_wall - parallel_session,
        "session_speedup": serial_session / parallel_session,
    }
    return [
        Figure("suite_serial_s", "3. suite wall time, serial", serial_wall, 5.0, "<", "s", detail),
        Figure(
            "suite_n2_speedup",
            "3. suite speed-up with -n 2 (serial / -n 2 wall)",
            serial_wall / parallel_wall,
            1.6,
            ">=",
            "x",
            detail,
        ),
    ]


# ---------------------------------------------------------------------- figure 4: collection


def generate_scenarios(directory: Path, count: int) -> Path:
    """``count`` scenarios in ``directory/scenarios/``: the real files over again, ids varied."""
    target = directory / "scenarios"
    target.mkdir(parents=True)
    sources = [
        (path.stem, yaml.safe_load(path.read_text(encoding="utf-8")))
        for path in sorted(scenarios_dir().glob("*.yaml"))
    ]
    written, copy = 0, 0
    while written < count:
        for stem, scenarios in sources:
            if written >= count:
                break
            batch = []
            for scenario in scenarios[: count - written]:
                varied = dict(scenario)
                varied["id"] = f"{scenario['id']}-G{copy}"
                batch.append(varied)
            out = target / f"{stem}_{copy:05d}.yaml"
            out.write_text(yaml.safe_dump(batch, sort_keys=False), encoding="utf-8")
            written += len(batch)
        copy += 1
    return target


_PROC_STATUS = """
def _kb(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0
"""

LOAD_CHILD = _PROC_STATUS + textwrap.dedent(
    """
    import gc, json, sys, time
    from pathlib import Path
    from stet_conformance.scenario.loader import load_all
    files = sorted(Path(sys.argv[1]).rglob("*.yaml"))
    base = _kb("VmRSS")
    started = time.perf_counter()
    scenarios = load_all(files)
    seconds = time.perf_counter() - started
    gc.collect()
    print(json.dumps({"n": len(scenarios), "seconds": seconds, "base_kb": base,
                      "peak_kb": _kb("VmHWM"), "retained_kb": _kb("VmRSS")}))
    """
)

COLLECT_CHILD = _PROC_STATUS + textwrap.dedent(
    """
    import json, os, sys, time
    import pytest
    import stet_conformance.plugin
    directory, out = sys.argv[1], sys.argv[2]
    base = _kb("VmRSS")
    started = time.perf_counter()
    code = pytest.main([directory, "--collect-only", "-qq", "-p", "no:cacheprovider",
                        "--rootdir", os.path.dirname(directory)])
    seconds = time.perf_counter() - started
    with open(out, "w") as handle:
        json.dump({"code": int(code), "seconds": seconds, "base_kb": base,
                   "peak_kb": _kb("VmHWM"), "retained_kb": _kb("VmRSS")}, handle)
    """
)


def load_in_child(directory: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", LOAD_CHILD, str(directory)],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def collect_in_child(directory: Path, work: Path) -> dict[str, Any]:
    out = work / "collect.json"
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", COLLECT_CHILD, str(directory), str(out)],
        capture_output=True,
        text=True,
        check=False,
        cwd=work,
    )
    wall = time.perf_counter() - started
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"pytest --collect-only failed:\n{done.stdout[-2000:]}{done.stderr}")
    result: dict[str, Any] = json.loads(out.read_text())
    result["process_wall_s"] = wall
    return result


def bench_collection(sizes: Sizes, work: Path) -> list[Figure]:
    n = sizes.collect_n
    collected = generate_scenarios(work / f"collect{n}", n)
    load = load_in_child(collected)
    collect = collect_in_child(collected, work)
    rss: dict[str, dict[str, float]] = {}
    for count in sizes.rss_ns:
        loaded = load_in_child(generate_scenarios(work / f"rss{count}", count))
        rss[str(count)] = {
            "load_all_s": loaded["seconds"],
            "peak_kb_per_scenario": (loaded["peak_kb"] - loaded["base_kb"]) / count,
            "retained_kb_per_scenario": (loaded["retained_kb"] - loaded["base_kb"]) / count,
        }
        shutil.rmtree(work / f"rss{count}")
    mid, big = (str(c) for c in sizes.rss_ns[-2:])
    load_detail = {"scenarios": load["n"], "peak_rss_kb": load["peak_kb"]}
    collect_detail = {
        "scenarios": n,
        "process_wall_s": collect["process_wall_s"],
        "peak_rss_kb": collect["peak_kb"],
        "peak_kb_per_scenario": (collect["peak_kb"] - collect["base_kb"]) / n,
    }
    return [
        Figure(
            "collect_load_all_s",
            f"4. load_all of {n} generated scenarios",
            load["seconds"],
            2.0,
            "<",
            "s",
            load_detail,
        ),
        Figure(
            "collect_pytest_s",
            f"4. pytest --collect-only of {n} scenarios",
            collect["seconds"],
            2.0,
            "<",
            "s",
            collect_detail,
        ),
        Figure(
            "rss_per_scenario_growth",
            f"4. peak RSS/scenario at {big} vs {mid}",
            rss[big]["peak_kb_per_scenario"] / rss[mid]["peak_kb_per_scenario"],
            1.25,
            "<=",
            "x",
            {"by_count": rss},
        ),
    ]


# -------------------------------------------------------------------- figure 5: sandbox throughput


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


# --------------------------------------------------------------------------------------- output


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "load_average_1min": os.getloadavg()[0],
        "nproc": os.cpu_count(),
        "cpu": model or platform.processor(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def table(figures: list[Figure]) -> str:
    rows = [("figure", "measured", "target", "")]
    for f in figures:
        rows.append(
            (
                f.label,
                f"{f.value:,.3g} {f.unit}" if f.value < 100 else f"{f.value:,.0f} {f.unit}",
                f"{f.op} {f.target:,.3g} {f.unit}"
                if f.target < 100
                else f"{f.op} {f.target:,.0f} {f.unit}",
                "pass" if f.passed else "SHORT",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def details(figures: list[Figure]) -> str:
    lines = []
    for f in figures:
        flat = ", ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
            for k, v in f.detail.items()
            if k != "by_count"
        )
        lines.append(f"  {f.name}: {flat}")
        for count, values in f.detail.get("by_count", {}).items():
            shown = ", ".join(f"{k}={v:.3g}" for k, v in values.items())
            lines.append(f"    {count} scenarios: {shown}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small counts (smoke test)")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write JSON")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else Sizes()
    assert project_root() == ROOT, f"run from the checkout: {project_root()} != {ROOT}"
    figures: list[Figure] = []
    started, load_before = time.perf_counter(), os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="stet-bench-") as tmp:
        work = Path(tmp)
        with sandbox_process(work) as sandbox:
            profile = load_profile(sandbox.profile_path)
            step("client overhead")
            overhead, harness_rps = bench_overhead(profile, sizes)
            figures.append(overhead)
            step("signing")
            figures += bench_signing(profile, sizes)
            step("sandbox throughput")
            figures.append(bench_throughput(sandbox, sizes, harness_rps))
        step("scenario suite")
        figures += bench_suite(sizes)
        step("collection")
        figures += bench_collection(sizes, work)
    order = [
        "overhead_ratio",
        "signer_vs_bare",
        "cavage_sign_vs_bare",
        "suite_serial_s",
        "suite_n2_speedup",
        "collect_load_all_s",
        "collect_pytest_s",
        "rss_per_scenario_growth",
        "sandbox_requests_per_s",
    ]
    figures.sort(key=lambda f: order.index(f.name))
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
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nJSON: {args.json}")
    return 0


def step(what: str) -> None:
    print(f"... {what}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
