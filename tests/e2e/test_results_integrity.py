"""A results directory is one finished run, or nothing: never two runs, never half a run.

Adding a run to a directory that held one made the report show both as retries and the evidence
pack seal both, while run.json described the last; after Ctrl-C the interrupted scenario was
recorded as passed; a file given as the results directory gave an INTERNALERROR traceback.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from cli_run import cli, cli_command

pytest_plugins = ["pytester"]


def allure_statuses(results: Path) -> dict[str, dict[str, Any]]:
    """Scenario id -> its Allure result."""
    found = {}
    for path in (results / "allure").glob("*-result.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        found[data["name"].split(":")[0]] = data
    return found


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A finished run of one scenario against a bundled sandbox: (results, its profile)."""
    root = tmp_path_factory.mktemp("finished")
    done = cli(
        "run", "--results", str(root / "run"), "--sandbox-dir", str(root / "sb"), "-k", "ACC-1"
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return root / "run", root / "sb" / "profile.yaml"


# --- item 13 and 15: refused before anything is written ------------------------------------------


@pytest.mark.parametrize(
    ("layout", "options", "message"),
    [
        (
            {"results/old-run.json": "{}"},
            ["--results", "{tmp}/results"],
            "--results {tmp}/results: the directory is not empty; a results directory holds "
            "exactly one run, so give a new or empty one",
        ),
        (
            {"results": "a file"},
            ["--results", "{tmp}/results"],
            "--results {tmp}/results: is a file, not a directory",
        ),
        (
            {"results": "a file"},
            ["--results", "{tmp}/results/run-1"],
            "--results {tmp}/results/run-1: {tmp}/results is a file, not a directory",
        ),
        (
            {"allure": "a file"},
            ["--alluredir", "{tmp}/allure"],
            "--alluredir {tmp}/allure: is a file, not a directory",
        ),
        (
            {},
            ["--results", "{tmp}/results", "--junitxml", "{tmp}/junit.xml"],
            "--results DIR writes DIR/junit.xml and DIR/allure/ itself; leave out --junitxml "
            "and --alluredir",
        ),
        (
            {},
            ["--results", "{tmp}/results", "--alluredir", "{tmp}/allure"],
            "--results DIR writes DIR/junit.xml and DIR/allure/ itself; leave out --junitxml "
            "and --alluredir",
        ),
    ],
    ids=[
        "not-empty",
        "a-file",
        "under-a-file",
        "alluredir-a-file",
        "with-junitxml",
        "with-alluredir",
    ],
)
def test_run_refuses_outputs_that_would_not_be_one_run(
    tmp_path: Path, layout: dict[str, str], options: list[str], message: str
) -> None:
    for name, text in layout.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    before = sorted(tmp_path.rglob("*"))
    done = cli("run", *(option.format(tmp=tmp_path) for option in options), "-k", "ACC-1")
    assert done.returncode == 2
    assert done.stderr == f"stet-conformance: {message.format(tmp=tmp_path)}\n"
    assert "INTERNALERROR" not in done.stdout
    assert sorted(tmp_path.rglob("*")) == before  # nothing written, nothing started


def test_several_targets_refuse_a_non_empty_root(tmp_path: Path) -> None:
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "matrix.txt").write_text("an earlier run\n", encoding="utf-8")
    targets = ["--target", f"{tmp_path}/a.yaml", "--target", f"{tmp_path}/b.yaml"]
    done = cli("run", *targets, "--results", f"{tmp_path}/results")
    assert done.returncode == 2
    assert "the directory is not empty" in done.stderr and done.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("layout", "options", "message"),
    [
        ({"out/x": "x"}, ["--stet-results=out"], "--stet-results out: the directory is not empty"),
        ({"out": "x"}, ["--stet-results=out"], "--stet-results out: is a file, not a directory"),
        ({"al": "x"}, ["--alluredir=al"], "--alluredir al: is a file, not a directory"),
        ({}, ["--stet-results=out", "--junitxml=j.xml"], "--stet-results DIR writes DIR/junit"),
    ],
    ids=["not-empty", "a-file", "alluredir-a-file", "with-junitxml"],
)
def test_plain_pytest_refuses_them_too(
    pytester: pytest.Pytester, layout: dict[str, str], options: list[str], message: str
) -> None:
    for name, text in layout.items():
        (pytester.path / name).parent.mkdir(parents=True, exist_ok=True)
        (pytester.path / name).write_text(text, encoding="utf-8")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *options)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert f"ERROR: {message}" in result.stderr.str()
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


# --- item 14: an interrupted run is recorded as interrupted, and not sealed ----------------------


def test_ctrl_c_records_an_interrupted_run_that_evidence_refuses(tmp_path: Path) -> None:
    results, sandbox_dir = tmp_path / "run", tmp_path / "sb"
    command = cli_command(
        *("run", "--results", str(results), "--sandbox-dir", str(sandbox_dir)),
        *("--fault", "identity-hangs", "-k", "ACC-1 or IDN-1"),
    )
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:
        assert process.stdout is not None
        seen = ""
        while "identity.yaml" not in seen:  # IDN-1 started: its request hangs for 5 s
            char = process.stdout.read(1)
            assert char, seen[-2000:]
            seen += char
        time.sleep(1)  # well inside the request, well before its 5 s read timeout
        process.send_signal(signal.SIGINT)
        seen += process.stdout.read()
        assert process.wait(timeout=60) == 130, seen[-2000:]
    run = json.loads((results / "run.json").read_text(encoding="utf-8"))
    assert run["exit_status"] == 130
    assert run["interrupted"] is True
    assert run["interrupted_scenarios"] == ["IDN-1"]
    assert run["counts"]["passed"] == 1
    statuses = allure_statuses(results)
    assert statuses["ACC-1"]["status"] == "passed"
    assert statuses["IDN-1"]["status"] == "unknown"
    assert statuses["IDN-1"]["statusDetails"]["message"].startswith("interrupted (Ctrl-C)")

    done = cli("evidence", "build", str(results), "--target", str(sandbox_dir / "profile.yaml"))
    assert done.returncode == 2
    assert done.stderr == (
        f"stet-conformance: {results}: the run was interrupted (run.json); an evidence pack seals "
        "a finished run only: run it again with --results NEW_DIR\n"
    )
    assert not (tmp_path / "run-evidence.zip").exists()


def test_evidence_refuses_a_directory_holding_another_runs_results(
    finished: tuple[Path, Path], tmp_path: Path
) -> None:
    results, profile = finished
    run = json.loads((results / "run.json").read_text(encoding="utf-8"))
    assert run["interrupted"] is False and len(run["allure_results"]) == 1
    sealed = cli(
        "evidence", "build", str(results), "--target", str(profile), "-o", f"{tmp_path}/ok.zip"
    )
    assert sealed.returncode == 0, sealed.stderr  # the finished run alone is sealed

    mixed = tmp_path / "mixed"
    shutil.copytree(results, mixed)
    (result,) = (mixed / "allure").glob("*-result.json")
    shutil.copy(result, mixed / "allure" / "0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d-result.json")
    done = cli("evidence", "build", str(mixed), "--target", str(profile))
    assert done.returncode == 2
    assert done.stderr == (
        f"stet-conformance: {mixed}: allure/ holds 2 test results and run.json lists 1: results "
        "of more than one run, or changed after it; an evidence pack seals exactly one run: run "
        "it again with --results NEW_DIR\n"
    )
    assert not (tmp_path / "mixed-evidence.zip").exists()
