"""What a run leaves behind: coverage summary, results directory, Allure environment.

Registered by the plugin on the controller process only (never on an xdist worker), it collects
outcomes and exchanges from test reports (they reach the controller through ``user_properties``),
prints the coverage summary and, with ``--stet-results DIR``, writes the files of
``report/results.py``.
"""

from __future__ import annotations

import datetime as dt
import json
import platform
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from stet_conformance import __version__
from stet_conformance.config.profile import Profile
from stet_conformance.config.yamlload import load_yaml
from stet_conformance.errors import UsageError
from stet_conformance.http.redact import REDACTED, Redactor
from stet_conformance.plugin.selection import narrowed
from stet_conformance.plugin.target import target_profile
from stet_conformance.report.allure import (
    write_categories,
    write_environment,
    write_global_attachment,
)
from stet_conformance.report.coverage import (
    EXCHANGE_PROPERTY,
    PLAN_PROPERTY,
    Coverage,
    parse_exchange_property,
)
from stet_conformance.report.results import ALLURE_RESULTS, ResultsDir
from stet_conformance.report.traceability import Matrix, parse_covers_property
from stet_conformance.scenario.traceability import COVERS_PROPERTY
from stet_conformance.verdict import Outcome, outcome, warnings_of

_SECRET_TABLES = ("tokens", "refresh_tokens", "expired_tokens")
MATRIX_ATTACHMENT = "Traceability matrix (operations x rules)"


def sanitized_profile(path: Path, redactor: Redactor) -> str:
    """The profile's YAML with every token replaced, for reports and evidence packs."""
    data, _ = load_yaml(path, "target profile")  # YAML 1.2 booleans: `on:` stays a key
    for persona in (data.get("personas") or {}).values():
        for table in _SECRET_TABLES:
            for scope in persona.get(table) or {}:
                persona[table][scope] = REDACTED
        pools = persona.get("disposable_refresh_tokens") or {}
        for scope, pool in pools.items():
            pools[scope] = [REDACTED for _ in pool or []]
    return redactor.text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def bank_code(base_url: str) -> str:
    """The BPCE bank code in ``www.<code>.sandbox.api.89C3.com`` style hosts, if any."""
    for part in base_url.split("//")[-1].split("."):
        if part.isdigit() and len(part) == 5:
            return part
    return "-"


class RunRecorder:
    """Controller-side collector of outcomes and exchanges."""

    def __init__(self, config: pytest.Config, redactor: Redactor) -> None:
        self.config = config
        self.redactor = redactor
        self.coverage = Coverage()
        self.matrix = Matrix(narrowed=narrowed(config))
        self.files: set[str] = set()
        self.running: set[str] = set()  # started and not finished: interrupted, if the run was
        self.plan: list[str] = []
        self.skipped: dict[str, list[str]] = {}  # reason -> scenario ids, in order
        self.started = dt.datetime.now(dt.UTC)
        results = config.getoption("--stet-results")
        self.results = ResultsDir(Path(results)) if results else None

    @pytest.hookimpl
    def pytest_runtest_logstart(self, nodeid: str) -> None:
        self.running.add(nodeid)

    @pytest.hookimpl
    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        self.running.discard(nodeid)

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call":
            self.coverage.add_warnings(report.nodeid, warnings_of(report.user_properties))
        self._trace(report)
        if "::" not in report.nodeid or not report.nodeid.split("::")[0].endswith(".yaml"):
            return
        scenario_id = report.nodeid.rsplit("::", 1)[-1]
        self.files.add(report.nodeid.split("::")[0])
        if report.when == "call" or report.outcome != "passed":
            self.coverage.add_outcome(scenario_id, _outcome(report))
        if report.skipped:
            self.skipped.setdefault(skip_reason(report), []).append(scenario_id)
        for name, value in report.user_properties:
            if name == PLAN_PROPERTY and report.when == "call" and isinstance(value, list):
                self.plan.extend(str(line) for line in value)
            parsed = parse_exchange_property(value) if name == EXCHANGE_PROPERTY else None
            if parsed is not None:
                self.coverage.add_exchange(scenario_id, *parsed)

    def _trace(self, report: pytest.TestReport) -> None:
        """The cells a test covers (its ``stet_covers`` property) and its outcome."""
        cells = [
            cell
            for name, value in report.user_properties
            if name == COVERS_PROPERTY
            for cell in parse_covers_property(value)
        ]
        if not cells:
            return
        test = report.nodeid.rsplit("::", 1)[-1].split("[", 1)[0]
        self.matrix.add(test, cells)
        if report.when == "call" or report.outcome != "passed":
            self.matrix.add_outcome(test, _outcome(report))

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        profile = self._profile()
        warnings = profile.warnings if profile else ()
        if warnings:
            terminalreporter.section("STET profile warnings")
            for warning in warnings:
                terminalreporter.write_line(warning)
        if self.plan:
            terminalreporter.section(f"STET dry run: {len(self.plan)} requests, none sent")
            for line in self.plan:
                terminalreporter.write_line(line)
            return
        if self.coverage.warnings:
            strict = " (failures: a strict run)" if self.config.getoption("--stet-strict") else ""
            terminalreporter.section(f"STET warnings: recommendations not met{strict}")
            for test, texts in sorted(self.coverage.warnings.items()):
                for text in texts:
                    terminalreporter.write_line(f"{test}: {text}")
        if self.skipped:
            terminalreporter.section("STET skipped")
            for line in skipped_lines(self.skipped):
                terminalreporter.write_line(line)
        if self.matrix.outcomes:
            terminalreporter.section("STET traceability matrix (operations x rules)")
            for line in self.matrix.table():
                terminalreporter.write_line(line)
        if not self.coverage.outcomes:
            return
        terminalreporter.section("STET coverage")
        for line in self.coverage.summary():
            terminalreporter.write_line(line)

    @pytest.hookimpl
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        allure_dir = self.config.getoption("allure_report_dir", None)
        target = self.config.getoption("--stet-target")
        profile = self._profile()
        if allure_dir:
            self._write_allure(Path(allure_dir), profile)
        if self.results is None:
            return
        root = self.results.root
        root.mkdir(parents=True, exist_ok=True)
        self.coverage.write(self.results.coverage_json, self.results.coverage_text)
        self.matrix.write(self.results.traceability_json, self.results.traceability_text)
        if profile is not None:
            self.results.profile.write_text(
                sanitized_profile(Path(target), self.redactor), encoding="utf-8"
            )
        rootdir = Path(str(self.config.rootpath))
        self.results.scenarios.mkdir(exist_ok=True)
        for name in sorted(self.files):
            shutil.copy2(rootdir / name, self.results.scenarios / Path(name).name)
        run = self._run_info(self.results, profile, session.exitstatus)  # as pytest.main ends
        self.results.run.write_text(json.dumps(run, indent=2) + "\n", encoding="utf-8")

    def _write_allure(self, allure_dir: Path, profile: Profile | None) -> None:
        """Categories, the environment (the report's Metadata), the matrix as a global file."""
        target = self.config.getoption("--stet-target")
        write_categories(allure_dir)
        write_environment(
            allure_dir,
            {
                "target": profile.name if profile else ("-" if target else "bundled sandbox"),
                "base_url": profile.base_url if profile else "-",
                "bank_code": bank_code(profile.base_url) if profile else "-",
                "stet_version": (profile.api_prefix.rsplit("/v", 1)[-1] if profile else "1.4.2"),
                "harness_version": __version__,
                "mode": str(self.config.getoption("--stet-mode", None) or "scenarios"),
                "hypothesis_seed": str(self.config.getoption("hypothesis_seed", None) or "-"),
                **self.matrix.environment(),
            },
        )
        if self.matrix.outcomes:
            write_global_attachment(allure_dir, MATRIX_ATTACHMENT, self.matrix.text())

    def _profile(self) -> Profile | None:
        """The ``--stet-target`` profile, loaded once for the session; its secrets join the
        redactor of ``profile.yaml`` (with ``-n``, the controller runs no scenario itself).
        ``None`` also when it does not load: the scenarios say why, as configuration errors."""
        target = self.config.getoption("--stet-target")
        if not target:
            return None
        try:
            return target_profile(self.config, Path(target), self.redactor)
        except UsageError:
            return None

    def _run_info(
        self, results: ResultsDir, profile: Profile | None, exitstatus: int
    ) -> dict[str, Any]:
        """run.json. ``evidence build`` seals only a run that finished, and only its own Allure
        results (the directory was empty before the run, so every one there is this run's)."""
        outcomes = list(self.coverage.outcomes.values())
        interrupted = exitstatus == pytest.ExitCode.INTERRUPTED
        unfinished = sorted(nodeid.rsplit("::", 1)[-1] for nodeid in self.running)
        return {
            "harness_version": __version__,
            "target": {"name": profile.name, "base_url": profile.base_url} if profile else None,
            "started": self.started.isoformat(timespec="seconds"),
            "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "exit_status": cli_exit_status(exitstatus),
            "interrupted": interrupted,
            "interrupted_scenarios": unfinished if interrupted else [],
            "counts": {k.value: outcomes.count(k) for k in Outcome},
            "warnings": sum(len(texts) for texts in self.coverage.warnings.values()),
            "scenario_files": sorted(self.files),
            "allure_results": sorted(p.name for p in results.allure.glob(ALLURE_RESULTS)),
            "python": platform.python_version(),
        }


def skip_reason(report: pytest.TestReport) -> str:
    """The reason given to ``pytest.skip`` (longrepr ``(file, line, "Skipped: REASON")``)."""
    longrepr = report.longrepr
    text = str(longrepr[2]) if isinstance(longrepr, tuple) else str(longrepr)
    return text.removeprefix("Skipped: ")


def skipped_lines(skipped: dict[str, list[str]]) -> list[str]:
    """One line per distinct reason, the most frequent first: ``3 x REASON: ID, ID, ID``."""
    ordered = sorted(skipped.items(), key=lambda item: -len(item[1]))
    return [f"{len(ids)} x {reason}: {', '.join(ids)}" for reason, ids in ordered]


def cli_exit_status(exitstatus: int) -> int:
    """What ``stet-conformance run`` exits with after a pytest session (docs/cli.md, exit codes):
    0 passed, 1 failed, 130 interrupted, 2 for the rest (usage error, nothing selected)."""
    if exitstatus == pytest.ExitCode.INTERRUPTED:
        return 130
    return (
        int(exitstatus) if exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) else 2
    )


class OutcomeCollector:
    """Scenario id -> outcome of one session: the column of one target in a multi-target run."""

    def __init__(self) -> None:
        self.outcomes: dict[str, str] = {}

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call" and report.outcome == "passed":
            return
        path, _, name = report.nodeid.rpartition("::")
        row = name if path.endswith(".yaml") else report.nodeid.rsplit("/", 1)[-1]
        if self.outcomes.get(row) in ("failed", "broken"):
            return  # a failing teardown after a failed call keeps the first verdict
        self.outcomes[row] = _outcome(report)


def _outcome(report: pytest.TestReport) -> str:
    return outcome(report.outcome, report.user_properties)
