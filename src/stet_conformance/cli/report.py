"""``stet-conformance report``: a results directory -> one HTML file that opens offline."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from stet_conformance.cli.common import EXIT_FAILED, EXIT_OK, Commands
from stet_conformance.report.html import (
    DEFAULT_OUTPUT,
    HISTORY_FILE,
    ReportGeneratorError,
    allure_command,
    build_report,
    default_history,
    locate_results,
)
from stet_conformance.report.results import latest_results, reports_root


def register(commands: Commands[argparse.ArgumentParser]) -> None:
    report = commands.add_parser(
        "report",
        help="build a single-file HTML report (Allure 3) from a results directory",
        description="Build one self-contained HTML file from a results directory of `run` "
        "(default: the newest one under reports/) or a bare Allure results directory. Needs "
        "Node.js; the pinned Allure 3 (tools/allure) is installed with npm on first use.",
    )
    report.add_argument(
        "results",
        metavar="RESULTS_DIR",
        type=Path,
        nargs="?",
        help="the results directory (default: the newest run's under reports/)",
    )
    report.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        type=Path,
        help=f"the HTML file to write (default: RESULTS_DIR/{DEFAULT_OUTPUT})",
    )
    report.add_argument(
        "--history",
        metavar="FILE",
        type=Path,
        help=f"Allure history (JSON lines) for trends across runs; appended to "
        f"(default: RESULTS_DIR/../{HISTORY_FILE})",
    )
    report.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=float,
        default=300.0,
        help="give up on the generator after this long (default: 300)",
    )
    report.set_defaults(handler=handle)


def _say(line: str) -> None:
    print(f"stet-conformance: report: {line}", file=sys.stderr, flush=True)


def handle(args: argparse.Namespace) -> int:
    results = args.results if args.results is not None else latest_results(reports_root())
    source = locate_results(results)
    output = (args.output or results / DEFAULT_OUTPUT).resolve()
    history = (args.history or default_history(results)).resolve()
    command = allure_command(notify=_say)
    try:
        build_report(source, output, history, timeout=args.timeout, command=command)
    except ReportGeneratorError as exc:
        print(f"stet-conformance: report: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(
        f"stet-conformance: report written to {output}; open {output.as_uri()} in a browser "
        f"(history: {history})",
        file=sys.stderr,
    )
    return EXIT_OK
