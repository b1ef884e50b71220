"""The verdict of a test, in one place: outcomes, levels, the exceptions and words that carry them.

An auditor sorts results by cause: a bank defect (a MUST not met: ``CheckFailed``, an
``AssertionError``, so Allure says "failed"), a broken target (5xx, transport: "broken"), a
configuration error of the harness's user ("broken" too, worded apart), a cleanup step that
failed after passing steps ("broken": target state not restored, which later tests may read). A
recommendation not met is a warning: the test passes, marked (outcome ``warning``), unless
``--strict`` makes it a failure. Reports reach the xdist controller as data, not exceptions, so
broken verdicts and warnings travel as user properties (``BROKEN_PROPERTY``,
``WARNING_PROPERTY``), which JUnit shows too. The plugin, its recorder, the Allure writer, the
checks and the fuzz oracles all use this module; it imports no pytest.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from stet_conformance.errors import TargetError, UsageError

TARGET_BROKEN = "target broken"
CONFIGURATION_ERROR = "configuration error"
STATE_NOT_RESTORED = "target state not restored"
STRICT = "a failure under --strict"
BROKEN_PROPERTY = "stet_broken"
WARNING_PROPERTY = "stet_warning"


class Outcome(StrEnum):
    """What one test's result says, in the words of run.json, coverage and the matrix."""

    PASSED = "passed"
    WARNING = "warning"  # passed, with recommendations not met
    FAILED = "failed"  # a bank defect
    BROKEN = "broken"  # the target could not answer properly, or the harness is misconfigured
    SKIPPED = "skipped"


PASSING = frozenset({Outcome.PASSED, Outcome.WARNING})


class Level(StrEnum):
    """How strongly a source asks for a property: MUST fails a test, a recommendation warns."""

    MUST = "must"
    RECOMMENDATION = "recommendation"


class Problem(str):
    """What an oracle found: its message (a ``str``, so plain messages mix with these), the
    level of the rule it breaks and that rule's source."""

    level: Level
    authority: str

    def __new__(cls, message: str, level: Level = Level.MUST, authority: str = "") -> Problem:
        problem = super().__new__(cls, message)
        problem.level = level
        problem.authority = authority
        return problem


def should(message: str, authority: str) -> Problem:
    """A recommendation not met: a warning, citing the source that recommends it."""
    return Problem(message, Level.RECOMMENDATION, authority)


def level_of(problem: str) -> Level:
    """A plain message is a MUST."""
    return problem.level if isinstance(problem, Problem) else Level.MUST


def recommendation(message: str, authority: str, *, strict: bool = False) -> str:
    """A recommendation's message with its source: a warning, or a failure under --strict."""
    source = f"recommendation: {authority}" if authority else "recommendation"
    return f"{message} ({source}; {STRICT})" if strict else f"{message} ({source})"


class CheckFailed(AssertionError):
    """A check failed: the target answered, and the answer breaks the portal or STET."""


class TargetBroken(Exception):
    """The target answered 5xx where a STET answer was due: down or misconfigured."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"{TARGET_BROKEN}: {detail}")


class StateNotRestored(Exception):
    """A cleanup step failed after the scenario's steps passed: the scenario's verdict is not
    known to be wrong, but the target keeps a state later tests may read (a revoked consent)."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"{STATE_NOT_RESTORED}: {detail}")


def failure(description: str, statuses: Iterable[int]) -> CheckFailed | TargetBroken:
    """The verdict on failed checks: a 5xx among the answers means the server erred (RFC 9110
    §15.6), so the target is broken; otherwise the bank has a defect."""
    if any(status >= 500 for status in statuses):
        return TargetBroken(f"server error\n{description}")
    return CheckFailed(description)


def scenario_verdict(
    steps: str, statuses: Iterable[int], cleanup: str
) -> CheckFailed | TargetBroken | StateNotRestored | None:
    """The verdict of a scenario from what its steps and its cleanup steps found (empty texts:
    nothing). The steps decide; a cleanup that failed after them only adds its text, and alone
    it is the target's state not restored, not a bank defect."""
    if steps:
        unrestored = f"\n{STATE_NOT_RESTORED}: {cleanup}" if cleanup else ""
        return failure(steps + unrestored, statuses)
    return StateNotRestored(cleanup) if cleanup else None


def is_broken(error: BaseException) -> bool:
    """Errors that make a test "broken" rather than "failed"."""
    return isinstance(error, (TargetBroken, StateNotRestored, TargetError, UsageError))


def describe(error: BaseException) -> str | None:
    """The report text of an error the verdict knows; ``None`` for another (a harness bug)."""
    if isinstance(error, (CheckFailed, TargetBroken, StateNotRestored)):
        return str(error)
    if isinstance(error, TargetError):
        return f"{TARGET_BROKEN}: {error}"
    if isinstance(error, UsageError):
        return f"{CONFIGURATION_ERROR}: {error}"
    return None


def outcome(report_outcome: str, properties: Iterable[tuple[str, object]]) -> Outcome:
    """The outcome of a pytest report (``passed``/``failed``/``skipped``) and its properties."""
    names = {name for name, _ in properties}
    if report_outcome == "skipped":
        return Outcome.SKIPPED
    if report_outcome == "failed":
        return Outcome.BROKEN if BROKEN_PROPERTY in names else Outcome.FAILED
    return Outcome.WARNING if WARNING_PROPERTY in names else Outcome.PASSED


def warnings_of(properties: Iterable[tuple[str, object]]) -> list[str]:
    """The warnings a test recorded in its user properties."""
    return [str(value) for name, value in properties if name == WARNING_PROPERTY]


ALLURE_CATEGORIES: list[dict[str, object]] = [
    {
        "name": "Bank defect (a check failed)",
        "matchedStatuses": ["failed"],
        "description": "The target answered, and the answer breaks the portal or STET.",
    },
    {
        "name": "Target state not restored (a cleanup step failed)",
        "matchedStatuses": ["broken"],
        # on the message's first line or the next (the test's title): with cleanup failures
        # that only join a failure of the steps, that failure's own category applies
        "messageRegex": rf"(?s)(?:[^\n]*\n)?[^\n]*{STATE_NOT_RESTORED}: .*",
    },
    {
        "name": "Target down or misconfigured (TLS, timeout, 5xx)",
        "matchedStatuses": ["broken"],
        "messageRegex": rf"(?s).*{TARGET_BROKEN}.*",
    },
    {
        "name": "Harness configuration error",
        "matchedStatuses": ["broken"],
        "messageRegex": rf"(?s).*{CONFIGURATION_ERROR}.*",
    },
]
