"""``stet-conformance report``: one HTML file, rendered by a real headless browser, offline."""

from __future__ import annotations

import json
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from cli_run import cli
from report_helpers import Run, render

from stet_conformance.report.html import (
    ReportGeneratorError,
    ReportInput,
    allure_config,
    build_report,
    locate_results,
)
from stet_conformance.report.results import REPORTS_ENV

ROOT = Path(__file__).resolve().parents[2]
SEED_IDS = (
    [f"ACC-{i}" for i in range(1, 4)]
    + [f"CON-{i}" for i in range(1, 4)]
    + [f"BAL-{i}" for i in range(1, 7)]
    + [f"TRX-{i}" for i in range(1, 12)]
    + ["IDN-1", "IDN-2"]
)


def visible_text(dom: str) -> str:
    """What a reader sees: the DOM without scripts (the embedded data) and styles."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", dom, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


@pytest.fixture(scope="module")
def report(clean_run: Run, allure_cmd: list[str]) -> Path:
    done = cli("report", str(clean_run.results))
    assert done.returncode == 0, done.stderr
    html = clean_run.results / "report.html"
    assert html.is_file()
    return html


def test_report_is_one_self_contained_file(report: Path) -> None:
    text = report.read_text(encoding="utf-8")
    assert text.lstrip().lower().startswith("<!doctype html")
    # Nothing to fetch: no external script, stylesheet or data file.
    assert not re.search(r"<script[^>]+src=\"(?!data:)", text)
    assert not re.search(r"<link[^>]+href=\"(?!data:|#)", text)
    assert not (report.parent / "data").exists()
    assert "googletagmanager" not in text  # the plugin's analytics tag is removed


def test_report_renders_in_headless_chromium_and_shows_the_scenarios(
    report: Path, chromium: Path, tmp_path: Path
) -> None:
    counts = json.loads((report.parent / "run.json").read_text())["counts"]
    home = visible_text(render(chromium, report, tmp_path / "profile"))
    assert "STET conformance: reference-sandbox" in home  # the target's name from run.json
    assert f"Total {sum(counts.values())} " in home
    assert f"{counts['passed']} passed" in home
    assert "AIS" in home and "Security" in home  # tree grouped by STET area (epic)
    assert "matrix.token mtls " in home  # the traceability matrix, one Metadata line per operation
    attachments = visible_text(render(chromium, report, tmp_path / "profile", "globalAttachments"))
    assert "Traceability matrix (operations x rules) text/plain" in attachments

    timeline = render(chromium, report, tmp_path / "profile", "timeline")
    names = re.findall(r'data-test-result-name="([^"]*)"', timeline)
    shown = {name.split(":", 1)[0] for name in names}
    assert set(SEED_IDS) <= shown, sorted(set(SEED_IDS) - shown)
    assert "BAL-1: Accounting balance (CLBD) of an overdrawn account is negative" in names

    trx11 = re.search(r'data-test-result-id="([0-9a-f]+)" data-test-result-name="TRX-11:', timeline)
    assert trx11, "TRX-11 not on the timeline"
    page = visible_text(render(chromium, report, tmp_path / "profile", trx11.group(1)))
    assert "TRX-11: An account without transactions answers 204" in page
    assert "GET /accounts/{id}/transactions" in page  # its feature label
    assert "Passed" in page


def test_history_accumulates_across_runs_beside_the_results(clean_run: Run, report: Path) -> None:
    history = clean_run.results.parent / "allure-history.jsonl"
    before = len(history.read_text().splitlines())
    assert before >= 1
    out = clean_run.results.parent / "again.html"
    done = cli("report", str(clean_run.results), "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert len(history.read_text().splitlines()) == before + 1
    assert out.is_file()


def test_explicit_history_file_and_bare_allure_dir(
    clean_run: Run, allure_cmd: list[str], tmp_path: Path
) -> None:
    history = tmp_path / "deep" / "history.jsonl"
    out = tmp_path / "bare.html"
    allure_dir = clean_run.results / "allure"
    done = cli("report", str(allure_dir), "-o", str(out), "--history", str(history))
    assert done.returncode == 0, done.stderr
    assert out.is_file() and history.is_file()
    # The title falls back to environment.properties.
    assert locate_results(allure_dir).title == "STET conformance: reference-sandbox"


def test_config_never_enables_the_quality_gate(tmp_path: Path) -> None:
    config = allure_config("t", tmp_path / "out", tmp_path / "h.jsonl")
    assert "qualityGate" not in json.dumps(config)
    assert config["plugins"]["awesome"]["options"]["singleFile"] is True
    assert config["historyPath"] == str(tmp_path / "h.jsonl")


def test_not_a_results_directory_is_a_usage_error(tmp_path: Path) -> None:
    done = cli("report", str(tmp_path))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "no Allure results" in done.stderr
    done = cli("report", str(tmp_path / "missing"))
    assert done.returncode == 2 and "not a directory" in done.stderr


def _home_without_allure(tmp_path: Path) -> Path:
    """A STET_CONFORMANCE_HOME with no tools/allure, so the pinned copy is not found."""
    home = tmp_path / "home"
    root = Path(__file__).resolve().parents[2]
    for name in ("scenarios", "schemas", "fixtures"):
        (home / name).parent.mkdir(parents=True, exist_ok=True)
        (home / name).symlink_to(root / name)
    return home


def test_missing_generator_is_one_line_telling_how_to_install(
    clean_run: Run, tmp_path: Path
) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "node").symlink_to(node)
    env = {"STET_CONFORMANCE_HOME": str(_home_without_allure(tmp_path)), "PATH": str(bin_dir)}
    done = cli("report", str(clean_run.results), "-o", str(tmp_path / "r.html"), env=env)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr
    assert "npm ci --prefix tools/allure" in done.stderr
    assert "Traceback" not in done.stderr


def test_missing_node_is_one_line(clean_run: Run, tmp_path: Path) -> None:
    env = {"PATH": str(tmp_path)}  # no node on it
    done = cli("report", str(clean_run.results), "-o", str(tmp_path / "r.html"), env=env)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr
    assert "Node.js" in done.stderr and "npm ci --prefix tools/allure" in done.stderr


FAKE_ALLURE = """#!{python}
import json, pathlib, sys
config = json.loads(pathlib.Path(sys.argv[sys.argv.index("--config") + 1]).read_text())
out = pathlib.Path(config["output"])
out.mkdir(parents=True, exist_ok=True)
(out / "index.html").write_text("<html>a report</html>")
"""
FAKE_NPM = """#!{python}
import json, pathlib, shutil, sys
with open({calls!r}, "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
if {fails}:
    sys.exit("npm error code ETIMEDOUT\\nnpm error network request failed")
allure = pathlib.Path(sys.argv[sys.argv.index("--prefix") + 1]) / "node_modules/.bin/allure"
allure.parent.mkdir(parents=True)
shutil.copy({generator!r}, allure)
allure.chmod(0o755)
"""


def _script(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o755)


@dataclass(frozen=True)
class FreshClone:
    """A project home whose tools/allure has its package files and no node_modules, a PATH
    with a fake node and (unless left out) a fake npm, and a bare Allure results directory."""

    env: dict[str, str]
    tools: Path
    calls: Path
    results: Path

    def npm_calls(self) -> list[list[str]]:
        text = self.calls.read_text() if self.calls.exists() else ""
        return [json.loads(line) for line in text.splitlines()]


def fresh_clone(tmp_path: Path, npm: bool = True, fails: bool = False) -> FreshClone:
    home = _home_without_allure(tmp_path)
    tools = home / "tools" / "allure"
    tools.mkdir(parents=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(ROOT / "tools" / "allure" / name, tools / name)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _script(bin_dir / "node", f"#!{sys.executable}\n")
    generator, calls = tmp_path / "fake_allure", tmp_path / "npm-calls"
    generator.write_text(FAKE_ALLURE.format(python=sys.executable))
    if npm:
        text = FAKE_NPM.format(
            python=sys.executable, calls=str(calls), fails=fails, generator=str(generator)
        )
        _script(bin_dir / "npm", text)
    results = tmp_path / "results" / "allure"
    results.mkdir(parents=True)
    (results / "0-result.json").write_text("{}")
    env = {"STET_CONFORMANCE_HOME": str(home), "PATH": str(bin_dir)}
    return FreshClone(env, tools.resolve(), calls, results.parent)


def test_report_installs_the_pinned_generator_once_with_one_line(tmp_path: Path) -> None:
    clone = fresh_clone(tmp_path)
    done = cli("report", str(clone.results), env=clone.env)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[0] == (
        f"stet-conformance: report: installing the pinned report generator, once: "
        f"npm ci --prefix {clone.tools}"
    )
    assert clone.npm_calls() == [
        ["ci", "--prefix", str(clone.tools), "--no-audit", "--no-fund", "--loglevel=error"]
    ]
    assert (clone.results / "report.html").read_text() == "<html>a report</html>"
    again = cli("report", str(clone.results), "-o", str(tmp_path / "again.html"), env=clone.env)
    assert again.returncode == 0, again.stderr
    assert "installing" not in again.stderr and len(clone.npm_calls()) == 1


def test_without_npm_report_says_what_is_missing_in_one_line(tmp_path: Path) -> None:
    clone = fresh_clone(tmp_path, npm=False)
    done = cli("report", str(clone.results), env=clone.env)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr
    assert "npm is not on PATH" in done.stderr


def test_a_failed_install_is_one_line_with_npms_last_words(tmp_path: Path) -> None:
    clone = fresh_clone(tmp_path, fails=True)
    done = cli("report", str(clone.results), env=clone.env)
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == (
        f"stet-conformance: installing the report generator failed (npm ci --prefix "
        f"{clone.tools} exited 1: npm error network request failed)"
    )
    assert "Traceback" not in done.stderr


def test_quick_start_run_then_report_then_an_html_file(
    allure_cmd: list[str], tmp_path: Path
) -> None:
    """The README's Quick start: `run`, then `report` with no argument, then a file to open."""
    env = {REPORTS_ENV: str(tmp_path / "reports")}
    done = cli("run", "-k", "BAL", env=env)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr
    results = Path(done.stderr.splitlines()[-1].split("report: stet-conformance report ")[1])
    made = cli("report", env=env)
    assert made.returncode == 0, made.stderr
    html = results / "report.html"
    assert f"open {html.as_uri()} in a browser" in made.stderr
    assert html.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")


def _fake_generator(tmp_path: Path, body: str) -> list[str]:
    script = tmp_path / "fake_allure.py"
    script.write_text(body)
    return [sys.executable, str(script)]


def _source(clean_run: Run) -> ReportInput:
    return locate_results(clean_run.results)


def test_generator_failure_reports_the_tail_of_its_stderr(clean_run: Run, tmp_path: Path) -> None:
    command = _fake_generator(
        tmp_path,
        "import sys\nsys.stderr.write('x' * 5000 + '\\nTypeError: boom in plugin\\n')\n"
        "sys.exit(3)\n",
    )
    with pytest.raises(ReportGeneratorError) as caught:
        build_report(_source(clean_run), tmp_path / "r.html", tmp_path / "h", command=command)
    message = str(caught.value)
    assert "exit 3" in message and message.endswith("TypeError: boom in plugin")
    assert len(message) < 2200


def test_generator_timeout(clean_run: Run, tmp_path: Path) -> None:
    command = _fake_generator(tmp_path, "import time\ntime.sleep(30)\n")
    with pytest.raises(ReportGeneratorError, match=r"did not finish within 0\.5 s"):
        build_report(
            _source(clean_run), tmp_path / "r.html", tmp_path / "h", timeout=0.5, command=command
        )


def test_generator_success_without_output_is_an_error(clean_run: Run, tmp_path: Path) -> None:
    command = _fake_generator(tmp_path, "print('nothing to do')\n")
    with pytest.raises(ReportGeneratorError, match="nothing to do"):
        build_report(_source(clean_run), tmp_path / "r.html", tmp_path / "h", command=command)
    assert not (tmp_path / "r.html").exists()
