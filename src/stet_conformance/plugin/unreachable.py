"""Stop a run at the first connection failure: a stopped server is one failure, not 72.

A target that refuses the connection (or has no route, or no such host) fails every scenario the
same way, each after its own wait; one line says so instead. ``--stet-keep-going``
(``run --keep-going``) runs every scenario anyway. TLS refusals do not stop the run: they may
concern one QWAC only (OAU-TOKEN-OTHER-TPP, FBK-3).
"""

from __future__ import annotations

import pytest

from stet_conformance.http.bounded import Unreachable

KEEP_GOING = "--stet-keep-going"
_STOPPED = (
    "stet_unreachable"  # user property: this report stopped the run (reaches xdist's controller)
)


def stop_if_unreachable(item: pytest.Item, error: BaseException) -> None:
    """Ask pytest to stop after ``item`` when ``error`` is a connection failure."""
    if not isinstance(error, Unreachable) or item.config.getoption(KEEP_GOING):
        return
    item.user_properties.append((_STOPPED, "yes"))
    item.session.shouldfail = (
        f"stopped at the first connection failure ({error}); run --keep-going "
        f"(pytest {KEEP_GOING}) runs every scenario anyway"
    )


class UnreachableStop:
    """Controller side: with xdist, a worker's stop reaches the controller as an interruption
    (exit 130, run.json "interrupted"); it is a failed run, as without xdist."""

    def __init__(self) -> None:
        self.stopped = False

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if any(name == _STOPPED for name, _ in report.user_properties):
            self.stopped = True

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.stopped and session.exitstatus == pytest.ExitCode.INTERRUPTED:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
