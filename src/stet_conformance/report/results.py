"""The layout of a results directory, written by ``stet-conformance run --results DIR``.

Everything a reader of a run needs, in one place: the Allure results, the JUnit XML, the coverage
summary, a description of the run, and the target profile with its secrets removed. ``report``
and ``evidence`` read it; nothing in it contains a token, key or signature value.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ALLURE_DIR = "allure"
JUNIT_FILE = "junit.xml"
COVERAGE_JSON = "coverage.json"
COVERAGE_TEXT = "coverage.txt"
RUN_FILE = "run.json"  # harness version, target, mode, times, counts, scenario files
PROFILE_FILE = "profile.yaml"  # the target profile, secrets replaced by [REDACTED]
SCENARIOS_DIR = "scenarios"  # copies of the scenario files that ran


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
    def run(self) -> Path:
        return self.root / RUN_FILE

    @property
    def profile(self) -> Path:
        return self.root / PROFILE_FILE

    @property
    def scenarios(self) -> Path:
        return self.root / SCENARIOS_DIR
