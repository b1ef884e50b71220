"""The shipped examples: CI pipelines parse and do what the README says, profiles load."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from stet_conformance.config.profile import load_profile
from stet_conformance.sandbox.server import SandboxServer
from stet_conformance.shared import cavage

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_github_nightly_pipeline() -> None:
    data = yaml.safe_load((EXAMPLES / "ci" / "github-nightly.yml").read_text(encoding="utf-8"))
    triggers = data[True]  # YAML 1.1 reads the key `on` as a boolean
    assert triggers["schedule"][0]["cron"]
    job = data["jobs"]["conformance"]
    assert job["strategy"]["fail-fast"] is False
    assert len(job["strategy"]["matrix"]["include"]) >= 2
    text = yaml.safe_dump(job)
    for needed in (
        "stet-conformance doctor",
        "stet-conformance run",
        "junit.xml",
        "allure-history.jsonl",
        "upload-artifact",
        "secrets.",
    ):
        assert needed in text, needed
    for entry in job["strategy"]["matrix"]["include"]:
        assert (EXAMPLES.parent / entry["profile"]).is_file()


def test_gitlab_nightly_pipeline() -> None:
    data = yaml.safe_load((EXAMPLES / "ci" / "gitlab-nightly.yml").read_text(encoding="utf-8"))
    job = data["stet-nightly"]
    assert {"if": '$CI_PIPELINE_SOURCE == "schedule"'} in job["rules"]
    assert len(job["parallel"]["matrix"]) >= 2
    assert job["artifacts"]["reports"]["junit"] == "$RESULTS/junit.xml"
    assert job["artifacts"]["when"] == "always"
    assert "allure-history" in job["cache"]["key"]
    assert any("stet-conformance run" in line for line in job["script"])
    for entry in job["parallel"]["matrix"]:
        assert (EXAMPLES.parent / entry["PROFILE"]).is_file()


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.yaml")))
def test_example_profiles_load(
    name: str, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cryptography import x509

    pki = sandbox.pki
    qseal = x509.load_pem_x509_certificate(pki.qseal_cert.read_bytes())
    for var, value in {
        "STET_QWAC_CERT": pki.qwac_cert,
        "STET_QWAC_KEY": pki.qwac_key,
        "STET_QSEAL_KEY": pki.qseal_key,
        "STET_QSEAL_KEY_ID": f"https://tpp.example/qseal_{cavage.fingerprint(qseal)}",
        "STET_CLIENT_ID": "PSDFR-ACPR-13807",
    }.items():
        monkeypatch.setenv(var, str(value))
    profile = load_profile(EXAMPLES / name)
    assert profile.base_url.endswith(".api.89C3.com")
