"""The single-file HTML report of a run, built by Allure 3 (the npm package ``allure``).

Why Allure 3: it is pure Node (no JRE), kept up by the Allure team, reads allure-pytest results
as they are, and its "awesome" plugin with ``singleFile: true`` writes one self-contained HTML
file that an auditor opens from disk, offline. It is pinned in ``tools/allure/package.json`` and
installed from the project's own lock file with ``npm ci --prefix tools/allure``, which
``report`` runs itself on first use when npm is there.

History: Allure 3 appends one line per generated report to a JSON-lines file (``historyPath``)
and draws trends from it. By default that file is ``RESULTS_DIR/../allure-history.jsonl``: the
parent of the results directories, so that nightly runs written side by side
(``reports/2024-05-01/``, ``reports/2024-05-02/``...) share one history.

Allure's quality-gate feature crashed on Node 20 when tried, so the generated config never
enables it. The awesome plugin always adds a Google Analytics tag to its page; it is removed, so
opening a bank's report never contacts a third party.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stet_conformance.errors import StetConformanceError, UsageError
from stet_conformance.report.results import ResultsDir
from stet_conformance.shared.resources import project_root

INSTALL_HINT = "install it with: npm ci --prefix tools/allure (needs Node.js 20+ and npm)"
LOCK_FILE = "package-lock.json"  # in tools/allure: what `npm ci` installs, exactly
NPM_QUIET = ("--no-audit", "--no-fund", "--loglevel=error")
INSTALL_TIMEOUT = 600.0
HISTORY_FILE = "allure-history.jsonl"
DEFAULT_OUTPUT = "report.html"
DEFAULT_TIMEOUT = 300.0
_STDERR_TAIL = 2000
# The awesome plugin's analytics: an external gtag.js and its inline configuration.
_ANALYTICS = re.compile(
    r"<script[^>]*src=\"https://www\.googletagmanager\.com/[^\"]*\"[^>]*></script>\s*"
    r"(<script>\s*window\.dataLayer.*?</script>)?",
    re.S,
)


class ReportGeneratorError(StetConformanceError):
    """Allure ran but did not produce a report (crash, timeout): exit 1 with its stderr tail."""


@dataclass(frozen=True)
class ReportInput:
    """Where the Allure results are, and what the report is called."""

    allure_dir: Path
    root: Path  # the directory given on the command line
    title: str


def _has_results(directory: Path) -> bool:
    return any(directory.glob("*-result.json"))


def _target_name(root: Path, allure_dir: Path) -> str | None:
    """The target's name from run.json, else from Allure's environment.properties."""
    run_file = ResultsDir(root).run
    if run_file.is_file():
        try:
            run: Any = json.loads(run_file.read_text(encoding="utf-8"))
        except (ValueError, OSError):
            run = None
        target = run.get("target") if isinstance(run, dict) else None
        if isinstance(target, dict) and isinstance(target.get("name"), str):
            return str(target["name"])
        if isinstance(target, str):
            return target
    environment = allure_dir / "environment.properties"
    if environment.is_file():
        for line in environment.read_text(encoding="utf-8", errors="replace").splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "target" and value.strip() not in ("", "-"):
                return value.strip()
    return None


def locate_results(directory: Path) -> ReportInput:
    """Accept a results directory (``run --results``) or a bare Allure results directory."""
    if not directory.is_dir():
        raise UsageError(f"{directory}: not a directory")
    directory = directory.resolve()  # allure runs in a scratch directory
    results = ResultsDir(directory)
    if results.allure.is_dir() and _has_results(results.allure):
        allure_dir = results.allure
    elif _has_results(directory):
        allure_dir = directory
    else:
        raise UsageError(
            f"{directory}: no Allure results (*-result.json) in it or in its allure/ "
            "(write them with: stet-conformance run --results DIR)"
        )
    target = _target_name(directory, allure_dir)
    title = f"STET conformance: {target}" if target else "STET conformance"
    return ReportInput(allure_dir=allure_dir, root=directory, title=title)


def _allure_version(command: str) -> str:
    try:
        done = subprocess.run(
            [command, "--version"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip()


def pinned_generator_dir() -> Path | None:
    """``tools/allure`` of the project (package.json + package-lock.json), if there is one."""
    try:
        return project_root() / "tools" / "allure"
    except FileNotFoundError:
        return None


def allure_command(
    notify: Callable[[str], None] | None = None, *, install: bool = True
) -> list[str]:
    """The Allure 3 CLI: the pinned copy of tools/allure (installed with npm on first use unless
    not ``install``, saying so through ``notify``), else an ``allure`` 3.x on PATH."""
    if shutil.which("node") is None:
        raise UsageError(f"the HTML report needs Node.js (node is not on PATH); {INSTALL_HINT}")
    tools = pinned_generator_dir()
    npm = shutil.which("npm")
    if tools is not None:
        local = tools / "node_modules" / ".bin" / "allure"
        lock = tools / LOCK_FILE
        if install and not local.is_file() and npm is not None and lock.is_file():
            install_generator(npm, tools, notify or (lambda line: None))
        if local.is_file():
            return [str(local)]
    on_path = shutil.which("allure")
    # An Allure 2 (Java) on PATH does not read allurerc: only take a 3.x.
    if on_path is not None and _allure_version(on_path).startswith("3."):
        return [on_path]
    if npm is None:
        raise UsageError(
            "the Allure 3 report generator is not installed and npm is not on PATH; install "
            f"npm (it comes with Node.js 20+) and run report again; {INSTALL_HINT}"
        )
    raise UsageError(f"the Allure 3 report generator is not installed; {INSTALL_HINT}")


def install_generator(npm: str, tools: Path, notify: Callable[[str], None]) -> None:
    """``npm ci`` of the pinned Allure 3 from the project's own lock file, once."""
    argv = [npm, "ci", "--prefix", str(tools), *NPM_QUIET]
    notify(f"installing the pinned report generator, once: npm ci --prefix {tools}")
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=INSTALL_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        raise UsageError(
            f"npm ci --prefix {tools} did not finish within {INSTALL_TIMEOUT:g} s"
        ) from None
    except OSError as exc:
        raise UsageError(f"cannot run npm: {exc.strerror}; {INSTALL_HINT}") from None
    if done.returncode != 0:
        lines = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        last = f": {lines[-1].strip()[:200]}" if lines else ""
        raise UsageError(
            f"installing the report generator failed (npm ci --prefix {tools} exited "
            f"{done.returncode}{last})"
        )


def allure_config(title: str, output: Path, history: Path) -> dict[str, Any]:
    """The allurerc: one self-contained HTML file, history kept, no quality gate."""
    return {
        "name": title,
        "output": str(output),
        "historyPath": str(history),
        "plugins": {
            "awesome": {
                "options": {
                    "singleFile": True,
                    "reportName": title,
                    # STET area, then endpoint: the auditor's reading order.
                    "groupBy": ["epic", "feature"],
                },
            },
        },
    }


def _tail(text: str) -> str:
    text = text.strip()
    return text if len(text) <= _STDERR_TAIL else "..." + text[-_STDERR_TAIL:]


def build_report(
    source: ReportInput,
    output: Path,
    history: Path,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    command: list[str] | None = None,
) -> Path:
    """Run ``allure generate`` in a scratch directory; move its one HTML file to ``output``."""
    command = command if command is not None else allure_command()
    history.parent.mkdir(parents=True, exist_ok=True)
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="stet-report-") as scratch:
        workdir = Path(scratch)
        generated = workdir / "out"
        config = workdir / "allurerc.json"
        config.write_text(
            json.dumps(allure_config(source.title, generated, history), indent=2),
            encoding="utf-8",
        )
        env = {**os.environ, "NO_COLOR": "1", "FORCE_COLOR": "0"}
        argv = [*command, "generate", "--config", str(config), str(source.allure_dir)]
        try:
            done = subprocess.run(
                argv,
                cwd=workdir,
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            stderr = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else ""
            raise ReportGeneratorError(
                f"allure generate did not finish within {timeout:g} s" + _suffix(stderr)
            ) from None
        except OSError as exc:
            raise UsageError(f"cannot run {command[0]}: {exc.strerror}; {INSTALL_HINT}") from None
        index = generated / "index.html"
        if done.returncode != 0 or not index.is_file():
            raise ReportGeneratorError(
                f"allure generate failed (exit {done.returncode})"
                + _suffix(done.stderr or done.stdout)
            )
        html = index.read_text(encoding="utf-8")
        partial = output.with_name(output.name + ".partial")
        partial.write_text(_ANALYTICS.sub("", html), encoding="utf-8")
        partial.replace(output)
    return output


def _suffix(stderr: str) -> str:
    tail = _tail(stderr)
    return f"; its output ends with:\n{tail}" if tail else ""


def default_history(directory: Path) -> Path:
    """Shared by sibling results directories: ``RESULTS_DIR/../allure-history.jsonl``."""
    return directory.resolve().parent / HISTORY_FILE
