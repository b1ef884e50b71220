"""The fuzzing half of the pytest plugin: ``--stet-mode``, Hypothesis profiles, fixtures.

Modes (``--stet-mode``, default ``regression``; ``stet-conformance run --mode`` passes it):

- ``certification``: derandomized, fixed example count, no database: the same requests on every
  run, so a go-live report can be reproduced.
- ``nightly``: random, more examples, a persistent example database (``--stet-fuzz-db``) that
  replays earlier failures first.
- ``regression``: derandomized and few examples, for CI and the self-test matrix.

The settings apply only to the suites (``fuzz_settings()``), never to other Hypothesis tests:
``pytest_configure`` registers the run's mode as the Hypothesis profile ``stet-fuzz`` (loaded by
no one), and the suites' decorators read it when pytest imports them, after configuration.
Everything else reads the mode from the run's own options.
Network requests are slow and fixtures are read-only, so the deadline and the matching health
checks are off. A failing suite item gets a one-line reproduction command in its report.
Hypothesis is imported when a run has suites (a plugin registered for every pytest run must not
cost a run of scenarios its import).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import pytest

from stet_conformance.fuzz.scheduling import longest_first, one_test_at_a_time
from stet_conformance.http.budget import (
    DEFAULT_PERSONA_BUDGET,
    DEFAULT_RUN_BUDGET,
    DEFAULT_UNATTENDED_BUDGET,
    RequestBudget,
)
from stet_conformance.scenario.traceability import COVERS_MARKER, Cell, declared_cells

if TYPE_CHECKING:
    from hypothesis import settings

    from stet_conformance.fuzz.session import FuzzSession

MODES = ("certification", "nightly", "regression")
DEFAULT_MODE = "regression"
DEFAULT_DATABASE = ".hypothesis/stet-nightly"
EXAMPLES = {"certification": 60, "nightly": 400, "regression": 12}
NIGHTLY_BUDGET_FACTOR = 10
PROFILE = "stet-fuzz"
_SESSION = pytest.StashKey["FuzzSession"]()


def mode_settings(mode: str, database_dir: str = DEFAULT_DATABASE) -> settings:
    """The Hypothesis settings of a mode (``max_examples`` is the per-test count)."""
    from hypothesis import HealthCheck, Phase, settings
    from hypothesis.database import DirectoryBasedExampleDatabase

    # From Hypothesis's own defaults, not the current profile: with CI set, Hypothesis loads its
    # "ci" profile (derandomized), and a nightly CI run must still draw new examples.
    default = settings.get_profile("default")
    common: dict[str, Any] = {
        "parent": default,
        "deadline": None,
        "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        "print_blob": True,
        "report_multiple_bugs": False,
        "max_examples": EXAMPLES[mode],
    }
    if mode == "nightly":
        database = DirectoryBasedExampleDatabase(database_dir)
        return settings(derandomize=False, database=database, **common)
    if mode == "regression":
        phases = [Phase.explicit, Phase.generate, Phase.shrink]
        return settings(derandomize=True, database=None, phases=phases, **common)
    return settings(derandomize=True, database=None, **common)


def fuzz_settings(scale: float = 1.0) -> settings:
    """The run's mode's settings for a suite; ``scale`` sizes a costly test's example count."""
    from hypothesis import settings
    from hypothesis.errors import InvalidArgument

    try:
        base = settings.get_profile(PROFILE)
    except InvalidArgument:  # no run registered a mode: a suite imported outside pytest
        base = mode_settings(DEFAULT_MODE)
    return settings(base, max_examples=max(1, round(base.max_examples * scale)))


def run_mode(config: pytest.Config) -> str:
    """The mode of this run (``--stet-mode``, else the default)."""
    return str(config.getoption("--stet-mode") or DEFAULT_MODE)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("stet-conformance-fuzz", "STET PSD2 property-based suites")
    group.addoption(
        "--stet-mode",
        choices=MODES,
        default=None,
        help=f"fuzzing mode of the suites/ (default {DEFAULT_MODE})",
    )
    group.addoption(
        "--stet-fuzz-db",
        metavar="DIR",
        default=DEFAULT_DATABASE,
        help=f"nightly mode's Hypothesis example database (default {DEFAULT_DATABASE})",
    )
    group.addoption(
        "--stet-fuzz-cli-args",
        default=None,
        help=argparse.SUPPRESS,  # ``stet-conformance run`` passes its --target/--fault
    )
    group.addoption(
        "--stet-fuzz-budget",
        type=int,
        default=None,
        help=f"fuzz requests per run (default {DEFAULT_RUN_BUDGET}, x10 in nightly mode)",
    )
    group.addoption(
        "--stet-fuzz-persona-budget",
        type=int,
        default=None,
        help=f"fuzz requests per persona (default {DEFAULT_PERSONA_BUDGET}, x10 in nightly mode)",
    )
    group.addoption(
        "--stet-fuzz-unattended-budget",
        type=int,
        default=DEFAULT_UNATTENDED_BUDGET,
        help="fuzz requests without PSU-IP-Address per persona "
        f"(default {DEFAULT_UNATTENDED_BUDGET}, the seed's daily quota)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """The run's mode becomes the profile ``stet-fuzz``: with ``--stet-mode``, or over what an
    earlier run in this process registered (without either, the suites get the default)."""
    if config.getoption("--stet-mode") or "hypothesis" in sys.modules:
        from hypothesis import settings

        database = str(config.getoption("--stet-fuzz-db"))
        settings.register_profile(PROFILE, mode_settings(run_mode(config), database))
    one_test_at_a_time(config)
    if config.getoption("--stet-mode"):
        config.addinivalue_line("markers", "fuzz: property-based suites (suites/)")
    config.addinivalue_line(
        "markers",
        f"{COVERS_MARKER}(rule, ..., on=[operation, ...]): the traceability matrix's cells a "
        "suite test covers (docs/reports.md)",
    )


def marked_cells(item: pytest.Item) -> set[Cell]:
    """The cells of an item's ``stet_covers`` markers; ``pytest.UsageError`` names a bad one."""
    cells: set[Cell] = set()
    for mark in item.iter_markers(COVERS_MARKER):
        try:
            cells |= declared_cells(mark.args, mark.kwargs.get("on"))
        except ValueError as exc:
            path, line, _ = item.location
            raise pytest.UsageError(f"{path}:{(line or 0) + 1}: {exc}") from None
    return cells


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A misspelt rule or operation in a ``stet_covers`` marker stops the run before a request;
    with workers, the longest tests go first (``scheduling.py``)."""
    for item in items:
        marked_cells(item)
    longest_first(config, items)


@pytest.fixture(scope="session")
def fuzz_session(pytestconfig: pytest.Config, stet_run: Any) -> FuzzSession:
    """The suites' shared state over the run's ``stet_run`` (same client, profile, redactor).

    In a dry run the suites are skipped here, before Hypothesis draws an example; the client
    would refuse to send anyway.
    """
    from stet_conformance.fuzz.session import FuzzSession

    if stet_run.client.dry_run:
        pytest.skip("dry run: nothing sent")
    if _SESSION not in pytestconfig.stash:
        # Nightly runs ~30x more examples: its default budget grows with it.
        mode = run_mode(pytestconfig)
        factor = NIGHTLY_BUDGET_FACTOR if mode == "nightly" else 1
        per_run = pytestconfig.getoption("--stet-fuzz-budget") or DEFAULT_RUN_BUDGET * factor
        per_persona = (
            pytestconfig.getoption("--stet-fuzz-persona-budget") or DEFAULT_PERSONA_BUDGET * factor
        )
        budget = RequestBudget(
            per_run=per_run,
            per_persona=per_persona,
            unattended_per_persona=pytestconfig.getoption("--stet-fuzz-unattended-budget"),
            ledger=stet_run.ledger,  # shared by the run's processes, with the profile's budget
        )
        strict = bool(pytestconfig.getoption("--stet-strict", False))
        pytestconfig.stash[_SESSION] = FuzzSession(stet_run, budget, mode, strict)
    return pytestconfig.stash[_SESSION]


@pytest.fixture
def fuzz(fuzz_session: FuzzSession, request: pytest.FixtureRequest) -> FuzzSession:
    """``fuzz_session`` told which test is running (shrink-aware budget, its warnings)."""
    fuzz_session.item = request.node
    return fuzz_session


def reproduction_command(config: pytest.Config, item: pytest.Item) -> str:
    """One command that re-runs only ``item`` against the same target, faults and mode."""
    mode = run_mode(config)
    tail = ["--stet-fuzz-db", str(config.getoption("--stet-fuzz-db"))] if mode == "nightly" else []
    cli_args = config.getoption("--stet-fuzz-cli-args")
    if cli_args is not None:  # started by ``stet-conformance run``
        words = ["stet-conformance", "run", "--mode", mode, *shlex.split(cli_args)]
        return shlex.join([*words, "--", *tail, "-k", item.name])
    words = ["pytest", item.nodeid.split("::")[0], "--stet-mode", mode]
    target = config.getoption("--stet-target", None)
    if target:
        words += ["--stet-target", str(target)]
    for fault in config.getoption("--stet-fault", None) or []:
        words += ["--stet-fault", fault]
    for variant in config.getoption("--stet-variant", None) or []:
        words += ["--stet-variant", variant]
    return shlex.join([*words, *tail, "-k", item.name])


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Add a ``reproduce`` section (one command) to a failing suite item's report."""
    report = yield
    if (
        report.when != "call"
        or not report.failed
        or "fuzz_session" not in getattr(item, "fixturenames", ())
    ):
        return report
    hint = (
        "Hypothesis replays the smallest failing input from its example database"
        if run_mode(item.config) == "nightly"
        else "the mode is derandomized: the same command sends the same requests"
    )
    report.sections.append(
        (
            "reproduce",
            f"{reproduction_command(item.config, item)}\n({hint}; or paste the "
            "@reproduce_failure line above onto the test)",
        )
    )
    return report
