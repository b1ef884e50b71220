"""``stet-conformance run``: the scenarios as pytest items against a target profile."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import json
import re
import shlex
import shutil
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from stet_conformance.cli.common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    BundledSandbox,
    Commands,
    add_latency_option,
)
from stet_conformance.errors import UsageError
from stet_conformance.report.results import (
    MATRIX_FILE,
    RUN_FILE,
    ResultsDir,
    check_outputs,
    new_results_dir,
    reports_root,
)
from stet_conformance.shared.resources import project_root, scenarios_dir
from stet_conformance.suggest import unknown_names
from stet_conformance.verdict import PASSING

if TYPE_CHECKING:  # the profile and scenario modules load when a run needs them, not to parse
    import pytest

    from stet_conformance.config.profile import Profile
    from stet_conformance.report.traceability import Matrix
    from stet_conformance.scenario.model import Scenario
    from stet_conformance.scenario.traceability import Cell


def suites_dir() -> Path:
    """The property-based suites (issue 5), next to scenarios/."""
    return project_root() / "suites"


def register(commands: Commands[argparse.ArgumentParser]) -> None:
    run = commands.add_parser(
        "run",
        help="run the scenarios against a target (default: the bundled sandbox)",
        description="Run the YAML scenarios as pytest items. Extra pytest options go after --.",
    )
    _target_options(run)
    _selection_options(run)
    _output_options(run)
    _mode_options(run)
    run.add_argument(
        "pytest_args", nargs="*", metavar="-- PYTEST_ARGS", help="more pytest options, after --"
    )
    run.set_defaults(handler=handle)


def _target_options(run: argparse.ArgumentParser) -> None:
    run.add_argument(
        "--target",
        metavar="PROFILE",
        type=Path,
        action="append",
        help="target profile (YAML); default: start the bundled sandbox. Repeat it to run "
        "several banks one after the other (results in DIR/<target name>/, a matrix at the end)",
    )
    run.add_argument(
        "--scenarios",
        metavar="DIR",
        type=Path,
        default=None,
        help="scenario directory (default: the project's scenarios/)",
    )


def _selection_options(run: argparse.ArgumentParser) -> None:
    run.add_argument(
        "--id",
        metavar="ID",
        action="append",
        default=[],
        help="only this scenario id (or property test name with --mode), exactly: --id TRX-1 "
        "runs TRX-1, not TRX-10 (repeatable)",
    )
    run.add_argument(
        "--list",
        "--collect-only",
        action="store_true",
        help="list the selected scenario ids and titles (and suite tests with --mode), as a run "
        "with the same --id, -k, -m selects them; start no sandbox, send nothing",
    )
    run.add_argument(
        "--matrix",
        action="store_true",
        help="print the traceability matrix (operations x rules) that every scenario and suite "
        "covers (or those --id, -k, -m select), from their metadata; start no sandbox, send "
        "nothing",
    )
    run.add_argument(
        "-k", metavar="EXPR", help="only scenarios matching EXPR (substrings of ids, titles, tags)"
    )
    run.add_argument("-m", metavar="MARK", help="only scenarios with these tags, e.g. 'seed'")
    run.add_argument("-n", metavar="N", help="parallel workers (pytest-xdist), e.g. 2 or auto")


def _output_options(run: argparse.ArgumentParser) -> None:
    run.add_argument(
        "--results",
        metavar="DIR",
        help="write a results directory: Allure results, JUnit XML, coverage, "
        "run.json, sanitized profile, scenario copies",
    )
    run.add_argument("--junitxml", metavar="PATH", help="write a JUnit XML report")
    run.add_argument("--alluredir", metavar="DIR", help="write Allure results")


def _mode_options(run: argparse.ArgumentParser) -> None:
    """How the run behaves: the bundled sandbox's faults, live safety, dry run, fuzzing."""
    run.add_argument(
        "--fault",
        metavar="NAME",
        action="append",
        default=[],
        help="bundled sandbox only: switch on a fault (repeatable)",
    )
    run.add_argument(
        "--variant",
        metavar="NAME",
        action="append",
        default=[],
        help="bundled sandbox only: a legitimate bank variant, e.g. choices or data (repeatable)",
    )
    run.add_argument(
        "--sandbox-dir",
        metavar="DIR",
        type=Path,
        help="bundled sandbox only: keep its PKI and profile in DIR (default: a temporary one)",
    )
    add_latency_option(run, "bundled sandbox only: ")
    run.add_argument(
        "--allow-live",
        action="store_true",
        help="run against a target that is neither loopback nor marked 'environment: sandbox'",
    )
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="list every request the selected scenarios would send, and send nothing: no "
        "scenario request, no token refresh, no suite example (suites are skipped)",
    )
    run.add_argument(
        "--keep-going",
        action="store_true",
        help="go on after a connection failure (default: stop at the first one, since every "
        "scenario would fail the same way)",
    )
    run.add_argument(
        "--strict",
        action="store_true",
        help="a recommendation not met fails its test (default: a warning, the test passes)",
    )
    run.add_argument(
        "--mode",
        choices=("certification", "nightly", "regression"),
        default=None,
        help="also run the property-based suites (suites/) in this fuzzing mode: certification "
        "(reproducible), nightly (random, example database) or regression (fast)",
    )


QUIET_PYTEST = (
    "-p",
    "no:cacheprovider",
    # Scenarios and suites use no bare asserts: rewriting ~130 plugin modules costs a second.
    "--assert=plain",
    # The project's own `filterwarnings = error` is for its tests, not for a bank's run.
    "-W",
    "default",
)


def is_test_path(arg: str) -> bool:
    """``file::ID`` node ids and existing files or folders name what to run (not option values)."""
    return "::" in arg or (not arg.startswith("-") and Path(arg).exists())


def pytest_args(
    args: argparse.Namespace, target: Path | None, scenarios: Path, ledger: Path | None = None
) -> list[str]:
    """pytest's command line; ``ledger``: the run's shared budget (token refreshes in it);
    no ``target`` for a collection that runs nothing (``--list``)."""
    mode = getattr(args, "mode", None)
    suites = suites_dir()
    # Node ids after -- replace the default folders, so `-- scenarios/x.yaml::BAL-2` runs BAL-2.
    paths = [arg for arg in args.pytest_args if is_test_path(arg)]
    fuzz = ["--stet-mode", mode] if mode and suites.is_dir() else []
    if fuzz:  # lets a failing suite item print a command that re-runs it alone
        origin = ["--target", str(args.target)] if args.target else []
        for fault in args.fault:
            origin += ["--fault", fault]
        for variant in args.variant:
            origin += ["--variant", variant]
        if args.latency_ms:
            origin += ["--latency-ms", f"{args.latency_ms:g}"]
        fuzz += ["--stet-fuzz-cli-args", shlex.join(origin)]
    if not paths:
        paths = [str(scenarios), *([str(suites)] if fuzz else [])]
    argv = [*paths, *fuzz, *(["--stet-target", str(target)] if target else [])]
    argv += ["--rootdir", str(scenarios.parent), *QUIET_PYTEST]
    if not fuzz:  # Hypothesis's pytest plugin is only needed by the suites
        argv += ["-p", "no:hypothesispytest"]
    for flag in ("k", "m", "n"):
        value = getattr(args, flag)
        if value:
            argv += [f"-{flag}", value]
    for wanted in args.id:
        argv += ["--stet-id", wanted]
    if args.results:
        argv += ["--stet-results", args.results]
    if args.allow_live:
        argv += ["--stet-allow-live"]
    if args.dry_run:
        argv += ["--stet-dry-run"]
    if args.keep_going:
        argv += ["--stet-keep-going"]
    if args.strict:
        argv += ["--stet-strict"]
    if ledger is not None:
        argv += ["--stet-ledger", str(ledger)]
    if args.junitxml:
        argv += ["--junitxml", args.junitxml]
    if args.alluredir:
        argv += ["--alluredir", args.alluredir]
    return argv + [arg for arg in args.pytest_args if arg not in paths]


def handle(args: argparse.Namespace) -> int:
    """A run writes a results directory (``--results``, else a new one under reports/) and
    ends by saying where it is and how to make its report."""
    default = default_results(args)
    if default is not None:
        args.results = str(default)
    try:
        code = _handle(args)
    finally:
        unused = default is not None and _drop_unused(default)
    if args.results and not unused:
        announce_results(Path(args.results))
    return code


def _handle(args: argparse.Namespace) -> int:
    scenarios = (args.scenarios or scenarios_dir()).resolve()
    if not scenarios.is_dir():
        raise UsageError(f"--scenarios: not a directory: {scenarios}")
    targets = list(args.target or [])
    with ExitStack() as stack:
        sandbox = None  # else started first: its keys are made while the rest of the run starts
        if not targets and not args.list and not args.matrix:
            sandbox = BundledSandbox(
                stack, args.fault, args.sandbox_dir, args.variant, args.latency_ms
            )
        return _run(args, scenarios, targets, sandbox)


def _run(
    args: argparse.Namespace, scenarios: Path, targets: list[Path], sandbox: BundledSandbox | None
) -> int:
    """Check the selection and run pytest against the bundled ``sandbox`` or ``targets``."""
    import pytest

    from stet_conformance.plugin import GivenScenarios
    from stet_conformance.plugin.target import StartingTarget
    from stet_conformance.scenario.loader import load_all

    loaded = load_all(sorted(scenarios.rglob("*.yaml")))  # report bad files before pytest starts
    if args.list:
        return list_selection(args, loaded, scenarios)
    if args.matrix:
        return print_matrix(args, loaded, scenarios)
    if args.id:  # before any worker starts: an unknown id is one line, never a worker's crash
        check_ids(args.id, known_ids(loaded, scenarios, args.mode))
    results = Path(args.results) if args.results else None
    check_outputs(results, args.junitxml, args.alluredir, "--results")
    parsed = GivenScenarios(loaded)  # collection takes them as they are
    if len(targets) > 1:
        return handle_targets(args, targets, scenarios, parsed)
    args.target = targets[0] if targets else None
    if sandbox is not None:  # no token to refresh: the plugin makes the run's budget ledger
        from stet_conformance.sandbox import CONCURRENCY

        args.n = workers(args, CONCURRENCY)
        argv = pytest_args(args, sandbox.profile, scenarios)
        return exit_code(int(pytest.main(argv, plugins=[StartingTarget(sandbox.wait), parsed])))
    _bundled_sandbox_options_unused(args)
    target = args.target.resolve()
    profile = _checked_profile(target, args)
    return exit_code(_run_target(args, target, profile, scenarios, [parsed]))


# pytest options after -- that choose their own outputs, or run nothing: no default results.
_OWN_OUTPUTS = ("--junitxml", "--junit-xml", "--alluredir", "--collect-only", "--co")


def default_results(args: argparse.Namespace) -> Path | None:
    """A new results directory under reports/, unless the run sends nothing (``--list``,
    ``--matrix``, ``--dry-run``) or its outputs are chosen (``--results``, ``--junitxml``,
    ``--alluredir``)."""
    chosen = [a for a in args.pytest_args if a.split("=")[0] in _OWN_OUTPUTS]
    quiet = args.list or args.matrix or args.dry_run  # nothing is sent
    if args.results or args.junitxml or args.alluredir or chosen or quiet:
        return None
    return new_results_dir(reports_root(), dt.datetime.now())


def _drop_unused(default: Path) -> bool:
    """Remove a default results directory of a run that ran no scenario (a usage error,
    nothing selected): reports/ keeps runs, not attempts."""
    if _ran_something(default):
        return False
    shutil.rmtree(default, ignore_errors=True)
    return True


def announce_results(root: Path) -> None:
    """One line: where the results are and the command that makes their report."""
    shown = _shown(root)
    if ResultsDir(root).run.is_file():
        where, report = shown, shown
    elif targets := sorted(p.parent.name for p in root.glob(f"*/{RUN_FILE}")):
        where, report = f"{shown} (targets: {', '.join(targets)})", f"{shown}/<target>"
    else:
        return
    print(
        f"stet-conformance: results in {where}; report: stet-conformance report {report}",
        file=sys.stderr,
    )


def _ran_something(root: Path) -> bool:
    """Whether a run.json in ``root`` (or one per target below it) counts a finished scenario."""
    for run_file in [root / RUN_FILE, *root.glob(f"*/{RUN_FILE}")]:
        try:
            counts = json.loads(run_file.read_text(encoding="utf-8"))["counts"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if sum(counts.values()) > 0:
            return True
    return False


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when it is below it, else absolute."""
    absolute = path.resolve()
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:
        return str(absolute)


def list_selection(args: argparse.Namespace, loaded: list[Scenario], scenarios: Path) -> int:
    """``--list``: ids, titles and places of what would run; no sandbox, no request."""
    if _selects_when_collected(args):
        code, rows = selected_tests(args, loaded, scenarios, args.mode)
        if code != EXIT_OK:
            return code
    else:  # --id alone: exact names, no pytest session (a plain --list stays fast)
        rows = [CollectedTest(s.id, s.title, s.location, frozenset()) for s in loaded]
        if args.mode:
            rows += suite_tests(scenarios.parent, args.mode)
        check_ids(args.id, [row.name for row in rows])
        rows = [row for row in rows if not args.id or row.name in args.id]
    # Titles in one column (up to a long suite test name); one write, as --matrix: `| head`
    # reads it whole, no broken pipe.
    width = min(max((len(row.name) for row in rows), default=0), 24)
    lines = [f"{row.name:<{width}} {row.title}  ({row.location})\n" for row in rows]
    sys.stdout.write("".join(lines))
    return EXIT_OK


def _selects_when_collected(args: argparse.Namespace) -> bool:
    """-k, -m and pytest's options after -- select as pytest collects: only pytest knows."""
    return bool(args.k or args.m or args.pytest_args)


def print_matrix(args: argparse.Namespace, loaded: list[Scenario], scenarios: Path) -> int:
    """``--matrix``: the cells every scenario and suite test covers (or those selected), the
    n/a reasons."""
    from stet_conformance.fuzz.plugin import DEFAULT_MODE
    from stet_conformance.report.traceability import Matrix

    if _selects_when_collected(args) or args.id:
        code, tests = selected_tests(args, loaded, scenarios, args.mode or DEFAULT_MODE)
        if code != EXIT_OK:
            return code
        matrix = Matrix(run=False, narrowed=True)
        for test in tests:
            matrix.add(test.name, test.cells)
    else:
        matrix = static_matrix(loaded, scenarios.parent, args.mode)
    sys.stdout.write(matrix.text())  # one write: `| head` reads it whole, no broken pipe
    return EXIT_OK


def static_matrix(loaded: list[Scenario], rootdir: Path, mode: str | None = None) -> Matrix:
    """The traceability matrix of the scenarios ``loaded`` and of suites/, from metadata."""
    from stet_conformance.fuzz.plugin import DEFAULT_MODE
    from stet_conformance.report.traceability import Matrix
    from stet_conformance.scenario.traceability import scenario_cells

    matrix = Matrix(run=False)
    for scenario in loaded:
        matrix.add(scenario.id, scenario_cells(scenario))
    for test in suite_tests(rootdir, mode or DEFAULT_MODE):
        matrix.add(test.name, test.cells)
    return matrix


def selected_tests(
    args: argparse.Namespace, loaded: list[Scenario], scenarios: Path, mode: str | None
) -> tuple[int, list[CollectedTest]]:
    """The tests a run with ``args``' selection runs, as pytest collects and deselects them:
    the run's own command line (--id, -k, -m, node ids after --, suites with ``mode``) with
    --collect-only, no target, no output; and the CLI's exit code (2: nothing matched)."""
    from stet_conformance.plugin import GivenScenarios

    if args.id:
        check_ids(args.id, known_ids(loaded, scenarios, mode))
    listing = argparse.Namespace(**vars(args))
    listing.mode, listing.target, listing.n = mode, None, None
    listing.results = listing.junitxml = listing.alluredir = None
    argv = pytest_args(listing, None, scenarios)
    code, tests = collected(argv, [GivenScenarios(loaded)])
    return exit_code(code), tests


def known_ids(loaded: list[Scenario], scenarios: Path, mode: str | None) -> list[str]:
    """Every id ``--id`` may name: the scenarios', and the suite tests' with ``mode``."""
    known = [s.id for s in loaded]
    if mode:
        known += [t.name for t in suite_tests(scenarios.parent, mode)]
    return known


def check_ids(wanted: list[str], known: list[str]) -> None:
    """Refuse ``--id`` values that name nothing, with the closest ids (before any request)."""
    unknown = set(wanted) - set(known)
    if unknown:
        raise UsageError(f"--id: {unknown_names('scenario or test with id', unknown, known)}")


@dataclass(frozen=True)
class CollectedTest:
    """A scenario or a property-based test of suites/, as collected."""

    name: str
    title: str  # a scenario's title, a suite test's docstring's first line
    location: str  # file:line
    cells: frozenset[Cell]  # what it covers: its ``covers:``, its ``stet_covers`` markers


def suite_tests(rootdir: Path, mode: str) -> list[CollectedTest]:
    """The property-based tests of suites/, collected (parametrisations once)."""
    import pytest

    argv = [*QUIET_PYTEST, "--rootdir", str(rootdir), str(suites_dir()), "--stet-mode", mode]
    code, tests = collected(argv, [])
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        raise UsageError(f"{suites_dir()}: the suites do not collect (pytest exit {int(code)})")
    return tests


def collected(argv: list[str], plugins: list[object]) -> tuple[int, list[CollectedTest]]:
    """``pytest --collect-only ARGV``'s exit code and the items its deselection leaves, each
    name once; pytest's output only when collecting failed (it says why; a usage error is
    already on stderr)."""
    import pytest

    found: dict[str, CollectedTest] = {}

    class Names:
        def pytest_collection_finish(self, session: pytest.Session) -> None:
            for item in session.items:  # after every plugin's pytest_collection_modifyitems
                test = _collected_test(item)
                found.setdefault(test.name, test)

    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        code = pytest.main(["--collect-only", "-qq", *argv], plugins=[Names(), *plugins])
    if code in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERNAL_ERROR):
        sys.stdout.write(output.getvalue())
    return int(code), list(found.values())


def _collected_test(item: pytest.Item) -> CollectedTest:
    """A scenario as its YAML says (id, title, place); a suite test by name, docstring, place."""
    from stet_conformance.fuzz.plugin import marked_cells
    from stet_conformance.plugin import ScenarioItem
    from stet_conformance.plugin.selection import item_id
    from stet_conformance.scenario.traceability import scenario_cells

    if isinstance(item, ScenarioItem):
        s = item.scenario
        return CollectedTest(s.id, s.title, s.location, frozenset(scenario_cells(s)))
    doc = (getattr(item, "obj", None).__doc__ or "").strip().splitlines()
    path, line, _ = item.location
    where = f"{path}:{(line or 0) + 1}"
    return CollectedTest(item_id(item), doc[0] if doc else "", where, frozenset(marked_cells(item)))


def _bundled_sandbox_options_unused(args: argparse.Namespace) -> None:
    if args.fault or args.variant or args.sandbox_dir or args.latency_ms:
        raise UsageError(
            "--fault, --variant, --sandbox-dir and --latency-ms only apply to the bundled "
            "sandbox (no --target)"
        )


def _checked_profile(target: Path, args: argparse.Namespace) -> Profile:
    """Load a profile (exit 2 when bad, before any request) and apply the live safety."""
    from stet_conformance.config.live import refuse_live
    from stet_conformance.config.profile import load_profile

    profile = load_profile(target)
    refuse_live(profile, allow_live=args.allow_live)
    return profile


def refresh_tokens(profile: Profile, ledger: Path) -> Profile:
    """Refresh the token store's access tokens that expire within 60 s, before pytest starts;
    each refresh is charged to the run's budget in ``ledger``, which pytest's processes share.

    Returns the profile with the fresh tokens.
    """
    if profile.token_store is None:
        return profile
    from stet_conformance.http.budget import Ledger
    from stet_conformance.onboarding.oauth import refresh_store
    from stet_conformance.scenario.runner import budget_for

    with contextlib.closing(Ledger(ledger)) as shared:
        profile, lines = refresh_store(profile, budget_for(profile, shared))
    for line in lines:
        print(f"stet-conformance: {line}", file=sys.stderr)
    return profile


def _run_target(
    args: argparse.Namespace, target: Path, profile: Profile, scenarios: Path, plugins: list[object]
) -> int:
    """One pytest session against one bank of several, with a budget of its own."""
    import pytest

    from stet_conformance.plugin.target import GivenProfile

    args.n = workers(args, profile.limits.concurrency, profile)
    with tempfile.TemporaryDirectory(prefix="stet-run-") as run_dir:
        ledger = Path(run_dir) / "budget.json"
        if not args.dry_run:
            profile = refresh_tokens(profile, ledger)
        argv = pytest_args(args, target, scenarios, ledger)
        return int(pytest.main(argv, plugins=[*plugins, GivenProfile(profile)]))


_WORKER_OPTIONS = ("-n", "--numprocesses")


def workers(
    args: argparse.Namespace, concurrency: int, profile: Profile | None = None
) -> str | None:
    """``run``'s -n: the given one, else the target's ``concurrency`` for a run of the suites.

    Workers pay off when a run waits for thousands of answers (``--mode``, not narrowed by
    ``--id``, ``-k``, ``-m`` or node ids: a pointed check of a few tests); for the scenarios
    alone (about 150 requests) they cost more CPU to start than they save (docs/performance.md).
    A live target (``config/live.py``) refuses more workers than its concurrency, -n given
    before or after ``--``: each worker has a request in flight.
    """
    given = args.n or _workers_after_dashes(args.pytest_args)
    if given is None:
        narrowed = args.id or args.k or args.m or any(map(is_test_path, args.pytest_args))
        long_run = bool(args.mode) and not narrowed
        return str(concurrency) if concurrency > 1 and long_run else None
    from stet_conformance.config.live import refuse_workers

    if profile is not None:
        refuse_workers(profile, given, concurrency)
    return str(args.n) if args.n else None  # after --, pytest reads it there


def _workers_after_dashes(pytest_args: list[str]) -> str | None:
    for index, arg in enumerate(pytest_args):
        name, _, value = arg.partition("=")
        if name in _WORKER_OPTIONS:
            return value or (pytest_args[index + 1] if index + 1 < len(pytest_args) else "")
        if arg.startswith("-n") and len(arg) > 2:
            return arg[2:]
    return None


def exit_code(code: int) -> int:
    """The CLI's exit code for one pytest session's."""
    import pytest

    from stet_conformance.plugin.recorder import cli_exit_status

    if code == pytest.ExitCode.NO_TESTS_COLLECTED:
        print("stet-conformance: no scenario matched the selection", file=sys.stderr)
    return cli_exit_status(code)


def _dir_name(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-") or "target"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    taken.add(candidate)
    return candidate


def handle_targets(
    args: argparse.Namespace, targets: list[Path], scenarios: Path, parsed: object
) -> int:
    """One pytest session per target, in sequence; a pass/FAIL matrix at the end.

    Every profile is loaded (and the live safety checked) before the first request, so a typo
    in the third profile does not surface after an hour of runs.
    """
    import pytest

    from stet_conformance.plugin.recorder import OutcomeCollector

    _bundled_sandbox_options_unused(args)
    loaded: list[tuple[str, Path, Profile]] = []
    taken: set[str] = set()
    for target in targets:
        profile = _checked_profile(target.resolve(), args)
        loaded.append((_dir_name(profile.name, taken), target.resolve(), profile))
    columns: dict[str, dict[str, str]] = {}
    codes: list[int] = []
    for index, (name, target, profile) in enumerate(loaded, 1):
        print(
            f"stet-conformance: target {index}/{len(loaded)}: {name} ({profile.base_url})",
            file=sys.stderr,
            flush=True,
        )
        one = argparse.Namespace(**vars(args))
        one.target = target
        if args.results:
            one.results = str(Path(args.results) / name)
        if args.alluredir:
            one.alluredir = str(Path(args.alluredir) / name)
        if args.junitxml:
            junit = Path(args.junitxml)
            one.junitxml = str(junit.with_name(f"{junit.stem}-{name}{junit.suffix or '.xml'}"))
        collector = OutcomeCollector()
        code = _run_target(one, target, profile, scenarios, [collector, parsed])
        codes.append(exit_code(code))
        columns[name] = collector.outcomes
        if code == pytest.ExitCode.INTERRUPTED:
            break
    lines = matrix_lines(columns)
    print("\n" + "\n".join(lines))
    if args.results:
        root = Path(args.results)
        root.mkdir(parents=True, exist_ok=True)
        (root / MATRIX_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
        (root / "matrix.json").write_text(json.dumps(columns, indent=2) + "\n", encoding="utf-8")
    for worst in (EXIT_INTERRUPTED, EXIT_USAGE, EXIT_FAILED):
        if worst in codes:
            return worst
    return EXIT_OK


_CELLS = {
    "passed": "pass",
    "warning": "warn",
    "failed": "FAIL",
    "skipped": "skip",
    "broken": "broken",
}


def matrix_lines(columns: dict[str, dict[str, str]]) -> list[str]:
    """Rows = scenario ids, columns = targets, cells pass/warn/FAIL/skip/broken ('-': not
    run); the last row counts passes, warnings included."""
    rows = sorted({row for outcomes in columns.values() for row in outcomes})
    names = list(columns)
    first = max([len("scenario"), *(len(r) for r in rows)])
    widths = [max(len(n), 6) for n in names]

    def line(cells: list[str]) -> str:
        parts = [cells[0].ljust(first)] + [
            c.ljust(w) for c, w in zip(cells[1:], widths, strict=True)
        ]
        return "  ".join(parts).rstrip()

    out = [f"STET per-target matrix ({len(rows)} scenarios x {len(names)} targets)"]
    out.append(line(["scenario", *names]))
    for row in rows:
        out.append(line([row, *(_CELLS.get(columns[n].get(row, ""), "-") for n in names)]))
    totals = []
    for n in names:
        values = list(columns[n].values())
        totals.append(f"{sum(v in PASSING for v in values)}/{len(values)}")
    out.append(line(["passed", *totals]))
    return out
