"""The printed report: the machine, the table of figures and their details."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

from figures.figure import Figure


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
