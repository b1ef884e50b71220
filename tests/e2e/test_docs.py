"""The documentation stays true: tables and references match the code, links resolve, and the
project stands alone (no path outside the repository)."""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from stet_conformance.cli import build_parser
from stet_conformance.sandbox.faults import FAULTS
from stet_conformance.sandbox.variants import SWITCHES, VARIANTS

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
README = (ROOT / "README.md").read_text(encoding="utf-8")
SANDBOX_DOC = (DOCS / "sandbox.md").read_text(encoding="utf-8")
CLI_DOC = (DOCS / "cli.md").read_text(encoding="utf-8")
MARKDOWN = [ROOT / "README.md", ROOT / "ARCHITECTURE.md", *sorted(DOCS.glob("*.md"))]
# What a user gets: none of it may point at a file outside the repository.
SHIPPED = ["README.md", "ARCHITECTURE.md", "docs", "fixtures", "schemas", "src", "scenarios"]
SHIPPED += ["examples", "suites", "benchmarks", ".ci"]
OUTSIDE = ("../shared", "/work/shared")


def test_fault_table_lists_every_fault_with_its_description() -> None:
    table = SANDBOX_DOC.split("<!-- faults:begin -->")[1].split("<!-- faults:end -->")[0]
    rows = dict(re.findall(r"^\| `([a-z0-9-]+)` \| (.+) \|$", table, re.MULTILINE))
    assert rows == FAULTS


def test_profile_reference_documents_every_profile_key() -> None:
    schema = json.loads((ROOT / "schemas" / "profile.schema.json").read_text())
    text = (DOCS / "profile.md").read_text(encoding="utf-8")
    section = text.split("## Live safety")[0]
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


def test_variant_table_lists_every_switch_of_its_variant() -> None:
    table = SANDBOX_DOC.split("<!-- variants:begin -->")[1].split("<!-- variants:end -->")[0]
    rows = re.findall(r"^\| `([a-z0-9-]+)` \| ([a-z]+) \| (.+) \|$", table, re.MULTILINE)
    assert {name: text for name, _, text in rows} == SWITCHES
    assert {name: variant for name, variant, _ in rows} == {
        switch: variant for variant, switches in VARIANTS.items() for switch in switches
    }


def _commands(
    parser: argparse.ArgumentParser, prefix: str = ""
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every leaf sub-command (``run``, ``evidence build``...) with its parser."""
    children = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not children:
        yield prefix.strip(), parser
    for action in children:
        for name, child in action.choices.items():
            yield from _commands(child, f"{prefix} {name}")


def _flags(parser: argparse.ArgumentParser) -> set[str]:
    return {flag for a in parser._actions for flag in a.option_strings} - {"-h", "--help"}


def _section(text: str, heading: str) -> str:
    start = text.index(heading) + len(heading)
    end = re.search(r"^#{1,3} ", text[start:], re.MULTILINE)
    return text[start : start + end.start()] if end else text[start:]


def _mentions(text: str, flag: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", text) is not None


@pytest.mark.parametrize("command", [name for name, _ in _commands(build_parser())])
def test_cli_doc_describes_every_flag_of_every_command(command: str) -> None:
    parser = dict(_commands(build_parser()))[command]
    section = _section(CLI_DOC, f"### `stet-conformance {command}`")
    missing = sorted(flag for flag in _flags(parser) if not _mentions(section, flag))
    assert not missing, f"docs/cli.md, {command}: {missing}"


@pytest.mark.parametrize("command", [name for name, _ in _commands(build_parser())])
def test_cli_synopsis_shows_every_option_of_every_command(command: str) -> None:
    """The summary at the top of docs/cli.md: each option under one of its names."""
    synopsis = CLI_DOC.split("```")[1]
    lines = [line for line in synopsis.splitlines() if line.strip()]
    head = f"stet-conformance {command}"
    start = next(i for i, line in enumerate(lines) if line.startswith(head))
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("stet-")), None)
    usage = "\n".join(lines[start:end])
    parser = dict(_commands(build_parser()))[command]
    options = [a.option_strings for a in parser._actions if a.option_strings]
    missing = [names for names in options if not any(_mentions(usage, n) for n in names)]
    assert missing in ([], [["-h", "--help"]]), f"{command}: {missing}"


def test_cli_doc_names_the_top_level_flags() -> None:
    missing = [flag for flag in _flags(build_parser()) if not _mentions(CLI_DOC, flag)]
    assert not missing


def _shipped_files() -> Iterator[Path]:
    for name in SHIPPED:
        path = ROOT / name
        files = [path] if path.is_file() else sorted(path.rglob("*"))
        # Written by tools, not by us: bytecode and the packaging metadata of an editable install.
        yield from (
            f
            for f in files
            if f.is_file()
            and "__pycache__" not in f.parts
            and not f.parent.name.endswith(".egg-info")
        )


def test_nothing_shipped_points_outside_the_repository() -> None:
    """A user has the repository only: sources are cited by name and section, not by path."""
    found = [
        f"{path.relative_to(ROOT)}: {needle}"
        for path in _shipped_files()
        for needle in OUTSIDE
        if needle in path.read_text(encoding="utf-8", errors="replace")
    ]
    assert not found


def _anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as dashes."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.DOTALL)
    return {_anchor(h) for h in re.findall(r"^#+ (.+)$", text, re.MULTILINE)}


def _links(path: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.DOTALL)
    return [t for t in re.findall(r"\]\(([^)\s]+)\)", text) if "://" not in t]


@pytest.mark.parametrize("page", MARKDOWN, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve_to_a_file_and_a_heading(page: Path) -> None:
    broken = []
    for link in _links(page):
        target, _, anchor = link.partition("#")
        path = (page.parent / target).resolve() if target else page
        if not path.exists() or (anchor and anchor not in _anchors(path)):
            broken.append(link)
    assert not broken, f"{page.relative_to(ROOT)}: {broken}"


def test_readme_links_every_docs_page_and_each_links_back() -> None:
    for page in sorted(DOCS.glob("*.md")):
        assert f"](docs/{page.name})" in README, page.name
        intro = page.read_text(encoding="utf-8").split("\n\n")[1]
        assert "](../README.md)" in intro, page.name


def test_readme_fits_on_a_few_screens() -> None:
    assert len(README.encode()) < 10_000
