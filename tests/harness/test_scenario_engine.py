"""Typed steps: ``Request`` and ``Expect`` against the scenario schema, rendering, the engine
sending what a step says (an httpx MockTransport answers, nothing leaves the process)."""

from __future__ import annotations

import dataclasses
import json
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from stet_conformance.checks import CHECKS
from stet_conformance.checks.expect import KEYS, Expect
from stet_conformance.checks.schemas import default_store
from stet_conformance.config.persona_tokens import MissingToken, persona_token
from stet_conformance.config.profile import Override, Profile, load_profile
from stet_conformance.config.settings import Imputation
from stet_conformance.errors import ConfigError
from stet_conformance.http.client import ClientSettings, StetClient
from stet_conformance.http.redact import Redactor
from stet_conformance.scenario.loader import load_file
from stet_conformance.scenario.model import BODY_KINDS, Payload, Request
from stet_conformance.scenario.runner import (
    RunContext,
    ScenarioSkipped,
    StepResult,
    plan_scenario,
    run_scenario,
)
from stet_conformance.scenario.templating import render
from stet_conformance.shared.resources import schemas_dir

SCHEMA = json.loads((schemas_dir() / "scenario.schema.json").read_text(encoding="utf-8"))
Answer = Callable[[httpx.Request], httpx.Response]


def test_every_expect_key_of_the_schema_is_owned_by_exactly_one_check() -> None:
    owned = [check.key for check in CHECKS.values()]
    assert len(owned) == len(set(owned))
    assert set(owned) == set(SCHEMA["$defs"]["expect"]["properties"]) == KEYS
    assert all(key == check.key for key, check in CHECKS.items())


def test_every_request_key_of_the_schema_is_a_request_field() -> None:
    fields = {f.name for f in dataclasses.fields(Request)} - {"payload"} | set(BODY_KINDS)
    assert fields == set(SCHEMA["$defs"]["request"]["properties"])


def test_a_request_keeps_its_expressions_and_renders_to_text() -> None:
    raw = {
        "method": "POST",
        "path": "/accounts/{{ LEA.id }}/x",
        "query": {"n": "{{ n }}", "flag": True},
        "headers": {"X-A": "{{ n }}"},
        "form": {"code": "{{ saved.code }}"},
        "bearer": "{{ saved.token }}",
    }
    request = Request.of(raw)
    context = {"LEA": {"id": "A1"}, "n": 7, "saved": {"code": "c-1", "token": "t-1"}}
    rendered = request.render(context)
    assert request.path == "/accounts/{{ LEA.id }}/x"  # the template is kept
    assert (rendered.path, rendered.bearer) == ("/accounts/A1/x", "t-1")
    assert rendered.query == {"n": "7", "flag": "True"}
    assert rendered.headers == {"X-A": "7"}
    assert rendered.payload == Payload("form", {"code": "c-1"})
    assert rendered.payload.encode() == (b"code=c-1", "application/x-www-form-urlencoded")
    assert Request.of({"replay": "previous"}) == Request(replay=True)


def test_payload_encodings() -> None:
    assert Payload("json", {"a": [1]}).encode() == (b'{"a": [1]}', "application/json")
    assert Payload("body", "raw text").encode() == (b"raw text", None)


def test_an_expectation_renders_its_operands_and_merges_overrides() -> None:
    data = [{"path": "a", "equals": "{{ n }}"}]
    expect = Expect.of({"status": 200, "oauth_error": "{{ e }}", "data": data})
    rendered = expect.rendered(lambda value: render(value, {"n": 3, "e": "x"}))
    assert (rendered.oauth_error, rendered.data) == (("x",), ({"path": "a", "equals": 3},))
    assert expect.data == tuple(data)  # the template is kept
    assert expect.given == {"status", "oauth_error", "data"}
    merged = expect.merged(Expect.of({"status": [403, "404"]}))
    assert (merged.status, merged.oauth_error) == ((403, 404), ("{{ e }}",))
    with pytest.raises(ValueError, match="unknown key 'stauts'"):
        Expect.of({"stauts": 403})


def test_the_token_lookup_names_the_setting_it_needs(sandbox_profile: Path) -> None:
    profile = load_profile(sandbox_profile)
    assert persona_token(profile, "LEA") == profile.personas.credentials["LEA"].tokens["aisp"]
    with pytest.raises(MissingToken) as info:
        persona_token(profile, "NOBODY", "pisp", "expired_tokens")
    assert str(info.value) == (
        "the profile has no expired token for NOBODY/pisp (personas.NOBODY.expired_tokens.pisp)"
    )


def _run(
    profile: Profile, tmp_path: Path, scenario: str, answer: Answer
) -> tuple[list[StepResult], list[httpx.Request]]:
    path = tmp_path / "x.yaml"
    path.write_text(textwrap.dedent(scenario).lstrip("\n"), encoding="utf-8")
    (loaded,) = load_file(path)
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return answer(request)

    client = StetClient(
        ClientSettings.of(profile), Redactor(), transport=httpx.MockTransport(handler)
    )
    try:
        return run_scenario(loaded, RunContext(profile, client, default_store())), sent
    finally:
        client.close()


def _echo(status: int, body: Any = None) -> Answer:
    def answer(request: httpx.Request) -> httpx.Response:
        headers = {"X-Request-ID": request.headers.get("x-request-id", "")}
        return httpx.Response(status, json=body, headers=headers)

    return answer


def test_the_engine_sends_what_the_typed_request_says(
    sandbox_profile: Path, tmp_path: Path
) -> None:
    profile = load_profile(sandbox_profile)
    results, sent = _run(
        profile,
        tmp_path,
        """
        - id: X-1
          title: t
          persona: LEA
          request:
            method: POST
            path: "/x/{{ LEA.accounts.0.resource_id }}"
            query: {a: "{{ unknown_account }}"}
            headers: {X-Extra: yes}
            json: {k: "{{ LEA.accounts.0.iban }}"}
          expect: {status: 201, body_empty: false}
        """,
        _echo(201, {}),
    )
    assert [r.failures for r in results] == [[]]
    (request,) = sent
    account = profile.personas.data["LEA"]["accounts"][0]
    assert request.url.path == f"{profile.api_prefix}/x/{account['resource_id']}"
    assert request.url.params["a"] == profile.variables["unknown_account"]
    assert request.headers["x-extra"] == "yes"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {"k": account["iban"]}
    assert request.headers["authorization"] == f"Bearer {persona_token(profile, 'LEA')}"


def test_an_override_naming_no_check_is_a_configuration_error(
    sandbox_profile: Path, tmp_path: Path
) -> None:
    profile = load_profile(sandbox_profile)
    bad = Override("X-1", "typo", False, None, {"stauts": 404})
    profile = dataclasses.replace(profile, overrides={"X-1": bad})
    scenario = """
    - id: X-1
      title: t
      persona: LEA
      request: {method: GET, path: /accounts}
      expect: {status: 200}
    """
    with pytest.raises(ConfigError, match=r"^overrides\.X-1\.expect: unknown key 'stauts' \(known"):
        _run(profile, tmp_path, scenario, _echo(404, {"status": 404, "message": "x"}))
    good = dataclasses.replace(bad, expect={"status": 404})
    profile = dataclasses.replace(profile, overrides={"X-1": good})
    results, _ = _run(profile, tmp_path, scenario, _echo(404, {"status": 404, "message": "x"}))
    assert [(r.failures, r.override) for r in results] == [([], good)]


def test_a_role_the_profile_does_not_declare_skips_the_scenario(
    sandbox_profile: Path, tmp_path: Path
) -> None:
    """Not an error: the bank's persona has no such account; the reason says where to declare it."""
    profile = load_profile(sandbox_profile)
    marc = {"consent": {"balances": "all"}, "accounts": [{"iban": "FR76M", "balance": "1.00"}]}
    personas = dataclasses.replace(profile.personas, data={**profile.personas.data, "MARC": marc})
    profile = dataclasses.replace(profile, personas=personas)
    scenario = """
    - id: X-1
      title: t
      persona: MARC
      request: {method: GET, path: "/accounts/{{ account('MARC', 'zero').resource_id }}/balances"}
      expect: {status: 200}
    """
    with pytest.raises(ScenarioSkipped) as skipped:
        _run(profile, tmp_path, scenario, _echo(200, {}))
    assert str(skipped.value) == (
        "the profile declares no account of MARC for role 'zero' (a readable account with a "
        "zero balance): personas.MARC.data.accounts"
    )
    assert any(
        "would be skipped: the profile declares no" in line
        for line in _plan(profile, tmp_path, scenario)
    )


def _plan(profile: Profile, tmp_path: Path, scenario: str) -> list[str]:
    path = tmp_path / "plan.yaml"
    path.write_text(textwrap.dedent(scenario).lstrip("\n"), encoding="utf-8")
    (loaded,) = load_file(path)
    return plan_scenario(loaded, profile)


def test_day_boundaries_are_rendered_in_the_profiles_imputation_zone(
    sandbox_profile: Path, tmp_path: Path
) -> None:
    """A bank imputing at 00:00 Europe/Paris gets dateTo at its own midnight (TRX-TO-EXCLUSIVE)."""
    profile = load_profile(sandbox_profile)
    profile = dataclasses.replace(
        profile, choices=dataclasses.replace(profile.choices, imputation=Imputation("Europe/Paris"))
    )
    scenario = """
    - id: X-1
      title: t
      persona: LEA
      steps:
        - name: pick
          request: {method: GET, path: /x}
          expect: {status: 200}
          save: {day: "transactions[0].bookingDate"}
        - name: window
          request: {method: GET, path: /x, query: {dateTo: "{{ day_start(saved.day) }}"}}
          expect: {status: 200}
    """
    body = {"transactions": [{"bookingDate": "2026-07-10"}]}
    results, sent = _run(profile, tmp_path, scenario, _echo(200, body))
    assert [r.failures for r in results] == [[], []]
    assert sent[1].url.params["dateTo"] == "2026-07-10T00:00:00.000+02:00"
