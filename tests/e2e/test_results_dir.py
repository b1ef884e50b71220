"""``run --results DIR``: Allure labels and steps, categories, coverage, run.json, no secrets."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml
from cli_run import cli

from stet_conformance.report.coverage import PORTAL_ENDPOINTS, SEED_ROWS, STATUS_CLASSES


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One run with two faults: BAL-1 fails (bank defect), a 500 makes a scenario broken."""
    root = tmp_path_factory.mktemp("results")
    sandbox_dir = root / "sandbox"
    done = cli(
        *("run", "--results", str(root / "run"), "--sandbox-dir", str(sandbox_dir)),
        *("--fault", "balance-sign-dropped", "--fault", "offset-500"),
    )
    assert done.returncode == 1, done.stdout[-3000:]
    assert "STET coverage" in done.stdout
    assert "STET traceability matrix (operations x rules)" in done.stdout
    return root


def allure_results(results: Path) -> dict[str, dict[str, Any]]:
    by_id = {}
    for path in (results / "run" / "allure").glob("*-result.json"):
        data = json.loads(path.read_text())
        labels = {label["name"]: label["value"] for label in data["labels"]}
        by_id[labels["seed_id"]] = data
    return by_id


def test_layout(results: Path) -> None:
    names = {p.name for p in (results / "run").iterdir()}
    assert {
        "allure",
        "junit.xml",
        "coverage.json",
        "coverage.txt",
        "traceability.json",
        "traceability.txt",
        "run.json",
        "profile.yaml",
        "scenarios",
    } <= names
    assert {p.name for p in (results / "run" / "scenarios").iterdir()} >= {
        "accounts.yaml",
        "balances.yaml",
        "transactions.yaml",
    }


def test_allure_labels_steps_and_attachments(results: Path) -> None:
    data = allure_results(results)
    assert set(SEED_ROWS) <= set(data)
    bal1 = data["BAL-1"]
    labels = {label["name"]: label["value"] for label in bal1["labels"]}
    assert labels["epic"] == "AIS"
    assert labels["feature"] == "GET /accounts/{id}/balances"
    assert labels["story"].startswith("BAL-1 ")
    assert labels["severity"] == "critical"
    assert labels["target"] == "reference-sandbox"
    assert "Portal (seed): Get account balance, acceptance test 1" in bal1["description"]
    assert any(link["name"].startswith("STET:") for link in bal1["links"])
    (step,) = bal1["steps"]
    assert step["name"].startswith("request: GET /stet/psd2/v1.4.2/accounts/")
    assert step["status"] == "failed"
    attachments = {a["name"]: a["source"] for a in step["attachments"]}
    request = (results / "run" / "allure" / attachments["request"]).read_text()
    response = (results / "run" / "allure" / attachments["response"]).read_text()
    assert "> authorization: [REDACTED]" in request
    assert '"amount": "150.00"' in response


def test_failed_is_a_bank_defect_and_5xx_is_broken(results: Path) -> None:
    data = allure_results(results)
    assert data["BAL-1"]["status"] == "failed"
    assert "is positive, expected negative" in data["BAL-1"]["statusDetails"]["message"]
    assert data["TRX-FORMAT-COMPACT-OFFSET"]["status"] == "broken"
    assert "target broken" in data["TRX-FORMAT-COMPACT-OFFSET"]["statusDetails"]["message"]
    assert data["ACC-1"]["status"] == "passed"
    categories = json.loads((results / "run" / "allure" / "categories.json").read_text())
    assert [c["name"] for c in categories] == [
        "Bank defect (a check failed)",
        "Target state not restored (a cleanup step failed)",
        "Target down or misconfigured (TLS, timeout, 5xx)",
        "Harness configuration error",
    ]


def test_environment_properties(results: Path) -> None:
    text = (results / "run" / "allure" / "environment.properties").read_text()
    props = dict(line.split("=", 1) for line in text.splitlines())
    assert props["target"] == "reference-sandbox"
    assert props["stet_version"] == "1.4.2"
    assert props["base_url"].startswith("https://127.0.0.1:")
    assert {"bank_code", "harness_version", "mode", "hypothesis_seed"} <= set(props)


def test_junit_names_carry_seed_ids(results: Path) -> None:
    cases = {c.get("name") for c in ET.parse(results / "run" / "junit.xml").iter("testcase")}
    assert set(SEED_ROWS) <= cases


def test_coverage_and_run_json(results: Path) -> None:
    coverage = json.loads((results / "run" / "coverage.json").read_text())
    assert coverage["seed_rows"]["BAL-1"] == "failed"
    assert coverage["seed_rows"]["ACC-1"] == "passed"
    assert coverage["scenarios"]["TRX-FORMAT-COMPACT-OFFSET"] == "broken"
    assert set(coverage["endpoints"]) >= set(PORTAL_ENDPOINTS)
    assert "BAL-2" in coverage["endpoints"]["GET /accounts/{id}/balances"]
    assert {str(s) for s in STATUS_CLASSES} <= set(coverage["statuses"])
    assert "SEC-QUOTA-UNATTENDED" in coverage["statuses"]["429"]
    text = (results / "run" / "coverage.txt").read_text()
    assert "seed rows: 25/25 run, 24 passed" in text
    run = json.loads((results / "run" / "run.json").read_text())
    assert run["exit_status"] == 1
    assert run["counts"]["failed"] == 1 and run["counts"]["broken"] == 1
    assert run["target"]["name"] == "reference-sandbox"


def test_traceability_matrix_of_the_run(results: Path) -> None:
    """A cell is FAIL when a test covering it fails (BAL-1) or is broken, ok when all pass."""
    cells = json.loads((results / "run" / "traceability.json").read_text())["cells"]
    balances = cells["balances"]["request_id_echo"]
    assert balances["state"] == "FAIL" and balances["tests"]["BAL-1"] == "failed"
    assert cells["transactions"]["request_id_echo"]["state"] == "FAIL"  # a broken scenario
    assert cells["accounts"]["scope"] == {"state": "ok", "tests": {"ACC-2": "passed"}}
    assert cells["accounts"]["digest"]["state"] == "n/a"
    environment = (results / "run" / "allure" / "environment.properties").read_text()
    assert "matrix.accounts=mtls " in environment


def test_no_secret_anywhere_in_the_results(results: Path) -> None:
    profile = yaml.safe_load((results / "sandbox" / "profile.yaml").read_text())
    secrets = [
        token
        for persona in profile["personas"].values()
        for table in persona.values()
        for value in table.values()
        for token in (value if isinstance(value, list) else [value])  # disposable: a list
    ]
    key = (results / "sandbox" / "pki" / "qseal.key").read_text().splitlines()[1]
    blobs = [p.read_bytes() for p in (results / "run").rglob("*") if p.is_file()]
    assert len(blobs) > 50
    for secret in [*secrets, key]:
        assert not any(secret.encode() in blob for blob in blobs), secret[:6]
    assert b"[REDACTED]" in (results / "run" / "profile.yaml").read_bytes()
