"""``request: {replay: previous}``: schema, static checks and dry-run plan (issue 7, SEC-REPLAY)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from stet_conformance.config.profile import load_profile
from stet_conformance.errors import ScenarioError
from stet_conformance.sandbox.server import SandboxServer
from stet_conformance.scenario.loader import load_file
from stet_conformance.scenario.model import Request
from stet_conformance.scenario.runner import plan_scenario


def write(directory: Path, text: str) -> Path:
    path = directory / "x.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


REPLAY = """
- id: SEC-X
  title: replay
  persona: LEA
  when: {target.replay_protection: true}
  steps:
    - request: {method: GET, path: /accounts}
      expect: {status: 200}
    - name: again
      request: {replay: previous}
      expect: {status: 400}
"""


def test_replay_step_loads(tmp_path: Path) -> None:
    (scenario,) = load_file(write(tmp_path, REPLAY))
    assert scenario.steps[1].request == Request(replay=True)
    assert scenario.when == (("target.replay_protection", True),)


def test_replay_takes_no_other_key(tmp_path: Path) -> None:
    text = REPLAY.replace("{replay: previous}", "{replay: previous, method: GET}")
    with pytest.raises(ScenarioError, match=r"x\.yaml:\d+: .*method: unknown name"):
        load_file(write(tmp_path, text))


def test_replay_only_of_previous(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="must be"):
        load_file(write(tmp_path, REPLAY.replace("replay: previous", "replay: first")))


def test_replay_needs_an_earlier_step(tmp_path: Path) -> None:
    text = """
    - id: SEC-X
      title: replay first
      request: {replay: previous}
      expect: {status: 400}
    """
    with pytest.raises(ScenarioError, match=r"x\.yaml:3: replay: previous needs an earlier step"):
        load_file(write(tmp_path, text))


def test_a_request_without_replay_still_needs_method_and_path(tmp_path: Path) -> None:
    text = REPLAY.replace("{replay: previous}", "{path: /accounts}")
    with pytest.raises(ScenarioError, match="missing key: 'method'"):
        load_file(write(tmp_path, text))


def test_dry_run_plan_names_the_replay(sandbox: SandboxServer, tmp_path: Path) -> None:
    (scenario,) = load_file(write(tmp_path, REPLAY))
    lines = plan_scenario(scenario, load_profile(Path(sandbox.profile_path)))
    assert lines[1] == (
        "SEC-X [again] the previous request again, byte for byte "
        "(same X-Request-ID, Digest and Signature)"
    )
