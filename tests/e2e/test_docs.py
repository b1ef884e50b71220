"""The README stays true: its fault table and profile reference match the code."""

from __future__ import annotations

import json
import re
from pathlib import Path

from stet_conformance.sandbox.faults import FAULTS
from stet_conformance.sandbox.variants import SWITCHES, VARIANTS

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_fault_table_lists_every_fault_with_its_description() -> None:
    table = README.split("<!-- faults:begin -->")[1].split("<!-- faults:end -->")[0]
    rows = dict(re.findall(r"^\| `([a-z0-9-]+)` \| (.+) \|$", table, re.MULTILINE))
    assert rows == FAULTS


def test_readme_documents_every_profile_key() -> None:
    schema = json.loads((ROOT / "schemas" / "profile.schema.json").read_text())
    section = README.split("## Target profile")[1].split("## Scenario format")[0]
    for key, spec in schema["properties"].items():
        assert f"`{key}" in section, key
        for sub in spec.get("properties", {}):
            assert sub in section, f"{key}.{sub}"


def test_readme_starts_with_run_report_and_the_command_ci_runs() -> None:
    """Quick start: run, then report (test_html_report.py runs both), then the tests CI runs."""
    ci = (ROOT / ".ci" / "run").read_text()
    commands = re.findall(r"```bash\n(.+?)\n```", README)
    assert commands[0].endswith(".venv/bin/stet-conformance run")
    assert commands[1] == ".venv/bin/stet-conformance report"
    assert commands[2] == ".venv/bin/pytest"
    assert ci.rstrip().splitlines()[-1] == commands[2]


def test_readme_variant_table_lists_every_switch_of_its_variant() -> None:
    table = README.split("<!-- variants:begin -->")[1].split("<!-- variants:end -->")[0]
    rows = re.findall(r"^\| `([a-z0-9-]+)` \| ([a-z]+) \| (.+) \|$", table, re.MULTILINE)
    assert {name: text for name, _, text in rows} == SWITCHES
    assert {name: variant for name, variant, _ in rows} == {
        switch: variant for variant, switches in VARIANTS.items() for switch in switches
    }
