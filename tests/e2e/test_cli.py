"""The CLI as a user runs it: exit codes, messages, the bundled sandbox, no secrets in output."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from cli_run import cli, cli_command

from stet_conformance.sandbox.server import SandboxServer

ROOT = Path(__file__).resolve().parents[2]
SEED_IDS = (
    [f"ACC-{i}" for i in range(1, 4)]
    + [f"CON-{i}" for i in range(1, 4)]
    + [f"BAL-{i}" for i in range(1, 7)]
    + [f"TRX-{i}" for i in range(1, 12)]
    + ["IDN-1", "IDN-2"]
)


def junit_cases(path: Path) -> dict[str, str]:
    """Scenario id -> outcome (passed, failed, skipped) from a JUnit XML file."""
    outcomes = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            outcomes[case.get("name", "")] = "failed"
        elif case.find("skipped") is not None:
            outcomes[case.get("name", "")] = "skipped"
        else:
            outcomes[case.get("name", "")] = "passed"
    return outcomes


def closed_port() -> int:
    """A loopback port with nothing listening on it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_run_against_bundled_sandbox_passes_all_25_seed_ids(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    done = cli("run", "--junitxml", str(junit))
    assert done.returncode == 0, done.stdout[-3000:]
    outcomes = junit_cases(junit)
    assert len(SEED_IDS) == 25
    assert {i: outcomes.get(i) for i in SEED_IDS} == dict.fromkeys(SEED_IDS, "passed")
    # SEC-REPLAY runs only where the bank promises replay protection; the portal's bank does not.
    assert {k: v for k, v in outcomes.items() if v != "passed"} == {"SEC-REPLAY": "skipped"}


def test_run_with_two_workers(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    done = cli("run", "-n", "2", "--junitxml", str(junit))
    assert done.returncode == 0, done.stdout[-3000:]
    outcomes = junit_cases(junit)
    assert {k: v for k, v in outcomes.items() if v != "passed"} == {"SEC-REPLAY": "skipped"}
    assert len(outcomes) >= 40


def test_failing_scenario_exits_1_points_at_yaml_and_hides_secrets(tmp_path: Path) -> None:
    done = cli("run", "--fault", "balance-sign-dropped", "-k", "BAL-1")
    assert done.returncode == 1
    assert re.search(r"balances\.yaml:\d+", done.stdout)
    assert "sign: #0: '150.00' is positive, expected negative" in done.stdout
    assert "authorization: [REDACTED]" in done.stdout
    assert "signature: [REDACTED]" in done.stdout
    assert "Bearer " not in done.stdout


def test_a_consent_the_cleanup_cannot_restore_is_broken_not_a_defect(tmp_path: Path) -> None:
    """CON-REVOKE's steps pass at a bank that then refuses every consent: its cleanup fails,
    so the test is broken (target state not restored) and the run exits 1."""
    results = tmp_path / "results"
    done = cli(
        "run", "--fault", "consent-revoke-final", "--id", "CON-REVOKE", "--results", str(results)
    )
    assert done.returncode == 1, done.stdout[-3000:]
    assert 'target state not restored: cleanup step "restore TECHNCO\'s consent"' in done.stdout
    counts = json.loads((results / "run.json").read_text(encoding="utf-8"))["counts"]
    assert (counts["broken"], counts["failed"], counts["passed"]) == (1, 0, 0)


def test_tokens_never_appear_in_output_or_junit(sandbox: SandboxServer, tmp_path: Path) -> None:
    profile = yaml.safe_load(Path(sandbox.profile_path).read_text())
    secrets = [
        token
        for persona in profile["personas"].values()
        for table in persona.values()
        for value in table.values()
        for token in (value if isinstance(value, list) else [value])  # disposable: a list
    ]
    junit = tmp_path / "junit.xml"
    # Every scenario fails on a missing X-Request-ID echo, so every exchange is printed.
    with SandboxServer(tmp_path / "sb", ["request-id-not-echoed"]) as broken:
        done = cli("run", "--target", str(broken.profile_path), "--junitxml", str(junit))
        broken_profile = yaml.safe_load(Path(broken.profile_path).read_text())
    secrets += [
        token
        for persona in broken_profile["personas"].values()
        for table in persona.values()
        for value in table.values()
        for token in (value if isinstance(value, list) else [value])  # disposable: a list
    ]
    assert done.returncode == 1
    text = done.stdout + done.stderr + junit.read_text()
    assert "[REDACTED]" in text
    leaked = [s for s in secrets if s in text]
    assert leaked == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--target", "{tmp}/missing/profile.yaml"], "target profile not found"),
        (["run", "--fault", "no-such-fault"], "--fault: unknown sandbox fault(s): no-such-fault;"),
        (["run", "-k", "NO-SUCH-SCENARIO"], "no scenario matched"),
        (["run", "--scenarios", "{tmp}/missing"], "--scenarios: not a directory"),
        (["selftest", "--fault", "nope"], "--fault: unknown sandbox fault(s): nope;"),
        (["run", "--variant", "nope"], "--variant: unknown sandbox variant(s): nope; valid:"),
        (["selftest", "--variant", "x"], "--variant: unknown sandbox variant(s): x; valid:"),
        (["sandbox", "--variant", "x"], "--variant: unknown sandbox variant(s): x; valid:"),
        (
            ["run", "--target", "{tmp}/p.yaml", "--variant", "data"],
            "--fault, --variant, --sandbox-dir and --latency-ms only apply to the bundled",
        ),
        (
            ["run", "--target", "{tmp}/p.yaml", "--latency-ms", "20"],
            "--latency-ms only apply to the bundled sandbox (no --target)",
        ),
        (
            ["sandbox", "--latency-ms", "-5"],
            "argument --latency-ms: not a number of milliseconds >= 0: '-5'",
        ),
        (["sandbox", "--host", "0.0.0.0"], "only listens on loopback"),
        (["run", "--mode", "weekly"], "argument --mode: invalid choice: 'weekly'"),
    ],
)
def test_usage_errors_exit_2_with_one_line(args: list[str], message: str, tmp_path: Path) -> None:
    done = cli(*(arg.replace("{tmp}", str(tmp_path)) for arg in args))
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_bad_profile_names_file_and_line(tmp_path: Path) -> None:
    profile = tmp_path / "bank.yaml"
    profile.write_text("name: x\nbase_url: http://bank.example\nsigning: {key: k, key_id: y}\n")
    done = cli("run", "--target", str(profile))
    assert done.returncode == 2
    assert f"{profile}:2: base_url" in done.stderr
    assert "Traceback" not in done.stderr


def test_bad_scenario_file_exits_2_naming_file_and_line(tmp_path: Path) -> None:
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    (scenarios / "broken.yaml").write_text(
        "- id: X-1\n  title: t\n  request: {method: GET, path: /accounts}\n"
        "  expect: {status: 200, colour: blue}\n"
    )
    done = cli("run", "--scenarios", str(scenarios))
    assert done.returncode == 2
    assert f"{scenarios / 'broken.yaml'}:4" in done.stderr
    assert "unknown key" in done.stderr


def test_yaml_alias_bombs_exit_2_naming_file_and_line(tmp_path: Path) -> None:
    laughs = ["- l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"] + [
        f"- l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]" for n in range(1, 5)
    ]
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    (scenarios / "bomb.yaml").write_text("\n".join(laughs) + "\n")
    done = cli("run", "--scenarios", str(scenarios))
    assert done.returncode == 2
    assert f"{scenarios / 'bomb.yaml'}:5: YAML aliases expand this scenario file" in done.stderr
    assert "Traceback" not in done.stderr


def _unreachable_profile(sandbox: SandboxServer) -> Path:
    text = Path(sandbox.profile_path).read_text().replace(str(sandbox.port), str(closed_port()))
    profile = Path(sandbox.profile_path).parent / "unreachable.yaml"
    profile.write_text(text)
    return profile


STOPPED = "stopped at the first connection failure (cannot connect to https://127.0.0.1:"


def _reported(output: str, text: str) -> int:
    """How many failure reports hold ``text``; not the short summary, which repeats them in full
    when the CI variable is set."""
    reports = output.split("short test summary info")[0]
    return reports.count(text)


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_a_stopped_server_is_one_broken_scenario_and_one_line_not_72(
    sandbox: SandboxServer, tmp_path: Path, workers: list[str]
) -> None:
    results = tmp_path / "results"
    done = cli(
        "run", "--target", str(_unreachable_profile(sandbox)), "--results", str(results), *workers
    )
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr
    broken = _reported(done.stdout, "target broken: cannot connect to https://127.0.0.1:")
    assert 1 <= broken <= len(workers or ["one"]), done.stdout  # one per worker at most
    assert done.stdout.count(STOPPED) == 1
    assert "run --keep-going" in done.stdout
    assert "Traceback" not in done.stdout
    run = json.loads((results / "run.json").read_text())
    assert run["exit_status"] == 1 and not run["interrupted"]  # stopped, not interrupted


def test_keep_going_runs_every_scenario_against_a_stopped_server(sandbox: SandboxServer) -> None:
    profile = _unreachable_profile(sandbox)
    done = cli("run", "--target", str(profile), "--keep-going", "-k", "ACC-1 or BAL-1")
    assert done.returncode == 1
    assert _reported(done.stdout, "target broken: cannot connect to https://127.0.0.1:") == 2
    assert STOPPED not in done.stdout


def test_sandbox_command_serves_and_writes_a_profile(tmp_path: Path) -> None:
    directory = tmp_path / "sb"
    command = cli_command("sandbox", "--dir", str(directory))
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            assert "sandbox listening on https://127.0.0.1:" in line
            profile = directory / "profile.yaml"
            assert profile.stat().st_mode & 0o777 == 0o600
            done = cli("run", "--target", str(profile), "-m", "seed")
            assert done.returncode == 0, done.stdout[-2000:]
            assert "25 passed" in done.stdout
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=20)


def test_run_with_a_variant_passes_against_another_bank_shape(tmp_path: Path) -> None:
    """The bundled sandbox with persona data of another shape: the scenarios read the profile."""
    junit = tmp_path / "junit.xml"
    done = cli("run", "--variant", "data", "--junitxml", str(junit), "-k", "ACC or CON or TRX")
    assert done.returncode == 0, done.stdout[-3000:]
    assert set(junit_cases(junit).values()) == {"passed"}


def test_list_variants() -> None:
    done = cli("sandbox", "--list-variants")
    assert done.returncode == 0
    names = [line.split()[0] for line in done.stdout.strip().splitlines()]
    assert names == ["choices", "data"]


def test_list_faults_documents_at_least_30() -> None:
    done = cli("sandbox", "--list-faults")
    assert done.returncode == 0
    lines = done.stdout.strip().splitlines()
    assert len(lines) >= 30
    assert all(re.match(r"^[a-z0-9-]+ +\S", line) for line in lines)


def test_collect_only_lists_ids_without_secrets_or_network(sandbox: SandboxServer) -> None:
    profile = yaml.safe_load(Path(sandbox.profile_path).read_text())
    secrets = [
        token
        for persona in profile["personas"].values()
        for table in persona.values()
        for value in table.values()
        for token in (value if isinstance(value, list) else [value])  # disposable: a list
    ]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "scenarios",
            f"--stet-target={sandbox.profile_path}",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout[-2000:]
    assert "scenarios/balances.yaml::BAL-1" in done.stdout
    assert not [s for s in secrets if s in done.stdout + done.stderr]
