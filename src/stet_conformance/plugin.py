"""The pytest plugin: YAML scenarios become pytest items that run against a target profile.

Registered through the ``pytest11`` entry point, so plain ``pytest --stet-target PROFILE
scenarios/`` works as well as ``stet-conformance run``. Files named ``*.yaml`` inside a directory
called ``scenarios`` are collected. The run's shared objects (profile, client, schemas) live in
``config.stash`` and are created on the first scenario run, so ``--collect-only`` never touches
the network. Without ``--stet-target`` the bundled reference sandbox is started for the session.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from stet_conformance.checks.schemas import default_store
from stet_conformance.config.profile import load_profile
from stet_conformance.errors import ScenarioError, TargetError, UsageError
from stet_conformance.http.client import StetClient
from stet_conformance.http.redact import Redactor
from stet_conformance.scenario.loader import load_file
from stet_conformance.scenario.model import Scenario
from stet_conformance.scenario.runner import RunContext, ScenarioSkipped, StepResult, run_scenario

_RUN = pytest.StashKey["RunContext"]()
_REDACTOR = pytest.StashKey[Redactor]()
_CLEANUP = pytest.StashKey[ExitStack]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("stet-conformance", "STET PSD2 conformance scenarios")
    group.addoption(
        "--stet-target",
        metavar="PROFILE",
        default=None,
        help="target profile (YAML); default: start the bundled reference sandbox",
    )
    group.addoption(
        "--stet-fault",
        metavar="NAME",
        action="append",
        default=[],
        help="switch on a fault in the bundled sandbox (repeatable; without --stet-target)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_REDACTOR] = Redactor()
    stack = ExitStack()
    config.stash[_CLEANUP] = stack
    config.add_cleanup(stack.close)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix in (".yaml", ".yml") and "scenarios" in file_path.parent.parts:
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFile(pytest.File):
    """One YAML file of scenarios."""

    def collect(self) -> Iterator[ScenarioItem]:
        try:
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
    if name not in {line.split(":")[0] for line in config.getini("markers")}:
        config.addinivalue_line("markers", f"{name}: scenarios tagged {name}")


class ScenarioFailed(Exception):
    """A step's checks failed; carries the step results for the report."""

    def __init__(self, results: list[StepResult]) -> None:
        super().__init__("scenario failed")
        self.results = results


class ScenarioItem(pytest.Item):
    """One scenario; its failure points back at the YAML file and line."""

    def __init__(self, *, scenario: Scenario, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.extra_keyword_matches.update(scenario.tags)

    def runtest(self) -> None:
        run = run_context(self.config)
        try:
            results = run_scenario(self.scenario, run)
        except ScenarioSkipped as exc:
            pytest.skip(str(exc))
        if any(r.failures for r in results):
            raise ScenarioFailed(results)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        redactor = self.config.stash[_REDACTOR]
        head = f"{self.scenario.id} {self.scenario.title}  ({self.scenario.location})"
        error = excinfo.value
        if isinstance(error, ScenarioFailed):
            return redactor.text(head + "\n" + _describe(error.results, redactor))
        if isinstance(error, TargetError):
            return redactor.text(f"{head}\ntarget broken: {error}")
        if isinstance(error, UsageError):
            return redactor.text(f"{head}\nconfiguration error: {error}")
        return redactor.text(str(super().repr_failure(excinfo)))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.scenario.line - 1, f"{self.scenario.id}: {self.scenario.title}"


def _describe(results: list[StepResult], redactor: Redactor) -> str:
    lines = []
    for result in results:
        if not result.failures:
            continue
        kind = "cleanup step" if result.cleanup else "step"
        lines.append(f"{kind} {result.step.name!r} (line {result.step.line}) failed:")
        lines += [f"  {failure}" for failure in result.failures]
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
        target = str(_start_sandbox(stack, config.getoption("--stet-fault")))
    profile = load_profile(Path(target))
    redactor = config.stash[_REDACTOR]
    for secret in profile.secrets():
        redactor.add(secret)
    client = StetClient(profile, redactor)
    stack.callback(client.close)
    run = RunContext(profile, client, default_store())
    config.stash[_RUN] = run
    return run


def _start_sandbox(stack: ExitStack, faults: list[str]) -> Path:
    from stet_conformance.sandbox.server import SandboxServer  # the embedded default target

    directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="stet-sandbox-")))
    server = stack.enter_context(SandboxServer(directory, faults=faults))
    return server.profile_path
