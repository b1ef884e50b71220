"""Figure 7: a latency-bound run, ``run --mode certification`` at 0 and at 20 ms a response.

The bundled sandbox waits ``--latency-ms`` before each answer, as a bank across a network would;
the ratio of the two wall times says how much of that waiting the run overlaps (1.0: all of it;
a run that waits for each answer in turn pays the latency once per request). Both runs take
``run``'s default workers for the bundled sandbox (its profile's ``concurrency``).
"""

from __future__ import annotations

from figures.figure import Figure, Sizes
from figures.suite import run_cli
from stet_conformance.sandbox import CONCURRENCY


def bench_latency(sizes: Sizes) -> Figure:
    selection = ["-k", sizes.latency_k] if sizes.latency_k else []
    common = ["--mode", "certification", *selection]
    runs = {ms: run_cli(*common, "--latency-ms", str(ms)) for ms in (0, sizes.latency_ms)}
    (fast_wall, fast_session, passed), (slow_wall, slow_session, _) = runs.values()
    return Figure(
        "latency_certification_ratio",
        f"7. run --mode certification at {sizes.latency_ms} ms / at 0 ms a response",
        slow_wall / fast_wall,
        1.5,
        "<=",
        "x",
        {
            "tests_passed": passed,
            "selection": sizes.latency_k or "all",
            "workers": CONCURRENCY,
            "wall_s_at_0ms": fast_wall,
            f"wall_s_at_{sizes.latency_ms}ms": slow_wall,
            "session_s_at_0ms": fast_session,
            f"session_s_at_{sizes.latency_ms}ms": slow_session,
            "waited_s": slow_wall - fast_wall,
        },
    )
