"""Timing that a small, noisy, shared machine can trust: interleaved batches, medians."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


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
