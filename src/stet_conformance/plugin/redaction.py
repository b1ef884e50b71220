"""The one place every test report's text passes through the run's redactor.

Whatever a test prints or raises (a scenario's failure, a suite's assertion, Hypothesis's failing
example and notes, pytest's traceback with its arguments and locals, captured output and logs)
reaches the terminal, JUnit, Allure and xdist only through a test report. Reports are redacted
twice: innermost in ``pytest_runtest_makereport``, before Allure's wrapper reads the report and
the exception's message, and first in ``pytest_runtest_logreport``, before anything is written,
to catch the sections other wrappers added after (Hypothesis's, the reproduction command).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Generator
from typing import Any

import pytest

from stet_conformance.http.redact import Redactor


class ReportRedactor:
    """A pytest plugin object holding the run's redactor (secrets are added as they are met)."""

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor

    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        redact_report(report, self.redactor)
        if call.excinfo is not None:  # Allure takes the message from the exception itself
            redact_exception(call.excinfo.value, self.redactor)
        return report

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> Generator[None, None, None]:
        redact_report(report, self.redactor)
        yield


def redact_report(report: pytest.TestReport, redactor: Redactor) -> None:
    """Redact, in place, the failure representation, the captured sections, string properties."""
    report.longrepr = _scrub(report.longrepr, redactor, set())
    report.sections = [(title, redactor.text(text)) for title, text in report.sections]
    report.user_properties = [
        (name, redactor.text(value) if isinstance(value, str) else value)
        for name, value in report.user_properties
    ]


def redact_exception(error: BaseException, redactor: Redactor) -> None:
    """Redact an exception's message arguments and notes (Hypothesis's falsifying example)."""
    error.args = tuple(redactor.text(a) if isinstance(a, str) else a for a in error.args)
    notes = getattr(error, "__notes__", None)
    if isinstance(notes, list):
        notes[:] = [redactor.text(n) if isinstance(n, str) else n for n in notes]


def _scrub(value: Any, redactor: Redactor, seen: set[int]) -> Any:
    """Every string inside pytest's representation objects (dataclasses, lists, tuples)."""
    if isinstance(value, str):
        return redactor.text(value)
    if isinstance(value, tuple):
        return tuple(_scrub(v, redactor, seen) for v in value)
    if id(value) in seen:
        return value
    seen.add(id(value))
    if isinstance(value, list):
        value[:] = [_scrub(v, redactor, seen) for v in value]
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            if hasattr(value, field.name):
                scrubbed = _scrub(getattr(value, field.name), redactor, seen)
                object.__setattr__(value, field.name, scrubbed)
    return value
