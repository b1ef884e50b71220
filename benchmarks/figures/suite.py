"""Figure 3: the whole scenario run, serial and with ``-n 2``."""

from __future__ import annotations

import re
import statistics
import subprocess
import tempfile
import time

from figures import CLI, ROOT
from figures.figure import Figure, Sizes

PASSED_IN = re.compile(r"(\d+) passed.* in ([0-9.]+)s")


def run_suite(parallel: bool) -> tuple[float, float, int]:
    """Wall seconds of ``stet-conformance run [-n 2]``, pytest's own session time, tests passed."""
    with tempfile.TemporaryDirectory(prefix="stet-bench-") as results:  # not in reports/
        args = [*CLI, "run", "--results", results, *(["-n", "2"] if parallel else [])]
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
