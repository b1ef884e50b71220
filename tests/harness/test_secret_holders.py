"""Secrets stay out of what pytest and Hypothesis print, and out of a failed step's output.

A failing property-based test prints its arguments (Hypothesis prints dataclasses field by
field, whatever their ``__repr__``) and pytest prints function arguments in tracebacks, so every
object that holds a token or a passphrase must print without them. A step's captured secrets
(an authorization code, the fallback JWT, a token response's tokens) must be redacted even when
the step itself fails.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis.vendor.pretty import pretty

from stet_conformance.checks.schemas import default_store
from stet_conformance.config.profile import Profile, load_profile, read_document
from stet_conformance.config.token_store import AuthorizationCode, StoredToken
from stet_conformance.fuzz.session import FuzzSession
from stet_conformance.http.budget import RequestBudget
from stet_conformance.http.client import ClientSettings, StetClient
from stet_conformance.http.redact import REDACTED, Redactor
from stet_conformance.http.signing import RequestOptions
from stet_conformance.plugin.target import GivenProfile
from stet_conformance.scenario.loader import load_file
from stet_conformance.scenario.runner import RunContext, StepResult, run_scenario

PASSPHRASES = {
    "tls": "planted-qwac-passphrase-4b1e0c",
    "signing": "planted-qseal-passphrase-9d27aa",
    "other": "planted-other-passphrase-31f6d8",
}


def with_passphrases(profile: Profile) -> Profile:
    """``profile`` with a passphrase for each key, as a bank's profile has."""
    other = profile.other_tpp
    assert other is not None
    replace = dataclasses.replace
    return replace(
        profile,
        tls=replace(profile.tls, client_key_password=PASSPHRASES["tls"]),
        signing=replace(profile.signing, key_password=PASSPHRASES["signing"]),
        other_tpp=replace(other, tls=replace(other.tls, client_key_password=PASSPHRASES["other"])),
    )


@pytest.fixture
def run(sandbox_profile: Path) -> Iterator[RunContext]:
    """The run context of the sandbox's profile, with passphrases as a bank's profile has."""
    profile = with_passphrases(load_profile(sandbox_profile))
    client = StetClient.for_profile(profile, Redactor(profile.secrets()))
    try:
        yield RunContext(profile, client, default_store())
    finally:
        client.close()


def _holders(run: RunContext, sandbox_profile: Path) -> dict[str, object]:
    profile = run.profile
    token = profile.personas.credentials["LEA"].tokens["aisp"]
    assert profile.other_tpp is not None
    return {
        "profile": profile,
        "profile document": read_document(sandbox_profile),
        "tls settings": profile.tls,
        "signing settings": profile.signing,
        "second TPP": profile.other_tpp,
        "personas": profile.personas,
        "credentials": profile.personas.credentials["LEA"],
        "run context": run,
        "fuzz session": FuzzSession(run, RequestBudget(10, 10, 4), "regression"),
        "client settings": ClientSettings.of(profile),
        "client": run.client,
        "given profile": GivenProfile(profile),
        "request options": RequestOptions(token=token),
    }


HOLDERS = [
    "profile",
    "profile document",
    "tls settings",
    "signing settings",
    "second TPP",
    "personas",
    "credentials",
    "run context",
    "fuzz session",
    "client settings",
    "client",
    "given profile",
    "request options",
]


@pytest.mark.parametrize("name", HOLDERS)
def test_secret_holders_print_no_secret(run: RunContext, sandbox_profile: Path, name: str) -> None:
    secrets = run.profile.secrets()
    assert set(PASSPHRASES.values()) <= secrets
    assert len(secrets) > 30
    holder = _holders(run, sandbox_profile)[name]
    for text in (repr(holder), pretty(holder)):  # pytest tracebacks, Hypothesis examples
        assert [s[:10] for s in secrets if s in text] == []
        assert "\n" not in text


def test_stored_codes_and_tokens_print_no_secret() -> None:
    """What the token store holds (``login --codes``, ``login``) prints its times only."""
    now = dt.datetime.now(dt.UTC)
    code = AuthorizationCode("planted-code-0d2f", "http://127.0.0.1:1/cb", "planted-verifier", now)
    token = StoredToken("planted-access-7c1e", "planted-refresh-5a9b", None, now, now, "aisp")
    for holder, secrets in ((code, code.secrets()), (token, {"planted-access", "planted-refresh"})):
        for text in (repr(holder), pretty(holder)):
            assert not any(secret[:14] in text for secret in secrets), text
            assert "obtained_at" in text or "expires_at" in text
    assert code.secrets() == {"planted-code-0d2f", "planted-verifier"}


def test_reprs_still_say_what_they_are(run: RunContext) -> None:
    assert repr(run.profile).startswith("<Profile 'reference-sandbox' ")
    assert "aisp" in repr(run.profile.personas.credentials["LEA"])  # which scopes, not which tokens
    assert repr(run.client).startswith(f"<StetClient {run.profile.base_url}")
    assert "sign=True" in repr(RequestOptions(token="x" * 20))
    profile = run.profile
    assert str(profile.tls.client_cert) in repr(profile.tls)
    assert profile.signing.key_id in repr(profile.signing)
    assert profile.other_tpp is not None and profile.other_tpp.client_id in repr(profile.other_tpp)


AUTHORIZE = """
- id: CODE-FAILS
  title: the step that captures the code fails its checks
  persona: LEA
  request:
    method: GET
    url: "{{ target.authorize_url }}"
    token: none
    query:
      response_type: code
      client_id: "{{ target.client_id }}"
      redirect_uri: "{{ redirect_uri }}"
      scope: aisp
      psu: LEA
  expect: {status: 200, request_id_echo: false}
  save: {code: "header:Location?code"}
"""
FALLBACK = """
- id: FALLBACK-FAILS
  title: the step that captures the fallback token fails its checks
  request:
    method: POST
    url: "{{ target.token_url }}"
    token: none
    headers: {fallback: "1"}
    form: {client_id: "{{ target.client_id }}", grant_type: client_credentials, scope: aisp}
  expect: {status: 200, request_id_echo: false}
  save: {fallback_token: "header:Location?token"}
"""
TOKEN_RESPONSE = """
- id: TOKEN-FAILS
  title: a token response whose tokens a failing data check quotes
  persona: LEA
  steps:
    - name: authorize
      request:
        method: GET
        url: "{{ target.authorize_url }}"
        token: none
        query:
          response_type: code
          client_id: "{{ target.client_id }}"
          redirect_uri: "{{ redirect_uri }}"
          scope: aisp
          psu: LEA
      expect: {status: 302, request_id_echo: false}
      save: {code: "header:Location?code"}
    - name: exchange the code
      request:
        method: POST
        url: "{{ target.token_url }}"
        token: none
        form:
          grant_type: authorization_code
          code: "{{ saved.code }}"
          redirect_uri: "{{ redirect_uri }}"
          client_id: "{{ target.client_id }}"
      expect:
        status: 200
        request_id_echo: false
        data:
          - {path: access_token, equals: not-this-one}
          - {path: refresh_token, equals: not-this-one}
"""


def _failed_step(run: RunContext, tmp_path: Path, text: str) -> tuple[StepResult, str]:
    """Run a one-scenario file; the failed step and everything a report would show of it."""
    directory = tmp_path / "scenarios"
    directory.mkdir()
    path = directory / "x.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    (scenario,) = load_file(path)
    results = run_scenario(scenario, run)
    failed = results[-1]
    assert failed.failures and failed.exchange is not None
    redactor = run.client.redactor
    shown = "\n".join(str(f) for f in failed.failures) + "\n" + failed.exchange.render(redactor)
    return failed, redactor.text(shown)


def _location_param(result: StepResult, name: str) -> str:
    assert result.exchange is not None
    location = result.exchange.response.headers["location"]
    return parse_qs(urlsplit(location).query)[name][0]


@pytest.mark.parametrize(("text", "param"), [(AUTHORIZE, "code"), (FALLBACK, "token")])
def test_a_captured_secret_is_redacted_when_its_step_fails(
    run: RunContext, tmp_path: Path, text: str, param: str
) -> None:
    failed, shown = _failed_step(run, tmp_path, text)
    secret = _location_param(failed, param)
    assert "[status] expected HTTP 200, got 302" in shown
    assert f"{param}={REDACTED}" in shown
    assert secret not in shown


def test_tokens_of_a_token_response_are_redacted_when_a_check_quotes_them(
    run: RunContext, tmp_path: Path
) -> None:
    failed, shown = _failed_step(run, tmp_path, TOKEN_RESPONSE)
    assert failed.exchange is not None
    body: dict[str, Any] = failed.exchange.body
    assert "access_token" in shown and "refresh_token" in shown
    for field in ("access_token", "refresh_token"):
        assert body[field] not in shown


SECRET_NAMED = """
- id: NAMED-FAILS
  title: a capture named like a secret, in a step that fails
  persona: LEA
  request: {method: GET, path: /accounts}
  expect: {status: 418}
  save: {session_token: "header:X-Request-ID"}
"""


def test_a_capture_named_like_a_secret_is_redacted_whatever_the_verdict(
    run: RunContext, tmp_path: Path
) -> None:
    failed, shown = _failed_step(run, tmp_path, SECRET_NAMED)
    assert failed.exchange is not None
    request_id = failed.exchange.response.headers["x-request-id"]
    assert "[status] expected HTTP 418, got 200" in shown
    assert f"x-request-id: {REDACTED}" in shown
    assert request_id not in shown
