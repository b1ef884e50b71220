"""Selecting what runs: exact ids, node ids after --, a listing that sends nothing, typos named."""

from __future__ import annotations

import subprocess
from pathlib import Path

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


def test_list_refuses_k_and_m_rather_than_list_everything() -> None:
    """-k and -m select at run time: a list ignoring them would look like a selection."""
    for flag in ("-k", "-m"):
        done = cli("run", "--list", flag, "seed")
        assert done.returncode == 2
        assert "--list takes --id, not -k or -m" in done.stderr
        assert "--dry-run" in done.stderr and not done.stdout
