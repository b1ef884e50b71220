"""One verdict module: outcomes, their exceptions and words, the Allure categories."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from stet_conformance.errors import ConfigError, TargetError
from stet_conformance.verdict import (
    ALLURE_CATEGORIES,
    BROKEN_PROPERTY,
    CheckFailed,
    Outcome,
    StateNotRestored,
    TargetBroken,
    describe,
    failure,
    is_broken,
    outcome,
    scenario_verdict,
)

pytest_plugins = ["pytester"]


def test_a_server_error_among_failed_checks_is_a_broken_target() -> None:
    defect = failure("[status] expected HTTP 200, got 404", [404])
    assert isinstance(defect, CheckFailed) and isinstance(defect, AssertionError)
    broken = failure("[status] expected HTTP 200, got 503", [200, 503])
    assert isinstance(broken, TargetBroken) and not isinstance(broken, AssertionError)
    assert str(broken) == "target broken: server error\n[status] expected HTTP 200, got 503"


@pytest.mark.parametrize(
    ("error", "text", "broken"),
    [
        (CheckFailed("[data] x"), "[data] x", False),
        (TargetBroken("server error"), "target broken: server error", True),
        (TargetError("cannot connect"), "target broken: cannot connect", True),
        (StateNotRestored("cleanup step 'c'"), "target state not restored: cleanup step 'c'", True),
        (ConfigError("bad.yaml:3: x"), "configuration error: bad.yaml:3: x", True),
        (KeyError("bug"), None, False),
    ],
)
def test_each_error_has_its_words(error: Exception, text: str | None, broken: bool) -> None:
    assert describe(error) == text
    assert is_broken(error) is broken


def _category(status: str, message: str) -> str:
    """The first category Allure would file a result under (Allure reads them in order)."""
    for category in ALLURE_CATEGORIES:
        regex = str(category.get("messageRegex", ".*"))
        if status in category["matchedStatuses"] and re.fullmatch(regex, message):  # type: ignore[operator]
            return str(category["name"])
    return "none"


def test_the_categories_sort_the_verdicts_words() -> None:
    target = describe(TargetError("timed out after 10 s"))
    config = describe(ConfigError("profile.yaml:2: x"))
    assert target is not None and config is not None
    assert _category("broken", "X-1 t  (x.yaml:1)\n" + target).startswith("Target down")
    assert _category("broken", config).startswith("Harness configuration")
    assert _category("failed", "[status] expected HTTP 200").startswith("Bank defect")


def test_a_cleanup_failure_has_its_category_unless_the_steps_failed() -> None:
    """Allure's message is the exception's line (``exconly``), or the test's title first."""
    unrestored = scenario_verdict("", [], "cleanup step 'c' (line 9) failed:\n  [status] x")
    both = scenario_verdict("step 's' failed:\n  [status] y", [503], "cleanup step 'c' failed")
    assert isinstance(unrestored, StateNotRestored) and isinstance(both, TargetBroken)
    exconly = f"stet_conformance.verdict.StateNotRestored: {unrestored}"
    assert _category("broken", exconly).startswith("Target state not restored")
    assert _category("broken", f"X-1 t  (x.yaml:1)\n{unrestored}").startswith("Target state")
    assert _category("broken", f"TargetBroken: {both}").startswith("Target down")


def test_outcome_of_a_report() -> None:
    assert outcome("failed", [(BROKEN_PROPERTY, "yes")]) is Outcome.BROKEN
    assert outcome("failed", [("stet_exchange", ("GET /accounts", 200))]) is Outcome.FAILED
    assert outcome("skipped", []) is Outcome.SKIPPED
    assert outcome("passed", []) == "passed"


def test_a_broken_target_in_any_test_is_recorded_as_broken(pytester: pytest.Pytester) -> None:
    """A suite's transport error (not only a scenario's) reaches JUnit and xdist as broken."""
    pytester.makepyfile(
        test_suite="""
        from stet_conformance.errors import TargetError

        def test_down():
            raise TargetError("cannot connect to https://127.0.0.1:9")

        def test_defect():
            assert False
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--junitxml=junit.xml")
    result.assert_outcomes(failed=2)
    cases = {c.get("name"): c for c in ET.parse(pytester.path / "junit.xml").iter("testcase")}
    names = {name: [p.get("name") for p in case.iter("property")] for name, case in cases.items()}
    assert names == {"test_down": [BROKEN_PROPERTY], "test_defect": []}
