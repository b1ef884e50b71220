"""Figure 3: the whole scenario run, serial; and ``run_cli``, which the latency figure shares."""

from __future__ import annotations

import re
import statistics
import subprocess
import tempfile
import time

from figures import CLI, ROOT
from figures.figure import Figure, Sizes

PASSED_IN = re.compile(r"(\d+) passed.* in ([0-9.]+)s")


def run_cli(*extra: str) -> tuple[float, float, int]:
    """Wall seconds of ``stet-conformance run EXTRA``, pytest's own session time, tests passed."""
    with tempfile.TemporaryDirectory(prefix="stet-bench-") as results:  # not in reports/
        args = [*CLI, "run", "--results", results, *extra]
        started = time.perf_counter()
        done = subprocess.run(args, capture_output=True, text=True, check=False, cwd=ROOT)
        wall = time.perf_counter() - started
    match = PASSED_IN.search(done.stdout)
    if done.returncode != 0 or match is None:
        raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout[-2000:]}")
    return wall, float(match.group(2)), int(match.group(1))


def bench_suite(sizes: Sizes) -> list[Figure]:
    serial = [run_cli() for _ in range(sizes.suite_reps)]
    serial_wall = statistics.median(r[0] for r in serial)
    serial_session = statistics.median(r[1] for r in serial)
    detail = {
        "scenarios_passed": serial[0][2],
        "repetitions": sizes.suite_reps,
        "serial_wall_s": serial_wall,
        "serial_pytest_session_s": serial_session,
        "serial_outside_session_s": serial_wall - serial_session,
    }
    return [
        Figure("suite_serial_s", "3. suite wall time, serial", serial_wall, 5.0, "<", "s", detail)
    ]
