"""A run loads its target profile once (issue 17): YAML, keys, certificates, token store.

``stet-conformance run`` loads and checks the profile, then hands the object to the plugin; a
plain ``pytest --stet-target`` loads it once for the run context and the recorder together. With
``-n 2`` each worker, a process of its own, loads it once; the controller loads it at most once,
and its report redactor knows the profile's secrets (``results/profile.yaml``).

Scenario files too: ``run`` parses them (to refuse a bad one before pytest starts) and the
collection takes what it parsed.
"""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from stet_conformance.cli import main
from stet_conformance.config import profile as profile_module
from stet_conformance.config import yamlload
from stet_conformance.http.redact import REDACTED
from stet_conformance.report.results import ResultsDir
from stet_conformance.scenario import loader

pytest_plugins = ["pytester"]

SCENARIO = """
- id: ONE-1
  title: CLAIRE's accounts are listed
  persona: CLAIRE
  request: {method: GET, path: /accounts}
  expect: {status: 200}
"""


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The profiles read by ``load_profile`` in this process (its first step, spied)."""
    read: list[Path] = []
    original: Callable[[Path], Any] = profile_module.read_document

    def spy(path: Path) -> Any:
        read.append(path)
        return original(path)

    monkeypatch.setattr(profile_module, "read_document", spy)
    return read


@pytest.fixture
def noted_token(sandbox_profile: Path, tmp_path: Path) -> tuple[Path, str]:
    """A copy of the sandbox's profile that also quotes a token outside the token tables."""
    shutil.copytree(sandbox_profile.parent / "pki", tmp_path / "pki")
    data = yaml.safe_load(sandbox_profile.read_text(encoding="utf-8"))
    token = str(data["personas"]["CLAIRE"]["tokens"]["aisp"])
    data["vars"] = {"note": f"the token {token} is CLAIRE's"}
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path, token


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "two-workers"])
def test_stet_conformance_run_loads_the_profile_once(
    noted_token: tuple[Path, str],
    loads: list[Path],
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    workers: list[str],
) -> None:
    profile, token = noted_token
    results = tmp_path / "results"
    args = ["run", "--target", str(profile), "--id", "ACC-1", "--results", str(results)]
    code = main([*args, *workers, "--", "-q"])
    out, err = capfd.readouterr()
    assert code == 0, out + err
    assert "1 passed" in out
    assert loads == [profile]
    sanitized = ResultsDir(results).profile.read_text(encoding="utf-8")
    assert token not in sanitized
    assert f"the token {REDACTED} is CLAIRE's" in sanitized


def test_plain_pytest_loads_the_profile_once_for_the_run_and_the_recorder(
    pytester: pytest.Pytester, sandbox_profile: Path, loads: list[Path]
) -> None:
    directory = pytester.path / "scenarios"
    directory.mkdir()
    (directory / "one.yaml").write_text(textwrap.dedent(SCENARIO), encoding="utf-8")
    results = pytester.path / "results"
    result = pytester.runpytest_inprocess(
        f"--stet-target={sandbox_profile}", f"--stet-results={results}", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=1)
    assert loads == [sandbox_profile]
    assert ResultsDir(results).run.is_file()  # the recorder used the profile too


def test_a_profile_that_fails_to_load_is_read_once(
    pytester: pytest.Pytester, tmp_path: Path, loads: list[Path]
) -> None:
    """Every scenario is broken with the same message; the file is not read for each."""
    directory = pytester.path / "scenarios"
    directory.mkdir()
    twice = SCENARIO + SCENARIO.replace("ONE-1", "ONE-2")
    (directory / "two.yaml").write_text(textwrap.dedent(twice), encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nbase_url: https://127.0.0.1:9\n", encoding="utf-8")
    result = pytester.runpytest_inprocess(f"--stet-target={bad}", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=2)
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # no INTERNALERROR in the recorder
    reports = result.stdout.str().split("short test summary info")[0]  # CI repeats them there
    assert reports.count("configuration error: ") == 2
    assert loads == [bad]


def test_stet_conformance_run_parses_each_scenario_file_once(
    sandbox_profile: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    (scenarios / "one.yaml").write_text(textwrap.dedent(SCENARIO), encoding="utf-8")
    parsed: list[Path] = []
    original = yamlload.load_yaml

    def spy(path: Path, what: str, alias_budget: int = 0) -> Any:
        parsed.append(path)
        return original(path, what, alias_budget)

    monkeypatch.setattr(loader, "load_yaml", spy)
    args = ["run", "--target", str(sandbox_profile), "--scenarios", str(scenarios)]
    code = main([*args, "--results", str(tmp_path / "results"), "--", "-q"])
    out, err = capfd.readouterr()
    assert code == 0, out + err
    assert "1 passed" in out
    assert parsed == [scenarios / "one.yaml"]
