"""Selecting what runs: exact ids, node ids after --, a listing that sends nothing, typos named."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest
from cli_run import cli as run_cli

from stet_conformance.scenario.loader import load_all
from stet_conformance.shared.resources import scenarios_dir

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, cwd=ROOT)


def test_id_is_exact_where_k_is_a_substring() -> None:
    done = cli("run", "--id", "TRX-1", "--id", "BAL-2")
    assert done.returncode == 0, done.stdout[-2000:]
    others = len(load_all(sorted(scenarios_dir().glob("*.yaml")))) - 2
    assert f"2 passed, {others} deselected" in done.stdout
    listed = cli("run", "--list", "--id", "TRX-1").stdout.splitlines()
    assert [line.split()[0] for line in listed] == ["TRX-1"]


def test_a_node_id_after_the_separator_runs_that_scenario_only() -> None:
    done = cli("run", "--", "scenarios/balances.yaml::BAL-2")
    assert done.returncode == 0, done.stdout[-2000:]
    assert "1 passed in" in done.stdout


def test_an_unknown_id_is_one_line_with_the_closest_ids_before_any_sandbox() -> None:
    done = cli("run", "--id", "TRX-99")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "stet-conformance: --id: no scenario or test with id TRX-99; closest: TRX-9, TRX-8, TRX-7"
    ]
    assert "bundled sandbox" not in done.stderr


def test_an_unknown_suite_test_name_is_refused_before_any_worker_starts() -> None:
    for workers in ([], ["-n", "2"]):  # with workers it was an xdist INTERNALERROR
        typo = "test_reversed_windows_are_refusd"
        done = cli("run", "--mode", "regression", "--id", typo, *workers)
        assert done.returncode == 2
        assert "closest: test_reversed_windows_are_refused" in done.stderr
        assert "INTERNALERROR" not in done.stdout + done.stderr


def test_list_shows_ids_titles_and_places_and_starts_nothing() -> None:
    done = cli("run", "--list")
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert len(lines) >= 73
    assert any(line.startswith("BAL-2 ") and "balances.yaml:" in line for line in lines)
    assert "bundled sandbox" not in done.stderr
    with_suites = cli("run", "--collect-only", "--mode", "regression").stdout
    assert "test_reversed_windows_are_refused" in with_suites


def test_an_unknown_option_shows_the_command_usage_and_where_pytest_options_go() -> None:
    done = cli("run", "--bogus")
    assert done.returncode == 2
    assert "usage: stet-conformance run" in done.stderr
    assert "unrecognized arguments: --bogus (pytest options go after --" in done.stderr


SELECTIONS = (
    ["-k", "balances"],
    ["-m", "hal"],
    ["-k", "BAL-2 or reversed_windows", "--mode", "regression"],
)


def listed_ids(*selection: str) -> list[str]:
    done = cli("run", "--list", *selection)
    assert done.returncode == 0 and not done.stderr, done.stderr
    return [line.split()[0] for line in done.stdout.splitlines()]


def run_ids(junit: Path) -> list[str]:
    """The tests a run executed, from its JUnit XML (a suite test's parameters dropped)."""
    cases = ElementTree.parse(junit).getroot().iter("testcase")
    return sorted({case.attrib["name"].split("[")[0] for case in cases})


@pytest.mark.parametrize("selection", SELECTIONS, ids=lambda s: " ".join(s))
def test_list_with_k_or_m_lists_exactly_what_a_run_with_them_runs(
    selection: list[str], tmp_path: Path
) -> None:
    listed = listed_ids(*selection)
    junit = tmp_path / "junit.xml"
    # -n 0: no worker per core for the suites; workers do not change what runs.
    done = cli("run", *selection, "-n", "0", "--junitxml", str(junit))
    assert done.returncode == 0, done.stdout[-2000:]
    assert sorted(listed) == run_ids(junit)
    assert 0 < len(listed) < len(listed_ids()) and len(set(listed)) == len(listed)


# Started before the CLI: any socket (the bundled sandbox's, a connection to a target) or
# process ends the CLI with exit 97 and the event's name.
AUDITED = """
import os, runpy, sys
def refuse(event, args):
    if event in ("socket.__new__", "socket.connect", "socket.bind", "subprocess.Popen"):
        os.write(2, f"audited: {event}\\n".encode())
        os._exit(97)
sys.addaudithook(refuse)
runpy.run_module("stet_conformance.cli", run_name="__main__", alter_sys=True)
"""


def audited(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", AUDITED, *args]
    return subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)


def test_list_and_matrix_with_k_or_m_open_no_socket_and_start_no_sandbox() -> None:
    assert audited("run", "--dry-run", "--id", "BAL-2").returncode == 97  # sees a sandbox
    for command in ("--list", "--matrix"):
        done = audited("run", command, "-k", "balances", "-m", "not hal", "--mode", "regression")
        assert done.returncode == 0 and not done.stderr, done.stderr
        assert "BAL-2" in done.stdout and "RUL-HAL-BALANCES" not in done.stdout


def test_list_of_a_selection_that_matches_nothing_exits_like_such_a_run() -> None:
    done = cli("run", "--list", "-k", "no-such-scenario")
    assert done.returncode == 2 and not done.stdout
    assert done.stderr == "stet-conformance: no scenario matched the selection\n"


def test_matrix_with_k_shows_only_the_cells_of_the_selected_tests() -> None:
    done = cli("run", "--matrix", "-k", "BAL-2")
    assert done.returncode == 0, done.stderr
    covered = [line for line in done.stdout.splitlines() if " x " in line and ": n/a" not in line]
    named = {line.split(": ", 1)[1] for line in covered} - {"EMPTY"}
    assert named == {"BAL-2"}
