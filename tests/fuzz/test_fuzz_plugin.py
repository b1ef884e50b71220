"""The fuzz plugin: the run's ``--stet-mode`` reaches the suites' settings and its own reports.

Nothing is kept in the plugin module between runs: two configurations in one process (pytester,
an IDE) each keep their own mode.
"""

from __future__ import annotations

import textwrap

import pytest

from stet_conformance.fuzz.plugin import reproduction_command

pytest_plugins = ["pytester"]

SUITE = """
from hypothesis import HealthCheck, Phase

from stet_conformance.fuzz.plugin import fuzz_settings

FULL, HALF = fuzz_settings(), fuzz_settings(scale=0.5)


def test_settings_of_the_mode() -> None:
    expected = {{"certification": 60, "nightly": 400, "regression": 12}}["{mode}"]
    assert (FULL.max_examples, HALF.max_examples) == (expected, expected // 2)
    assert FULL.deadline is None
    assert HealthCheck.too_slow in FULL.suppress_health_check
    assert FULL.derandomize is ("{mode}" != "nightly")
    assert (FULL.database is None) is ("{mode}" != "nightly")
    assert (Phase.explain in FULL.phases) is ("{mode}" != "regression")
"""


@pytest.mark.parametrize("ci", [False, True], ids=["local", "CI"])
@pytest.mark.parametrize("mode", ["certification", "nightly", "regression"])
def test_the_mode_reaches_the_suites_settings(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, mode: str, ci: bool
) -> None:
    """Whatever the environment: with CI set, Hypothesis's own "ci" profile is the default one,
    and a nightly run in CI must still draw new examples."""
    if ci:
        monkeypatch.setenv("CI", "true")
    else:
        monkeypatch.delenv("CI", raising=False)
    pytester.makepyfile(test_suite=textwrap.dedent(SUITE.format(mode=mode)))
    args = ["--stet-fuzz-db", str(pytester.path / "db"), "-p", "no:cacheprovider"]
    if mode != "regression":  # the default
        args += ["--stet-mode", mode]
    result = pytester.runpytest_subprocess(*args)
    result.assert_outcomes(passed=1)


def test_each_run_keeps_its_own_mode(pytester: pytest.Pytester) -> None:
    nightly = pytester.parseconfigure("--stet-mode", "nightly", "--stet-fuzz-db", "nightly-db")
    pytester.parseconfigure("--stet-mode", "certification")  # a later run in the same process
    item = pytester.getitem("def test_func(): pass")
    command = reproduction_command(nightly, item)
    assert "--stet-mode nightly" in command
    assert "--stet-fuzz-db nightly-db" in command
    assert command.endswith("-k test_func")
