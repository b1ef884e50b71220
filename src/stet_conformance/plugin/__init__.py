"""The pytest plugin: YAML scenarios become pytest items that run against a target profile.

Registered through the ``pytest11`` entry point, so plain ``pytest --stet-target PROFILE
scenarios/`` works as well as ``stet-conformance run``. Files named ``*.yaml`` inside a directory
called ``scenarios`` are collected. The run's shared objects (profile, client, schemas) live in
``config.stash`` and are created on the first scenario run, so ``--collect-only`` never touches
the network. Without ``--stet-target`` the bundled reference sandbox is started for the session.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from stet_conformance.checks import Failure
from stet_conformance.checks.schemas import default_store
from stet_conformance.config.live import refuse_live, refuse_workers
from stet_conformance.config.run_tokens import Worker
from stet_conformance.errors import ScenarioError, UsageError
from stet_conformance.fuzz.plugin import marked_cells
from stet_conformance.http.client import StetClient
from stet_conformance.http.redact import Redactor
from stet_conformance.plugin import selection, sharing
from stet_conformance.plugin.ledger import LedgerToWorkers, run_folder, run_ledger
from stet_conformance.plugin.ledger import add_option as add_ledger_option
from stet_conformance.plugin.recorder import RunRecorder
from stet_conformance.plugin.redaction import ReportRedactor
from stet_conformance.plugin.reset import reset_target
from stet_conformance.plugin.target import target_profile
from stet_conformance.plugin.unreachable import KEEP_GOING, UnreachableStop, stop_if_unreachable
from stet_conformance.report.allure import (
    label_scenario,
    mark_interrupted,
    mark_warnings,
    record_step,
)
from stet_conformance.report.coverage import EXCHANGE_PROPERTY, PLAN_PROPERTY, endpoint_of
from stet_conformance.report.results import ResultsDir, check_outputs
from stet_conformance.scenario.loader import load_file
from stet_conformance.scenario.model import Scenario
from stet_conformance.scenario.runner import (
    RunContext,
    ScenarioSkipped,
    StepResult,
    budget_for,
    plan_scenario,
    run_scenario,
)
from stet_conformance.scenario.traceability import COVERS_PROPERTY, scenario_cells
from stet_conformance.verdict import (
    BROKEN_PROPERTY,
    WARNING_PROPERTY,
    describe,
    is_broken,
    recommendation,
    scenario_verdict,
    warnings_of,
)

_RUN = pytest.StashKey["RunContext"]()
_REDACTOR = pytest.StashKey[Redactor]()
_CLEANUP = pytest.StashKey[ExitStack]()
_PARSED = pytest.StashKey[dict[Path, list[Scenario]]]()
_MARKERS = pytest.StashKey[set[str]]()


class GivenScenarios:
    """A plugin object for ``pytest.main(plugins=[...])``: the scenarios ``run`` has parsed
    (to refuse a bad file before pytest starts), so that collection does not parse them again."""

    def __init__(self, scenarios: Iterable[Scenario]) -> None:
        self.by_file: dict[Path, list[Scenario]] = {}
        for scenario in scenarios:
            self.by_file.setdefault(scenario.file, []).append(scenario)

    @pytest.hookimpl(tryfirst=True)
    def pytest_configure(self, config: pytest.Config) -> None:
        config.stash[_PARSED] = self.by_file


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("stet-conformance", "STET PSD2 conformance scenarios")
    group.addoption(
        "--stet-target",
        metavar="PROFILE",
        default=None,
        help="target profile (YAML); default: start the bundled reference sandbox",
    )
    group.addoption(
        "--stet-results",
        metavar="DIR",
        default=None,
        help="write a results directory (Allure results, JUnit XML, coverage, run.json)",
    )
    group.addoption(
        "--stet-allow-live",
        action="store_true",
        help="allow a target that is neither loopback nor marked 'environment: sandbox'",
    )
    group.addoption(
        "--stet-dry-run",
        action="store_true",
        help="list the requests each scenario would send; send nothing (suites are skipped)",
    )
    group.addoption(
        KEEP_GOING,
        action="store_true",
        help="go on after a connection failure (default: stop at the first one)",
    )
    group.addoption(
        "--stet-strict",
        action="store_true",
        help="a recommendation not met fails its test (default: a warning; the test passes)",
    )
    group.addoption(
        "--stet-fault",
        metavar="NAME",
        type=_fault_name,
        action="append",
        default=[],
        help="switch on a fault in the bundled sandbox (repeatable; without --stet-target)",
    )
    group.addoption(
        "--stet-variant",
        metavar="NAME",
        type=_variant_name,
        action="append",
        default=[],
        help="a legitimate variant of the bundled sandbox (repeatable; without --stet-target)",
    )
    selection.add_option(group)
    add_ledger_option(group)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    redactor = Redactor()
    config.stash[_REDACTOR] = redactor
    config.pluginmanager.register(ReportRedactor(redactor), "stet-report-redactor")
    stack = ExitStack()
    config.stash[_CLEANUP] = stack
    config.add_cleanup(stack.close)
    sharing.register_marker(config)
    results = config.getoption("--stet-results")
    if not hasattr(config, "workerinput"):  # the xdist controller, or a plain run
        _check_outputs(config, Path(results) if results else None)
    if results:  # before the junitxml and allure plugins read their options
        layout = ResultsDir(Path(results))
        config.option.xmlpath = str(layout.junit)
        config.option.allure_report_dir = str(layout.allure)
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(RunRecorder(config, redactor), "stet-recorder")
        config.pluginmanager.register(UnreachableStop(), "stet-unreachable-stop")
        config.pluginmanager.register(LedgerToWorkers(), "stet-ledger-to-workers")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """A test sharing target state runs while no other test of the run shares it."""
    name = sharing.shared_state(item)
    if name is None:
        return (yield)
    with sharing.holding(run_folder(item.config), name):
        return (yield)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    selection.select(config, items)


def _check_outputs(config: pytest.Config, results: Path | None) -> None:
    """Before any plugin writes: a fresh results directory, and no output outside it."""
    junitxml = getattr(config.option, "xmlpath", None)
    alluredir = getattr(config.option, "allure_report_dir", None)
    try:
        check_outputs(results, junitxml, alluredir, "--stet-results")
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> None:
    """A broken target or configuration, in any test, travels with its reports (JUnit, xdist's
    controller), so the recorder counts it apart from bank defects, and a target that cannot be
    reached stops the run (``unreachable.py``); a test's warnings (its ``WARNING_PROPERTY``
    properties, already in JUnit) are marked in Allure."""
    broken = (BROKEN_PROPERTY, "yes")
    error = call.excinfo.value if call.excinfo is not None else None
    if error is not None and is_broken(error) and broken not in item.user_properties:
        item.user_properties.append(broken)
        stop_if_unreachable(item, error)
    warnings = warnings_of(item.user_properties)
    if call.when == "call" and warnings and getattr(item.config.option, "allure_report_dir", None):
        mark_warnings(warnings)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """The traceability cells a test covers travel with its reports (to xdist's controller)."""
    cells = scenario_cells(item.scenario) if isinstance(item, ScenarioItem) else marked_cells(item)
    if cells:
        item.user_properties.append((COVERS_PROPERTY, sorted(cells)))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, object, object]:
    """Ctrl-C in a test: its Allure result must not keep the 'passed' of its setup."""
    try:
        return (yield)
    except KeyboardInterrupt:
        mark_interrupted(item.config.pluginmanager.getplugin("allure_listener"))
        raise


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix in (".yaml", ".yml") and "scenarios" in file_path.parent.parts:
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFile(pytest.File):
    """One YAML file of scenarios."""

    def collect(self) -> Iterator[ScenarioItem]:
        scenarios = self.config.stash.get(_PARSED, {}).get(self.path)
        try:
            if scenarios is None:
                scenarios = load_file(self.path)
        except ScenarioError as exc:
            raise self.CollectError(str(exc)) from None
        for scenario in scenarios:
            marks = {scenario.area.lower(), *scenario.tags, f"severity_{scenario.severity}"}
            for mark in sorted(marks):
                _register_marker(self.config, mark)
            item = ScenarioItem.from_parent(self, name=scenario.id, scenario=scenario)
            for mark in sorted(marks):
                item.add_marker(mark)
            yield item


def _register_marker(config: pytest.Config, name: str) -> None:
    """Declare a scenario tag as a marker once (the ini's markers are read once per run)."""
    if _MARKERS not in config.stash:
        config.stash[_MARKERS] = {line.split(":")[0] for line in config.getini("markers")}
    known = config.stash[_MARKERS]
    if name not in known:
        known.add(name)
        config.addinivalue_line("markers", f"{name}: scenarios tagged {name}")


class ScenarioItem(pytest.Item):
    """One scenario; its failure points back at the YAML file and line."""

    def __init__(self, *, scenario: Scenario, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.extra_keyword_matches.update(scenario.tags)

    def runtest(self) -> None:
        redactor = self.config.stash[_REDACTOR]
        if self.config.getoption("--stet-dry-run"):
            profile = run_context(self.config).profile
            plan = [redactor.text(line) for line in plan_scenario(self.scenario, profile)]
            self.user_properties.append((PLAN_PROPERTY, plan))
            pytest.skip("dry run: nothing sent")
        allure_on = bool(getattr(self.config.option, "allure_report_dir", None))
        try:
            run = run_context(self.config)
            if allure_on:
                label_scenario(self.scenario, run.profile.name)
            results = run_scenario(self.scenario, run, self._listener(run, allure_on))
        except ScenarioSkipped as exc:
            unrestored = _verdict(exc.cleanup, redactor, f"(the scenario was skipped: {exc})")
            if unrestored is not None:
                raise unrestored from None
            pytest.skip(str(exc))
        if self.config.getoption("--stet-strict"):
            _promote_warnings(results)
        verdict = _verdict(results, redactor)
        if verdict is not None:
            raise verdict

    def _listener(self, run: RunContext, allure_on: bool) -> Callable[[StepResult], None]:
        redactor = self.config.stash[_REDACTOR]
        api_prefix = run.profile.api_prefix

        def listen(result: StepResult) -> None:
            if result.exchange is not None:
                request = result.exchange.request
                endpoint = endpoint_of(request.method, request.url.path, api_prefix)
                self.user_properties.append((EXCHANGE_PROPERTY, (endpoint, result.exchange.status)))
            for warning in result.warnings:
                text = recommendation(str(warning), warning.authority)
                where = f"step {result.step.name!r} (line {result.step.line})"
                self.user_properties.append((WARNING_PROPERTY, redactor.text(f"{where}: {text}")))
            if allure_on:
                record_step(result, redactor)

        return listen

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        """The scenario, its YAML line and the failure (``ReportRedactor`` redacts the report)."""
        head = f"{self.scenario.id} {self.scenario.title}  ({self.scenario.location})"
        text = describe(excinfo.value)
        if text is None:  # not a verdict: a harness bug, with its traceback
            return str(super().repr_failure(excinfo))
        return f"{head}\n{text}"

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.scenario.line - 1, f"{self.scenario.id}: {self.scenario.title}"


def _promote_warnings(results: list[StepResult]) -> None:
    """``--stet-strict``: every recommendation not met is a failure of its step."""
    for result in results:
        result.failures += [
            Failure(w.check, recommendation(w.message, w.authority, strict=True))
            for w in result.warnings
        ]


def _verdict(results: list[StepResult], redactor: Redactor, note: str = "") -> Exception | None:
    """The steps' failures decide; a cleanup step's failure is the target's state not restored
    (``scenario_verdict``), with ``note`` after it (why the steps were skipped)."""
    failed = [r for r in results if r.failures and not r.cleanup]
    unrestored = [r for r in results if r.failures and r.cleanup]
    statuses = [r.exchange.status for r in failed if r.exchange is not None]
    cleanup = _describe(unrestored, redactor)
    return scenario_verdict(
        redactor.text(_describe(failed, redactor)),
        statuses,
        redactor.text(f"{cleanup}\n{note}" if cleanup and note else cleanup),
    )


def _describe(results: list[StepResult], redactor: Redactor) -> str:
    lines = []
    for result in results:
        kind = "cleanup step" if result.cleanup else "step"
        lines.append(f"{kind} {result.step.name!r} (line {result.step.line}) failed:")
        lines += [f"  {problem}" for problem in result.failures]
        if result.override is not None:
            lines.append(f"  (expectation overridden by the profile: {result.override.reason})")
        if result.exchange is not None:
            lines.append("  exchange:")
            lines += ["    " + line for line in result.exchange.render(redactor).splitlines()]
    return "\n".join(lines)


@pytest.fixture(scope="session")
def stet_run(pytestconfig: pytest.Config) -> RunContext:
    """The run's profile, signing client and schemas, for Python suites (``suites/``)."""
    return run_context(pytestconfig)


def run_context(config: pytest.Config) -> RunContext:
    """The run's shared objects, created on first use (starts the sandbox if no target)."""
    if _RUN in config.stash:
        return config.stash[_RUN]
    stack = config.stash[_CLEANUP]
    target = config.getoption("--stet-target")
    if target is None:
        faults, variants = config.getoption("--stet-fault"), config.getoption("--stet-variant")
        target = str(_start_sandbox(stack, faults, variants))
    redactor = config.stash[_REDACTOR]
    profile = target_profile(config, Path(target), redactor)
    refuse_live(profile, allow_live=config.getoption("--stet-allow-live"))
    worker = _worker(config)
    if worker.count > 1:  # plain pytest -n N: the same rule as run's
        refuse_workers(profile, str(worker.count), profile.limits.concurrency)
    client = StetClient.for_profile(profile, redactor, dry_run=config.getoption("--stet-dry-run"))
    stack.callback(client.close)
    ledger = run_ledger(config)  # shared by the run's processes, token refreshes counted
    budget = budget_for(profile, ledger)
    run = RunContext(profile, client, default_store(), budget, worker, ledger)
    reset_target(config, run)  # the bundled sandbox: each run starts from its start state
    config.stash[_RUN] = run
    return run


def _worker(config: pytest.Config) -> Worker:
    """This process among the run's (pytest-xdist workers share the disposable tokens)."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is None:
        return Worker()
    return Worker(int(str(workerinput["workerid"]).lstrip("gw")), int(workerinput["workercount"]))


def _start_sandbox(stack: ExitStack, faults: list[str], variants: list[str]) -> Path:
    from stet_conformance.sandbox.server import start_sandbox  # the embedded default target

    return start_sandbox(stack, faults, variants=variants).profile_path


def _fault_name(name: str) -> str:
    """``--stet-fault`` values are checked as options are parsed: a typo is one line, exit 4."""
    from stet_conformance.sandbox.faults import parse_faults

    try:
        parse_faults([name])
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return name


def _variant_name(name: str) -> str:
    """``--stet-variant`` values are checked as options are parsed, like ``--stet-fault``."""
    from stet_conformance.sandbox.variants import parse_variants

    try:
        parse_variants([name])
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return name
