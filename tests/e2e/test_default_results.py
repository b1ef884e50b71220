"""``run`` without ``--results``: a fresh results directory under reports/, and where it went."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
from pathlib import Path

import pytest
from cli_run import cli as run_cli

from stet_conformance.errors import UsageError
from stet_conformance.report.results import REPORTS_ENV, latest_results, new_results_dir

RUN_DIR = re.compile(r"run-\d{8}-\d{6}(-\d+)?")


def cli(cwd: Path, reports: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, cwd=cwd, env={REPORTS_ENV: str(reports)})


def test_run_writes_a_new_results_directory_each_time_and_says_where(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    names = []
    for _ in range(2):
        done = cli(tmp_path, reports, "run", "-k", "BAL-1")
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr
        new = sorted({p.name for p in reports.iterdir()} - set(names))
        assert len(new) == 1 and RUN_DIR.fullmatch(new[0]), new
        names += new
        results = f"reports/{new[0]}"  # relative: below the working directory
        assert done.stderr.splitlines()[-1] == (
            f"stet-conformance: results in {results}; report: stet-conformance report {results}"
        )
        assert {"run.json", "junit.xml", "allure", "coverage.json"} <= {
            p.name for p in (reports / new[0]).iterdir()
        }


def test_explicit_results_are_announced_too(tmp_path: Path) -> None:
    done = cli(tmp_path, tmp_path / "reports", "run", "-k", "BAL-1", "--results", "mine")
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[-1] == (
        "stet-conformance: results in mine; report: stet-conformance report mine"
    )
    assert not (tmp_path / "reports").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["--dry-run", "-k", "BAL-1"],
        ["--list"],
        ["-k", "BAL-1", "--junitxml", "j.xml"],
        ["-k", "BAL-1", "--alluredir", "allure"],
        ["-k", "BAL-1", "--", "--junitxml=j.xml"],
        ["-k", "NO-SUCH-SCENARIO"],  # ran nothing: its directory is removed
        ["--target", "missing.yaml"],  # a usage error before pytest
    ],
    ids=["dry-run", "list", "junitxml", "alluredir", "pytest-junitxml", "nothing", "usage"],
)
def test_no_default_results_when_nothing_is_sent_or_outputs_are_chosen(
    tmp_path: Path, args: list[str]
) -> None:
    done = cli(tmp_path, tmp_path / "reports", "run", *args)
    assert done.returncode in (0, 2), done.stdout[-2000:] + done.stderr
    assert list((tmp_path / "reports").glob("*")) == []
    assert "results in" not in done.stderr


def test_a_new_directory_never_reuses_an_existing_one(tmp_path: Path) -> None:
    now = dt.datetime(2026, 12, 1, 23, 15, 0)
    (tmp_path / "run-20261201-231500").mkdir()  # empty, and still not reused
    (tmp_path / "run-20261201-231500-2").mkdir()
    (tmp_path / "run-20261201-231500-2" / "run.json").write_text("{}")
    assert new_results_dir(tmp_path, now).name == "run-20261201-231500-3"
    assert new_results_dir(tmp_path, now).name == "run-20261201-231500-4"
    assert new_results_dir(tmp_path / "new" / "root", now).is_dir()


def test_a_results_root_that_cannot_be_created_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(UsageError, match=r"cannot create a results directory in .*file.*--results"):
        new_results_dir(tmp_path / "file", dt.datetime.now())


def test_the_newest_finished_run_is_the_default_report(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no results directory in"):
        latest_results(tmp_path)
    for name in ("run-1", "run-2", "multi/bank-a"):
        (tmp_path / name).mkdir(parents=True)
        (tmp_path / name / "run.json").write_text("{}")
        os.utime(tmp_path / name / "run.json", (1000 + len(name), 1000 + len(name)))
    (tmp_path / "run-3").mkdir()  # no run.json: not a finished run
    assert latest_results(tmp_path) == tmp_path / "multi" / "bank-a"
