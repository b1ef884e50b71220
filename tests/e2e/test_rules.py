"""The rule scenarios (scenarios/rules.yaml) as a user runs them against the bundled sandbox: a
request without the QWAC is refused in the handshake (a pass, shown in the report), and the
sandbox faults that break mTLS and HAL self links fail exactly their scenarios."""

from __future__ import annotations

from pathlib import Path

from cli_run import cli

IDS = ("--id", "RUL-MTLS-BALANCES", "--id", "RUL-MTLS-TOKEN", "--id", "RUL-HAL-BALANCES")


def test_a_conformant_bank_refuses_without_the_qwac_in_the_handshake(tmp_path: Path) -> None:
    done = cli("run", *IDS, "--results", str(tmp_path / "results"))
    assert done.returncode == 0, done.stdout[-3000:]
    assert "3 passed" in done.stdout
    steps = " ".join(p.read_text() for p in (tmp_path / "results" / "allure").glob("*-result.json"))
    assert steps.count("refused at the TLS layer") == 4  # two steps in each RUL-MTLS scenario


def test_faults_of_mtls_and_self_links_fail_their_scenarios(tmp_path: Path) -> None:
    for fault, failed in (
        ("mtls-optional-on-balances", "RUL-MTLS-BALANCES"),
        ("self-href-wrong", "RUL-HAL-BALANCES"),
    ):
        done = cli("run", *IDS, "--fault", fault, "--results", str(tmp_path / fault))
        assert done.returncode == 1, done.stdout[-3000:]
        assert f"FAILED scenarios/rules.yaml::{failed} " in done.stdout
        assert "1 failed, 2 passed" in done.stdout
