"""Start-up: a process imports what its command uses, when it uses it (issue 18).

Parsing the command line needs argparse only; a run of scenarios needs neither Hypothesis (the
suites), nor the pure-Python ``jsonschema`` (it words invalid documents only), nor the OAuth
login. Each check runs in a fresh interpreter, whose ``sys.modules`` says what was imported.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = ("httpx", "yaml", "cryptography", "jsonschema", "pytest", "hypothesis", "uvicorn")
NOT_FOR_SCENARIOS = (
    "hypothesis",
    "jsonschema",
    "referencing",
    "webbrowser",
    "stet_conformance.onboarding.login",
    "stet_conformance.fuzz.session",
)


def imported_after(code: str, *args: str) -> set[str]:
    """The top-level and listed modules a fresh interpreter holds after running ``code``."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe, *args], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_parsing_the_command_line_imports_no_heavy_package() -> None:
    modules = imported_after(
        "from stet_conformance.cli import build_parser\n"
        "build_parser().parse_args(['run', '--id', 'ACC-1'])"
    )
    assert sorted(set(HEAVY) & modules) == []


def test_a_run_of_scenarios_imports_neither_the_suites_nor_the_login(
    sandbox_profile: Path, tmp_path: Path
) -> None:
    modules = imported_after(
        "import sys\nfrom stet_conformance.cli import main\n"
        "code = main(sys.argv[1:])\nassert code == 0, code",
        *("run", "--target", str(sandbox_profile), "--id", "ACC-1"),
        *("--results", str(tmp_path / "results"), "--", "-q"),
    )
    assert "stet_conformance.plugin" in modules  # it did run the scenario
    assert sorted(set(NOT_FOR_SCENARIOS) & modules) == []
