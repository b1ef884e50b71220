"""The layout of a results directory, written by ``stet-conformance run --results DIR``.

Everything a reader of a run needs, in one place: the Allure results, the JUnit XML, the coverage
summary, the traceability matrix, a description of the run, and the target profile with its
secrets removed. ``report`` and ``evidence`` read it; nothing in it contains a token, key or
signature value.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from stet_conformance.errors import UsageError
from stet_conformance.shared.resources import project_root

ALLURE_DIR = "allure"
ALLURE_RESULTS = "*-result.json"  # one per test, in ALLURE_DIR; run.json lists them
JUNIT_FILE = "junit.xml"
COVERAGE_JSON = "coverage.json"
COVERAGE_TEXT = "coverage.txt"
TRACEABILITY_JSON = "traceability.json"  # the operations x rules matrix (report/traceability.py)
TRACEABILITY_TEXT = "traceability.txt"
RUN_FILE = "run.json"  # harness version, target, mode, times, counts, scenario files
PROFILE_FILE = "profile.yaml"  # the target profile, secrets replaced by [REDACTED]
SCENARIOS_DIR = "scenarios"  # copies of the scenario files that ran
REPORTS_ENV = "STET_CONFORMANCE_REPORTS"  # where `run` creates its results directories
MATRIX_FILE = "matrix.txt"  # several targets: the scenario x target matrix, beside their dirs


@dataclass(frozen=True)
class ResultsDir:
    root: Path

    @property
    def allure(self) -> Path:
        return self.root / ALLURE_DIR

    @property
    def junit(self) -> Path:
        return self.root / JUNIT_FILE

    @property
    def coverage_json(self) -> Path:
        return self.root / COVERAGE_JSON

    @property
    def coverage_text(self) -> Path:
        return self.root / COVERAGE_TEXT

    @property
    def traceability_json(self) -> Path:
        return self.root / TRACEABILITY_JSON

    @property
    def traceability_text(self) -> Path:
        return self.root / TRACEABILITY_TEXT

    @property
    def run(self) -> Path:
        return self.root / RUN_FILE

    @property
    def profile(self) -> Path:
        return self.root / PROFILE_FILE

    @property
    def scenarios(self) -> Path:
        return self.root / SCENARIOS_DIR


def check_outputs(
    results: Path | None, junitxml: str | None, alluredir: str | None, option: str
) -> None:
    """Refuse, before anything is written, outputs that would make an unusable results directory.

    A results directory holds one run: a second run added to it showed as retries in the report,
    was sealed into the same evidence pack, and run.json described only the last. Its JUnit XML
    and Allure results must be inside it, or ``report`` and ``evidence build`` refuse it.
    ``option`` is how the caller spells the results option (``--results``, ``--stet-results``).
    """
    if alluredir:
        _check_directory(Path(alluredir), "--alluredir")
    if results is None:
        return
    if junitxml or alluredir:
        raise UsageError(
            f"{option} DIR writes DIR/{JUNIT_FILE} and DIR/{ALLURE_DIR}/ itself; "
            "leave out --junitxml and --alluredir"
        )
    _check_directory(results, option)
    if results.is_dir() and any(results.iterdir()):
        raise UsageError(
            f"{option} {results}: the directory is not empty; a results directory holds exactly "
            "one run, so give a new or empty one"
        )


def _check_directory(path: Path, option: str) -> None:
    """``path`` is, or can be created as, a directory."""
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir():
        which = "" if existing == path else f"{existing} "
        raise UsageError(f"{option} {path}: {which}is a file, not a directory")


def reports_root() -> Path:
    """Where ``run`` puts a results directory by default: ``reports/`` of the project, or
    ``$STET_CONFORMANCE_REPORTS`` (the harness's own tests keep the checkout clean with it)."""
    env = os.environ.get(REPORTS_ENV)
    return Path(env) if env else project_root() / "reports"


def new_results_dir(root: Path, now: dt.datetime) -> Path:
    """Create ``root/run-YYYYMMDD-HHMMSS`` (``-2``, ``-3``... when taken) and return it.

    It is created here, so two runs started in the same second never share one, and an
    existing directory is never reused, empty or not.
    """
    base = now.strftime("run-%Y%m%d-%H%M%S")
    candidate, n = root / base, 2
    try:
        root.mkdir(parents=True, exist_ok=True)
        while True:
            try:
                candidate.mkdir()
                return candidate
            except FileExistsError:
                candidate, n = root / f"{base}-{n}", n + 1
    except OSError as exc:
        raise UsageError(
            f"cannot create a results directory in {root} ({exc.strerror}); "
            f"give one with --results DIR or set {REPORTS_ENV}"
        ) from None


def latest_results(root: Path) -> Path:
    """The results directory of the newest finished run in ``root`` (``report`` without one)."""
    found = [*root.glob(f"*/{RUN_FILE}"), *root.glob(f"*/*/{RUN_FILE}")]  # */*: several targets
    runs = [p.parent for p in found]
    if not runs:
        raise UsageError(
            f"no results directory in {root}; run `stet-conformance run` first, or name one: "
            "stet-conformance report RESULTS_DIR"
        )
    return max(runs, key=lambda p: ((p / RUN_FILE).stat().st_mtime, p.name))
