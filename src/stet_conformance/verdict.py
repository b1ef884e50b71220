"""The verdict of a test, in one place: outcomes, the exceptions that carry them, their words.

An auditor sorts results by cause: a bank defect (a check failed: ``CheckFailed``, an
``AssertionError``, so Allure says "failed"), a broken target (5xx, transport: "broken"), a
configuration error of the harness's user ("broken" too, worded apart). Reports reach the xdist
controller as data, not exceptions, so a broken verdict also travels as the user property
``BROKEN_PROPERTY``. The plugin, its recorder, the Allure writer and the fuzz oracles all use
this module; it imports no pytest.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from stet_conformance.errors import TargetError, UsageError

TARGET_BROKEN = "target broken"
CONFIGURATION_ERROR = "configuration error"
BROKEN_PROPERTY = "stet_broken"


class Outcome(StrEnum):
    """What one test's result says, in the words of run.json, coverage and the matrix."""

    PASSED = "passed"
    FAILED = "failed"  # a bank defect
    BROKEN = "broken"  # the target could not answer properly, or the harness is misconfigured
    SKIPPED = "skipped"


class CheckFailed(AssertionError):
    """A check failed: the target answered, and the answer breaks the portal or STET."""


class TargetBroken(Exception):
    """The target answered 5xx where a STET answer was due: down or misconfigured."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"{TARGET_BROKEN}: {detail}")


def failure(description: str, statuses: Iterable[int]) -> CheckFailed | TargetBroken:
    """The verdict on failed checks: a 5xx among the answers means the server erred (RFC 9110
    §15.6), so the target is broken; otherwise the bank has a defect."""
    if any(status >= 500 for status in statuses):
        return TargetBroken(f"server error\n{description}")
    return CheckFailed(description)


def is_broken(error: BaseException) -> bool:
    """Errors that make a test "broken" rather than "failed"."""
    return isinstance(error, (TargetBroken, TargetError, UsageError))


def describe(error: BaseException) -> str | None:
    """The report text of an error the verdict knows; ``None`` for another (a harness bug)."""
    if isinstance(error, (CheckFailed, TargetBroken)):
        return str(error)
    if isinstance(error, TargetError):
        return f"{TARGET_BROKEN}: {error}"
    if isinstance(error, UsageError):
        return f"{CONFIGURATION_ERROR}: {error}"
    return None


def outcome(report_outcome: str, properties: Iterable[tuple[str, object]]) -> Outcome:
    """The outcome of a pytest report (``passed``/``failed``/``skipped``) and its properties."""
    if report_outcome == "skipped":
        return Outcome.SKIPPED
    if report_outcome == "failed":
        broken = any(name == BROKEN_PROPERTY for name, _ in properties)
        return Outcome.BROKEN if broken else Outcome.FAILED
    return Outcome.PASSED


ALLURE_CATEGORIES: list[dict[str, object]] = [
    {
        "name": "Bank defect (a check failed)",
        "matchedStatuses": ["failed"],
        "description": "The target answered, and the answer breaks the portal or STET.",
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
