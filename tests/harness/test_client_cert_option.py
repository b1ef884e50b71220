"""``client_cert: none | untrusted``: a request without the QWAC, refused at the TLS layer or with
401/403 (a pass), served (a failure), or not sent at all because the target is down (the run's
stop, never a pass). Real TLS on loopback: the bundled sandbox refuses in the handshake."""

from __future__ import annotations

import dataclasses
import shutil
import socket
import stat
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509

from stet_conformance.checks.schemas import default_store
from stet_conformance.config.profile import Profile, load_profile
from stet_conformance.http.bounded import TransportError, Unreachable
from stet_conformance.http.client import StetClient
from stet_conformance.http.redact import Redactor
from stet_conformance.http.tls import write_impostor
from stet_conformance.sandbox.server import SandboxServer
from stet_conformance.scenario.loader import load_file
from stet_conformance.scenario.model import Scenario
from stet_conformance.scenario.runner import RunContext, StepResult, plan_scenario, run_scenario

BALANCES = """
- id: X-MTLS
  title: t
  persona: LEA
  endpoint: GET /accounts/{id}/balances
  covers: [mtls]
  steps:
    - name: no client certificate
      request:
        method: GET
        path: "/accounts/{{ account('LEA', 'balances').resource_id }}/balances"
        client_cert: none
      expect: {status: [401, 403]}
    - name: an untrusted client certificate
      request:
        method: GET
        path: "/accounts/{{ account('LEA', 'balances').resource_id }}/balances"
        client_cert: untrusted
      expect: {status: [401, 403]}
"""


def _scenario(tmp_path: Path, text: str) -> Scenario:
    path = tmp_path / "x.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    (loaded,) = load_file(path)
    return loaded


def _run(profile: Profile, scenario: Scenario) -> list[StepResult]:
    client = StetClient.for_profile(profile, Redactor())
    try:
        return run_scenario(scenario, RunContext(profile, client, default_store()))
    finally:
        client.close()


@pytest.fixture
def optional_mtls(sandbox: SandboxServer, tmp_path: Path) -> Iterator[SandboxServer]:
    """A sandbox whose TLS layer does not require a client certificate (and serves balances)."""
    shutil.copytree(sandbox.pki.directory, tmp_path / "faulty" / "pki")
    with SandboxServer(tmp_path / "faulty", ["mtls-optional-on-balances"]) as server:
        yield server


def test_a_handshake_refused_without_the_qwac_passes_the_step(
    sandbox_profile: Path, tmp_path: Path
) -> None:
    results = _run(load_profile(sandbox_profile), _scenario(tmp_path, BALANCES))
    assert [(r.exchange, r.failures) for r in results] == [(None, []), (None, [])]
    assert all("closed the connection" in r.refused for r in results)


def test_an_answer_without_the_qwac_is_checked(
    optional_mtls: SandboxServer, tmp_path: Path
) -> None:
    profile = load_profile(optional_mtls.profile_path)
    (served,) = _run(profile, _scenario(tmp_path, BALANCES))  # the first step fails: no more
    assert served.exchange is not None and served.exchange.status == 200
    assert ([f.check for f in served.failures], served.refused) == (["status"], "")
    accounts = BALANCES.replace(
        "\"/accounts/{{ account('LEA', 'balances').resource_id }}/balances\"", "/accounts"
    )
    refused, impostor = _run(profile, _scenario(tmp_path, accounts))
    assert refused.exchange is not None and refused.exchange.status == 401  # an HTTP refusal
    assert (refused.failures, refused.refused) == ([], "")
    assert impostor.exchange is None and impostor.refused  # no CA issued it: the handshake fails


def test_a_target_that_is_down_is_unreachable_not_a_refusal(
    sandbox_profile: Path, tmp_path: Path
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed once the block ends: nothing listens there
    profile = load_profile(sandbox_profile)
    down = dataclasses.replace(profile, base_url=f"https://127.0.0.1:{port}")
    with pytest.raises(Unreachable):
        _run(down, _scenario(tmp_path, BALANCES))


def test_the_dry_run_plan_names_the_missing_qwac(sandbox_profile: Path, tmp_path: Path) -> None:
    plan = plan_scenario(_scenario(tmp_path, BALANCES), load_profile(sandbox_profile))
    assert "no client certificate" in plan[0]
    assert "an untrusted client certificate" in plan[1]


def test_the_untrusted_certificate_names_the_qwac_and_no_ca(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    cert_path, key_path = write_impostor(tmp_path, sandbox.pki.qwac_cert)
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    qwac = x509.load_pem_x509_certificate(sandbox.pki.qwac_cert.read_bytes())
    assert cert.subject == qwac.subject  # an impostor of the TPP's name ...
    assert cert.issuer == cert.subject != qwac.issuer  # ... that no CA issued
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    unreadable, _ = write_impostor(tmp_path, tmp_path / "missing.pem")
    generic = x509.load_pem_x509_certificate(unreadable.read_bytes()).subject
    assert "stet-conformance untrusted" in generic.rfc4514_string()


OTHER_TPP = """
- id: X-OTHER-TPP
  title: t
  persona: LEA
  endpoint: GET /accounts
  steps:
    - name: another TPP's QWAC is refused
      request: {method: GET, path: /accounts, tpp: other}
      expect: {status: [401, 403]}
"""


def test_another_tpps_qwac_refused_in_the_handshake_passes_a_refusal_step(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    profile = load_profile(sandbox.profile_path)
    assert profile.other_tpp is not None
    cert, key = write_impostor(tmp_path, profile.other_tpp.tls.client_cert or tmp_path)
    tls = dataclasses.replace(profile.other_tpp.tls, client_cert=cert, client_key=key)
    unenrolled = dataclasses.replace(
        profile, other_tpp=dataclasses.replace(profile.other_tpp, tls=tls)
    )  # a QWAC this bank's CA did not issue: the handshake refuses it
    (refused,) = _run(unenrolled, _scenario(tmp_path, OTHER_TPP))
    assert (refused.exchange, refused.failures) == (None, [])
    assert refused.refused
    served = OTHER_TPP.replace("[401, 403]", "200")  # no refusal expected: the error stands
    with pytest.raises(TransportError):
        _run(unenrolled, _scenario(tmp_path, served))
