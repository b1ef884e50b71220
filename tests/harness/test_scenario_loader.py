"""Scenario files: validation, defaults, static checks, errors naming file and line."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from stet_conformance.config.yamlload import load_yaml
from stet_conformance.errors import ScenarioError
from stet_conformance.scenario.loader import known_schemas, load_all, load_file
from stet_conformance.shared.resources import scenarios_dir


def write(directory: Path, text: str, name: str = "x.yaml") -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def error(path: Path) -> str:
    with pytest.raises(ScenarioError) as info:
        load_file(path)
    return str(info.value)


SINGLE = """
# a comment first
- id: BAL-1
  title: Accounting balance is negative
  tags: [balances, seed]
  severity: critical
  persona: LEA
  request:
    method: GET
    path: "/accounts/{{ LEA.accounts.0.resource_id }}/balances"
  expect:
    status: 200
    schema: balances
    data:
      - {path: "balances[balanceType=CLBD].balanceAmount.amount", sign: negative}
"""

MULTI = """
- id: TRX-PAGES
  title: Pages chain
  area: AIS
  persona: GEORGES
  scope: cbpii
  steps:
    - name: first page
      request: {method: GET, path: /accounts}
      expect: {status: 200, schema: accounts}
      save: {account: "accounts[0].resourceId"}
    - persona: LEA
      request: {method: GET, path: "/accounts/{{ saved.account }}/transactions"}
      expect: {status: [200, 204]}
    - scope: aisp
      request:
        method: GET
        path: "/accounts/{{ saved.account }}/balances"
        query: {dateFrom: "{{ date(-3) }}"}
      expect: {status: 200}
  cleanup:
    - request: {method: PUT, path: /consents, json: {id: "{{ saved.account }}"}}
      expect: {status: 201}
"""


def test_single_step_scenario(tmp_path: Path) -> None:
    path = write(tmp_path, SINGLE)
    (scenario,) = load_file(path)
    assert scenario.id == "BAL-1"
    assert scenario.title == "Accounting balance is negative"
    assert scenario.file == path
    assert scenario.line == 2
    assert scenario.location == f"{path}:2"
    assert scenario.tags == ("balances", "seed")
    assert scenario.severity == "critical"
    assert scenario.area == "AIS"
    assert scenario.cleanup == ()
    (step,) = scenario.steps
    assert step.name == "request"
    assert step.line == 7
    assert step.persona == "LEA"
    assert step.scope == "aisp"
    assert step.request.path == "/accounts/{{ LEA.accounts.0.resource_id }}/balances"
    assert step.expect.status == (200,)
    assert step.save == {}


def test_multi_step_scenario_with_inherited_defaults(tmp_path: Path) -> None:
    (scenario,) = load_file(write(tmp_path, MULTI))
    first, second, third = scenario.steps
    assert [s.name for s in scenario.steps] == ["first page", "step 2", "step 3"]
    assert [s.line for s in scenario.steps] == [7, 11, 14]
    assert (first.persona, first.scope) == ("GEORGES", "cbpii")
    assert (second.persona, second.scope) == ("LEA", "cbpii")
    assert (third.persona, third.scope) == ("GEORGES", "aisp")
    assert first.save == {"account": "accounts[0].resourceId"}
    (cleanup,) = scenario.cleanup
    assert cleanup.name == "cleanup 1"
    assert cleanup.line == 21
    assert (cleanup.persona, cleanup.scope) == ("GEORGES", "cbpii")


def test_defaults_without_persona(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        - id: OAUTH-1
          title: t
          area: OAuth
          request: {method: POST, url: "{{ target.token_url }}", form: {a: b}, token: none}
          expect: {status: 400, oauth_error: invalid_request}
        """,
    )
    (scenario,) = load_file(path)
    assert scenario.area == "OAuth"
    assert scenario.severity == "normal"
    assert scenario.tags == ()
    assert (scenario.steps[0].persona, scenario.steps[0].scope) == (None, "aisp")


def test_skip_when_on_a_one_step_scenario_and_on_a_step(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        - id: PIS-X
          title: t
          persona: LEA
          request: {method: POST, path: /p/1/o-confirmation, json: {}}
          skip_when: {status: 409, reason: "renew vars.payment_requests.LEA.0.resource_id"}
          expect: {status: 200}
        - id: PIS-Y
          title: t
          persona: LEA
          steps:
            - request: {method: POST, path: /p/2/o-confirmation, json: {}}
              skip_when: {status: [409, 410], reason: renew it}
              expect: {status: 200}
            - request: {method: POST, path: /p/2/o-confirmation, json: {}}
              expect: {status: 409}
        """,
    )
    one, two = load_file(path)
    assert one.steps[0].skip_when == {
        "status": 409,
        "reason": "renew vars.payment_requests.LEA.0.resource_id",
    }
    assert two.steps[0].skip_when == {"status": [409, 410], "reason": "renew it"}
    assert two.steps[1].skip_when is None


def test_skip_when_is_refused_in_cleanup(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        - id: X-1
          title: t
          request: {method: GET, path: /a}
          expect: {status: 200}
          cleanup:
            - request: {method: GET, path: /a}
              skip_when: {status: 409, reason: r}
              expect: {status: 200}
        """,
    )
    assert error(path) == f"{path}:7: skip_when is not allowed in cleanup steps"


def test_client_cert_and_the_second_tpp_are_refused_together(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        - id: X-1
          title: t
          request:
            method: GET
            path: /a
            tpp: other
            client_cert: none
          expect: {status: 401}
        """,
    )
    assert error(path) == (
        f"{path}:7: client_cert sends without the QWAC and tpp: other with the second TPP's: "
        "give one of them"
    )
    path.write_text(path.read_text().replace("tpp: other", "tpp: own"))
    (loaded,) = load_file(path)
    assert loaded.steps[0].request.client_cert == "none"


def test_skip_when_needs_a_reason(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        - id: X-1
          title: t
          request: {method: GET, path: /a}
          skip_when: {status: 409}
          expect: {status: 200}
        """,
    )
    assert error(path).startswith(f"{path}:4: [0].skip_when: missing key: 'reason'")


def test_empty_file_has_no_scenarios(tmp_path: Path) -> None:
    assert load_file(write(tmp_path, "# nothing yet\n")) == []


def test_the_bundled_scenarios_load() -> None:
    scenarios = load_all(sorted(scenarios_dir().glob("*.yaml")))
    assert len(scenarios) > 20
    assert len({s.id for s in scenarios}) == len(scenarios)


def test_known_schemas() -> None:
    assert {"accounts", "balances", "error", "transactions"} <= known_schemas()


# --- errors -------------------------------------------------------------------------------------


def test_yaml_syntax_error(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        - id: X-1
          title: t
          request: {method: GET, path: /a}
          expect:
            status: 200
           schema: accounts
        """,
    )
    message = error(path)
    assert message.startswith(f"{path}:6: invalid YAML:")


def test_duplicate_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        - id: X-1
          title: t
          request: {method: GET, path: /a}
          expect: {status: 200}
          title: again
        """,
    )
    assert error(path) == f"{path}:5: invalid YAML: duplicate key 'title'"


def test_booleans_are_only_true_and_false(tmp_path: Path) -> None:
    """YAML 1.1 read on/off/yes/no as booleans; scenarios and profiles get YAML 1.2's."""
    path = write(tmp_path, "[on, off, yes, no, y, n, On, NO, true, false, True, FALSE]\n")
    data, _ = load_yaml(path, "test file")
    assert data == ["on", "off", "yes", "no", "y", "n", "On", "NO", True, False, True, False]
    path = write(
        tmp_path,
        """
        - id: X-1
          title: t
          request: {method: GET, path: /a, query: {flag: on, other: no}}
          expect: {status: 200}
        """,
    )
    (scenario,) = load_file(path)
    assert scenario.steps[0].request.query == {"flag": "on", "other": "no"}


def test_not_a_list(tmp_path: Path) -> None:
    path = write(tmp_path, "id: X-1\ntitle: t\n")
    assert error(path).startswith(f"{path}:1: (top level): ")


UNKNOWN_EXPECT_KEY = """
- id: X-1
  title: t
  request: {method: GET, path: /a}
  expect:
    status: 200
    schema: accounts
    stauts: 201
"""


def test_unknown_key_in_expect_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, UNKNOWN_EXPECT_KEY)
    message = error(path)
    assert re.match(rf"{re.escape(str(path))}:\d+: \[0\]\.expect\.stauts: unknown key$", message)


def test_unknown_key_gets_the_closest_key_not_already_there(tmp_path: Path) -> None:
    path = write(tmp_path, UNKNOWN_EXPECT_KEY.replace("    status: 200\n", ""))
    assert error(path).endswith("[0].expect.stauts: unknown key; did you mean 'status'?")


def test_unknown_key_far_from_any_gets_no_suggestion(tmp_path: Path) -> None:
    path = write(tmp_path, UNKNOWN_EXPECT_KEY.replace("stauts", "zzzz"))
    assert error(path).endswith("[0].expect.zzzz: unknown key")


def test_unknown_key_in_expect_points_at_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, UNKNOWN_EXPECT_KEY)
    assert error(path).startswith(f"{path}:7: ")


def test_unknown_key_in_a_step(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        - id: X-1
          title: t
          steps:
            - request: {method: GET, path: /a}
              expect: {status: 200}
            - request: {method: GET, path: /b}
              expect: {status: 200}
              sav: {x: y}
        """,
    )
    message = error(path)
    assert message.startswith(f"{path}:")
    assert message.endswith("[0].steps[1].sav: unknown key; did you mean 'save'?")


def test_missing_id(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        - id: X-1
          title: fine
          request: {method: GET, path: /a}
          expect: {status: 200}
        - title: no id
          request: {method: GET, path: /a}
          expect: {status: 200}
        """,
    )
    assert error(path) == f"{path}:5: [1]: missing key: 'id'"


@pytest.mark.parametrize("bad_id", ["x-1", "X_1", "X-", "1X", "X--1", "X-a"])
def test_bad_id_pattern(tmp_path: Path, bad_id: str) -> None:
    path = write(
        tmp_path,
        f"""
        - id: "{bad_id}"
          title: t
          request: {{method: GET, path: /a}}
          expect: {{status: 200}}
        """,
    )
    message = error(path)
    assert message.startswith(f"{path}:1: [0].id: does not have the expected form (pattern ^[A-Z]")


def test_unknown_schema_name(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        - id: X-1
          title: t
          request: {method: GET, path: /a}
          expect:
            status: 200
            schema: balance
        """,
    )
    message = error(path)
    assert message.startswith(f"{path}:6: unknown schema 'balance' (known: accounts, balances")


def test_unknown_schema_name_in_a_step(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        - id: X-1
          title: t
          steps:
            - request: {method: GET, path: /a}
              expect: {status: 200}
            - request: {method: GET, path: /a}
              expect: {status: 200, schema: nope}
        """,
    )
    assert error(path).startswith(f"{path}:7: unknown schema 'nope'")


def test_saved_value_used_before_it_is_saved(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        - id: X-1
          title: t
          steps:
            - request: {method: GET, path: /a}
              expect: {status: 200}
              save: {other: a}
            - request: {method: GET, path: "/a/{{ saved.id }}"}
              expect: {status: 200}
              save: {id: a}
        """,
    )
    assert error(path) == f"{path}:7: {{{{ saved.id }}}} is used before any step saves 'id'"


def test_saved_value_in_the_same_steps_expect(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        - id: X-1
          title: t
          request: {method: GET, path: /a}
          expect:
            status: 200
            data: [{path: a, equals: "{{ saved.id }}"}]
        """,
    )
    assert "is used before any step saves 'id'" in error(path)


def test_saved_values_reach_later_steps_and_cleanup(tmp_path: Path) -> None:
    (scenario,) = load_file(write(tmp_path, MULTI))
    assert len(scenario.steps) == 3


def test_unknown_function(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        - id: X-1
          title: t
          steps:
            - request: {method: GET, path: /a}
              expect: {status: 200}
            - request:
                method: GET
                path: /a
                query: {dateFrom: "{{ today(-3) }}"}
              expect: {status: 200}
        """,
    )
    assert error(path) == f"{path}:6: unknown function today()"


def test_request_and_steps_together(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        - id: X-1
          title: t
          request: {method: GET, path: /a}
          expect: {status: 200}
        - id: X-2
          title: t
          request: {method: GET, path: /a}
          expect: {status: 200}
          steps:
            - request: {method: GET, path: /a}
              expect: {status: 200}
        """,
    )
    message = error(path)
    assert message.startswith(f"{path}:5: [1]: ")
    assert "does not match any allowed form (check which keys are used together)" in message


def test_neither_request_nor_steps(tmp_path: Path) -> None:
    path = write(tmp_path, "- id: X-1\n  title: t\n")
    assert error(path).startswith(f"{path}:1: [0]: ")


def test_json_and_body_together(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        - id: X-1
          title: t
          request:
            method: PUT
            path: /consents
            json: {a: 1}
            body: "{}"
          expect: {status: 201}
        """,
    )
    message = error(path)
    assert message.startswith(f"{path}:3: [0].request: ")
    assert "uses keys that cannot be used together" in message


def test_path_and_url_together(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        - id: X-1
          title: t
          request: {method: GET, path: /a, url: "https://x"}
          expect: {status: 200}
        """,
    )
    assert error(path).startswith(f"{path}:3: [0].request: ")


@pytest.mark.parametrize(("status", "line"), [("999", 5), ("[200, 99]", 5), ("'200'", 5)])
def test_bad_status(tmp_path: Path, status: str, line: int) -> None:
    path = write(
        tmp_path,
        f"""
        - id: X-1
          title: t
          request: {{method: GET, path: /a}}
          expect:
            status: {status}
        """,
    )
    assert error(path).startswith(f"{path}:{line}: [0].expect.status")


def test_bad_data_operator(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        - id: X-1
          title: t
          request: {method: GET, path: /a}
          expect:
            status: 200
            data:
              - {path: a, sign: negative}
              - {path: a, sign: minus}
        """,
    )
    assert (
        error(path) == f"{path}:8: [0].expect.data[1].sign: must be one of negative, zero, positive"
    )


def test_unknown_persona(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        - id: X-1
          title: t
          persona: BOB
          request: {method: GET, path: /a}
          expect: {status: 200}
        """,
    )
    assert error(path).startswith(f"{path}:3: [0].persona: must be one of LEA, CLAIRE,")


def test_duplicate_ids_across_files(tmp_path: Path) -> None:
    first = write(
        tmp_path,
        """
        - id: X-1
          title: one
          request: {method: GET, path: /a}
          expect: {status: 200}
        """,
        "a.yaml",
    )
    second = write(
        tmp_path,
        """
        - id: X-2
          title: two
          request: {method: GET, path: /a}
          expect: {status: 200}
        - id: X-1
          title: again
          request: {method: GET, path: /a}
          expect: {status: 200}
        """,
        "b.yaml",
    )
    assert [s.id for s in load_all([first])] == ["X-1"]
    with pytest.raises(ScenarioError) as info:
        load_all([first, second])
    assert str(info.value) == (
        f"{second}:5: duplicate scenario id X-1 (first defined at {first}:1)"
    )


def test_duplicate_ids_in_one_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        - id: X-1
          title: one
          request: {method: GET, path: /a}
          expect: {status: 200}
        - id: X-1
          title: two
          request: {method: GET, path: /a}
          expect: {status: 200}
        """,
    )
    with pytest.raises(ScenarioError, match=re.escape(f"first defined at {path}:1")):
        load_all([path])


def test_missing_file_is_a_scenario_error(tmp_path: Path) -> None:
    path = tmp_path / "gone.yaml"
    assert error(path) == f"scenario file not found: {path}"


# --- bounded at load time: alias bombs, bad patterns, function arguments ------------------------


def alias_levels(levels: int) -> str:
    """A YAML "billion laughs": line k + 1 holds nine aliases of the list on line k."""
    lines = ["- l0: &l0 [" + ", ".join(["lol"] * 9) + "]"]
    for level in range(1, levels):
        lines.append(f"- l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_at_the_alias_that_crosses_the_budget(tmp_path: Path) -> None:
    """Five levels (66,430 values) stand for the nine of the report (387 million): the aliases
    of line 5 would add more than 10,000 values, and nothing is expanded to find out."""
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_levels(5), encoding="utf-8")
    assert error(path) == (
        f"{path}:5: YAML aliases expand this scenario file by more than 10000 values "
        "(an alias bomb?); write the values out"
    )


def test_a_recursive_alias_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "- &loop\n  - *loop\n")
    assert error(path) == f"{path}:2: a YAML alias inside its own anchor (endless data)"


def test_aliases_within_the_budget_are_fine(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        - id: X-1
          title: t
          request: {method: GET, path: /a, headers: &headers {Accept: application/json}}
          expect: {status: 200}
        - id: X-2
          title: t
          request: {method: GET, path: /b, headers: *headers}
          expect: {status: 200}
        """,
    )
    assert load_file(path)[1].steps[0].request.headers == {"Accept": "application/json"}


SHARED = """
- id: X-1
  title: one
  steps:
    - name: save a day
      request: {method: GET, path: /a}
      expect: {status: 200}
      save: {day: "a[0].day"}
    - name: the shared expectation
      request: {method: GET, path: /a}
      expect: &shared {status: 200, data: [{path: a, equals: "{{ saved.day }}"}]}
- id: X-2
  title: two
  steps:
    - name: save it too
      request: {method: GET, path: /b}
      expect: {status: 200}
      save: {day: "b[0].day"}
    - name: uses it
      request: {method: GET, path: /b}
      expect: *shared
"""


def test_shared_values_keep_each_scenario_and_step_on_its_own_line(tmp_path: Path) -> None:
    """scenarios/rules.yaml shares each rule's expect and recommend by alias: the reports and
    errors still name the line of the scenario and of the step that uses them."""
    first, second = load_file(write(tmp_path, SHARED))
    assert (first.line, second.line) == (1, 11)
    assert [s.line for s in first.steps] == [4, 8]
    assert [s.line for s in second.steps] == [14, 18]
    assert second.steps[1].expect == first.steps[1].expect


def test_an_error_in_a_shared_value_names_the_anchor_or_the_step_using_it(tmp_path: Path) -> None:
    """Inside the value: the anchor's line, where it is fixed; the scenario's use of it (a saved
    name it does not save): the step's line."""
    _, positions = load_yaml(write(tmp_path, SHARED), "scenario file", alias_budget=100)
    assert positions.line((1, "steps", 1, "expect")) == 20  # the alias
    assert positions.line((1, "steps", 1, "expect", "data", 0, "equals")) == 10  # the anchor
    unsaved = SHARED.replace('      save: {day: "b[0].day"}\n', "")
    path = write(tmp_path, unsaved, "unsaved.yaml")
    assert error(path) == (f"{path}:17: {{{{ saved.day }}}} is used before any step saves 'day'")


def test_a_bad_matches_pattern_is_refused_at_load_time(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        - id: X-1
          title: t
          request: {method: GET, path: /a}
          expect:
            status: 200
            data:
              - {path: a, equals: 1}
              - {path: b, matches: "[0-9"}
        """,
    )
    assert error(path).startswith(f"{path}:8: matches: not a regular expression (")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ("repeat('a', 100000000000)", "count must be >= 0 and the result at most 1000000"),
        ("repeat('a', 1e11)", "bad function arguments"),
        ("repeat('a')", "missing a required argument: 'count'"),
        ("repeat(3, 3)", "text must be quoted text"),
        ("date(99999999999)", "days must be between -36600 and 36600"),
        ("datetime(-99999999999, 'Z')", "days must be between -36600 and 36600"),
        ("date('yesterday')", "days must be a whole number"),
        ("uuid(1)", "too many positional arguments"),
    ],
)
def test_bad_function_arguments_are_refused_at_load_time(
    tmp_path: Path, call: str, message: str
) -> None:
    path = write(
        tmp_path,
        f"""
        - id: X-1
          title: t
          steps:
            - request: {{method: GET, path: /a}}
              expect: {{status: 200}}
            - request:
                method: POST
                path: /a
                json: {{name: "{{{{ {call} }}}}"}}
              expect: {{status: 201}}
        """,
    )
    text = error(path)
    assert text.startswith(f"{path}:6: {call}: ") and message in text


def _one_step(path_text: str) -> str:
    return f"""
        - id: X-1
          title: t
          persona: LEA
          request: {{method: GET, path: "{path_text}"}}
          expect: {{status: 200}}
        """


@pytest.mark.parametrize(
    ("reference", "problem"),
    [
        (
            "LEA.acounts.0.resource_id",
            "'acounts' is not a key of LEA (no persona of fixtures/personas.yaml has it there); "
            "did you mean 'accounts'?",
        ),
        ("LEA.accounts.0.resource_idd", "not a key of LEA.accounts.0 "),
        ("persona.identity.firstname", "did you mean 'first_name'?"),
        ("LAE.accounts.0.iban", "unknown persona LAE; did you mean 'LEA'?"),
    ],
)
def test_misspelled_persona_data_is_refused_at_load_time(
    tmp_path: Path, reference: str, problem: str
) -> None:
    path = write(tmp_path, _one_step(f"/accounts/{{{{ {reference} }}}}/balances"))
    message = error(path)
    assert message.startswith(f"{path}:4: {{{{ {reference} }}}}: ")  # the request line
    assert problem in message


@pytest.mark.parametrize(
    "reference",
    [
        "LEA.accounts.9.iban",  # a bank's profile may have more accounts
        "persona.name",
        "unknown_account",
        "my_var.deep.key",  # a profile's vars: known at run time only
        "BANKVAR.x",  # capitals, but close to no persona: may be a var
        "target.anything",
        "credentials.LEA.refresh_tokens.aisp",
        "payment_requests.LEA.0.resource_id",
        "LEA.consent.balances.0",
    ],
)
def test_references_a_profile_may_provide_load(tmp_path: Path, reference: str) -> None:
    path = write(tmp_path, _one_step(f"/x/{{{{ {reference} }}}}"))
    assert len(load_file(path)) == 1


def test_a_status_may_name_the_declared_signature_refusal(tmp_path: Path) -> None:
    """``{{ target.signature_status }}`` joins the literal codes; any other expression, or a
    code written as text, is refused at its line."""
    declared = SINGLE.replace("status: 200", 'status: ["{{ target.signature_status }}", 501]')
    (scenario,) = load_file(write(tmp_path, declared))
    expect = scenario.steps[0].expect
    assert (expect.status, expect.status_expressions) == (
        (501,),
        ("{{ target.signature_status }}",),
    )
    assert expect.rendered(lambda v: [401] if "signature" in str(v) else v).status == (501, 401)
    other = SINGLE.replace("status: 200", 'status: "{{ target.name }}"')
    assert re.match(
        r".*x\.yaml:11: status: \{\{ target\.name \}\} is not a declared",
        error(write(tmp_path, other)),
    )
    assert "x.yaml:" in error(write(tmp_path, SINGLE.replace("status: 200", 'status: "200"')))
