"""The benchmark command runs end to end in --quick mode and writes every figure to JSON.

Only the shape of the report is checked: timing targets are the benchmark's business, never a
test's (a loaded CI machine must not fail the build).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIGURES = {
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
}


@pytest.mark.e2e
def test_quick_benchmark_writes_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "benchmark.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["quick"] is True
    assert report["machine"]["nproc"] >= 1
    assert set(report["figures"]) == FIGURES
    for name, figure in report["figures"].items():
        for key in ("value", "target"):
            value = figure[key]
            assert isinstance(value, int | float) and not isinstance(value, bool), (name, key)
            assert math.isfinite(value) and value > 0, (name, key, value)
        assert figure["op"] in ("<", "<=", ">="), name
        assert isinstance(figure["pass"], bool), name
    beyond = report["figures"]["overhead_beyond_signing_ratio"]
    assert (beyond["target"], beyond["op"]) == (1.25, "<=")
    floor = report["figures"]["overhead_ratio"]["detail"]["floor_ratio"]
    assert math.isfinite(floor) and floor > 0  # signing each request: the raw client's floor
    for name in FIGURES:  # the printed table names each figure's target and verdict
        assert report["figures"][name]["label"] in done.stdout, name
    assert "target" in done.stdout


@pytest.mark.e2e
def test_the_latency_figure_alone(tmp_path: Path) -> None:
    """``--only latency``: figure 7 and nothing else, without measuring the rest again."""
    out = tmp_path / "latency.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--only", "latency",
         "--json", str(out)],
        capture_output=True, text=True, check=False, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    figures = json.loads(out.read_text(encoding="utf-8"))["figures"]
    assert set(figures) == {"latency_certification_ratio"}
    assert figures["latency_certification_ratio"]["detail"]["workers"] > 1
