"""Figure 6: start-up, from the process's start to the first request it sends.

``stet-conformance run --id ACC-1`` against the bundled sandbox, in a child process whose audit
hook notes the wall clock of its first ``socket.connect`` (the harness opens its connection
to send its first request: the sandbox's reset). Everything before it is start-up: the
interpreter, imports, the sandbox's start, the profile's load, pytest's collection. The CPU
seconds the process spent until then (all its threads) are noted too: on a shared machine they
move less than the wall clock.
"""

from __future__ import annotations

import ast
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from figures import ROOT
from figures.figure import Figure, Sizes

FIRST_CONNECT_CHILD = textwrap.dedent(
    """
    import runpy, sys, time
    out, seen = sys.argv[1], []
    def first_connect(event, args):
        if event == "socket.connect" and not seen and isinstance(args[1], tuple):
            seen.append((time.time(), time.process_time()))
            with open(out, "w") as handle:
                handle.write(repr(seen[0]))
    sys.addaudithook(first_connect)
    sys.argv = ["stet-conformance", *sys.argv[2:]]
    runpy.run_module("stet_conformance.cli", run_name="__main__", alter_sys=True)
    """
)


def time_to_first_request(work: Path) -> tuple[float, float, float]:
    """Seconds from spawning ``run --id ACC-1`` to its first connection, and to its exit; CPU
    seconds until its first connection."""
    work.mkdir()
    out = work / "first-connect.txt"
    args = ["run", "--id", "ACC-1", "--results", str(work / "results")]
    spawned = time.time()
    done = subprocess.run(
        [sys.executable, "-c", FIRST_CONNECT_CHILD, str(out), *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    ended = time.time()
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"run --id ACC-1 failed ({done.returncode}):\n{done.stderr[-2000:]}")
    connected, cpu = ast.literal_eval(out.read_text())
    return connected - spawned, ended - spawned, cpu


def bench_startup(sizes: Sizes) -> Figure:
    with tempfile.TemporaryDirectory(prefix="stet-bench-") as tmp:  # not in reports/
        runs = [time_to_first_request(Path(tmp) / str(n)) for n in range(sizes.startup_reps)]
    first = statistics.median(r[0] for r in runs)
    return Figure(
        "startup_s",
        "6. start-up: process start to first request (run --id ACC-1)",
        first,
        1.0,
        "<",
        "s",
        {
            "repetitions": sizes.startup_reps,
            "first_request_s_each": ", ".join(f"{r[0]:.3f}" for r in runs),
            "process_wall_s": statistics.median(r[1] for r in runs),
            "cpu_s_to_first_request": statistics.median(r[2] for r in runs),
        },
    )
