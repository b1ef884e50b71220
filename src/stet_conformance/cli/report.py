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
    build_report,
    default_history,
    locate_results,
)


def register(commands: Commands[argparse.ArgumentParser]) -> None:
    report = commands.add_parser(
        "report",
        help="build a single-file HTML report (Allure 3) from a results directory",
        description="Build one self-contained HTML file from a results directory "
        "(run --results DIR) or a bare Allure results directory. Needs Node.js and the "
        "pinned Allure 3: npm ci --prefix tools/allure.",
    )
    report.add_argument("results", metavar="RESULTS_DIR", type=Path)
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


def handle(args: argparse.Namespace) -> int:
    source = locate_results(args.results)
    output = (args.output or args.results / DEFAULT_OUTPUT).resolve()
    history = (args.history or default_history(args.results)).resolve()
    try:
        build_report(source, output, history, timeout=args.timeout)
    except ReportGeneratorError as exc:
        print(f"stet-conformance: report: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"stet-conformance: report written to {output} (history: {history})", file=sys.stderr)
    return EXIT_OK
