"""``stet-conformance``: run scenarios, serve the reference sandbox, self-test the harness.

Exit codes: 0 all scenarios passed, 1 at least one failed, 2 usage or configuration error (one
line on stderr, no traceback), 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

from stet_conformance import __version__
from stet_conformance.config.profile import load_profile
from stet_conformance.errors import UsageError
from stet_conformance.scenario.loader import load_all
from stet_conformance.shared.resources import scenarios_dir

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stet-conformance",
        description="Conformance tests for banks' STET PSD2 (v1.4.x) APIs.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="run the scenarios against a target (default: the bundled sandbox)",
        description="Run the YAML scenarios as pytest items. Extra pytest options go after --.",
    )
    run.add_argument(
        "--target",
        metavar="PROFILE",
        type=Path,
        help="target profile (YAML); default: start the bundled sandbox",
    )
    run.add_argument(
        "--scenarios",
        metavar="DIR",
        type=Path,
        default=None,
        help="scenario directory (default: the project's scenarios/)",
    )
    run.add_argument("-k", metavar="EXPR", help="only scenarios matching EXPR (ids, titles, tags)")
    run.add_argument("-m", metavar="MARK", help="only scenarios with these tags, e.g. 'seed'")
    run.add_argument("-n", metavar="N", help="parallel workers (pytest-xdist), e.g. 2 or auto")
    run.add_argument("--junitxml", metavar="PATH", help="write a JUnit XML report")
    run.add_argument("--alluredir", metavar="DIR", help="write Allure results")
    run.add_argument(
        "--fault",
        metavar="NAME",
        action="append",
        default=[],
        help="bundled sandbox only: switch on a fault (repeatable)",
    )
    run.add_argument(
        "pytest_args", nargs="*", metavar="-- PYTEST_ARGS", help="more pytest options, after --"
    )

    sandbox = commands.add_parser(
        "sandbox",
        help="serve the reference sandbox in the foreground",
        description="Serve the reference STET sandbox over mTLS and write a target profile "
        "for it into DIR/profile.yaml.",
    )
    sandbox.add_argument("--port", type=int, default=0, help="TCP port (default: any free one)")
    sandbox.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    sandbox.add_argument(
        "--dir",
        type=Path,
        default=Path("stet-sandbox"),
        help="where the PKI and profile.yaml go (default: ./stet-sandbox)",
    )
    sandbox.add_argument(
        "--fault",
        metavar="NAME",
        action="append",
        default=[],
        help="switch on a fault (repeatable); see --list-faults",
    )
    sandbox.add_argument("--list-faults", action="store_true", help="list the faults and exit")

    selftest = commands.add_parser(
        "selftest",
        help="mutation matrix: every sandbox fault must fail some scenario",
        description="Run the scenarios against the conformant sandbox (all must pass) and once "
        "per fault (each must make at least one scenario fail).",
    )
    selftest.add_argument(
        "--fault",
        metavar="NAME",
        action="append",
        default=[],
        help="only these faults (repeatable; default: all)",
    )
    selftest.add_argument("-j", "--jobs", type=int, default=2, help="runs in parallel (default 2)")
    return parser


def _pytest_args(args: argparse.Namespace, target: Path, scenarios: Path) -> list[str]:
    argv = [
        str(scenarios),
        "--stet-target",
        str(target),
        "-p",
        "no:cacheprovider",
        "--rootdir",
        str(scenarios.parent),
        # This process imported the plugin before pytest started: nothing to rewrite.
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",
    ]
    for flag in ("k", "m", "n"):
        value = getattr(args, flag)
        if value:
            argv += [f"-{flag}", value]
    if args.junitxml:
        argv += ["--junitxml", args.junitxml]
    if args.alluredir:
        argv += ["--alluredir", args.alluredir]
    return argv + list(args.pytest_args)


def _run(args: argparse.Namespace) -> int:
    import pytest

    scenarios = (args.scenarios or scenarios_dir()).resolve()
    if not scenarios.is_dir():
        raise UsageError(f"--scenarios: not a directory: {scenarios}")
    load_all(sorted(scenarios.rglob("*.yaml")))  # report bad files before pytest starts
    with ExitStack() as stack:
        if args.target is None:
            target = _start_sandbox(stack, args.fault)
        else:
            if args.fault:
                raise UsageError("--fault only applies to the bundled sandbox (no --target)")
            target = args.target.resolve()
            load_profile(target)  # exit 2 on a bad profile, before any request
        code = int(pytest.main(_pytest_args(args, target, scenarios)))
    if code == pytest.ExitCode.NO_TESTS_COLLECTED:
        print("stet-conformance: no scenario matched the selection", file=sys.stderr)
        return EXIT_USAGE
    if code == pytest.ExitCode.INTERRUPTED:
        return EXIT_INTERRUPTED
    return {0: EXIT_OK, 1: EXIT_FAILED}.get(code, EXIT_USAGE)


def _start_sandbox(stack: ExitStack, faults: Sequence[str]) -> Path:
    from stet_conformance.sandbox.server import SandboxServer

    directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="stet-sandbox-")))
    try:
        server = stack.enter_context(SandboxServer(directory, faults=faults))
    except ValueError as exc:  # unknown fault name
        raise UsageError(f"--fault: {exc}") from None
    print(f"stet-conformance: bundled sandbox at {server.base_url}", file=sys.stderr)
    return Path(server.profile_path)


def _sandbox(args: argparse.Namespace) -> int:
    from stet_conformance.sandbox.faults import FAULTS
    from stet_conformance.sandbox.server import serve

    if args.list_faults:
        for name, description in sorted(FAULTS.items()):
            print(f"{name:34} {description}")
        return EXIT_OK
    if args.host not in ("127.0.0.1", "::1", "localhost"):
        raise UsageError("--host: the sandbox only listens on loopback addresses")
    try:
        serve(args.dir.resolve(), args.fault, args.port, args.host)
    except ValueError as exc:
        raise UsageError(f"--fault: {exc}") from None
    return EXIT_OK


def _selftest(args: argparse.Namespace) -> int:
    from stet_conformance.sandbox.faults import FAULTS, parse_faults
    from stet_conformance.selftest import print_matrix, run_matrix

    try:
        faults = sorted(parse_faults(args.fault)) if args.fault else sorted(FAULTS)
    except ValueError as exc:
        raise UsageError(f"--fault: {exc}") from None
    rows = run_matrix(faults, workers=max(1, args.jobs))
    return EXIT_OK if print_matrix(rows, sys.stdout) else EXIT_FAILED


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "selftest":
            return _selftest(args)
        return _sandbox(args)
    except UsageError as exc:
        print(f"stet-conformance: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
