"""Figure 4: loading and collecting many generated scenarios, and the memory each costs.

Each measure runs in a fresh child process, so peak RSS belongs to that measure alone. pytest
collects with the options ``stet-conformance run`` gives it (``QUIET_PYTEST``: no assertion
rewriting, which would otherwise recompile every plugin module where bytecode is not cached).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import yaml

from figures.figure import Figure, Sizes
from stet_conformance.shared.resources import scenarios_dir


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
    from stet_conformance.cli.run import QUIET_PYTEST
    directory, out = sys.argv[1], sys.argv[2]
    base = _kb("VmRSS")
    started = time.perf_counter()
    code = pytest.main([directory, "--collect-only", "-qq", *QUIET_PYTEST,
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
