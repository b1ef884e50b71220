"""Fixtures for the report and evidence tests: real runs against fresh reference sandboxes.

Each run gets its own sandbox (not the session one): a full run spends daily quotas and changes
consents, which other tests of the session must not see.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from report_helpers import CHROMIUM, Run, make_results

from stet_conformance.errors import UsageError
from stet_conformance.report.html import allure_command
from stet_conformance.sandbox.server import SandboxServer


@pytest.fixture(scope="session")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """A passing run of every scenario against a fresh conformant sandbox."""
    root = tmp_path_factory.mktemp("clean-run")
    with SandboxServer(root / "sandbox") as server:
        results = make_results(root / "nightly" / "run-1", Path(server.profile_path))
        yield Run(results, Path(server.profile_path), root / "sandbox")


@pytest.fixture(scope="session")
def allure_cmd() -> list[str]:
    """The Allure 3 CLI, or a skip that says how to install it (CI installs it: .ci/run).

    Never installed from here: tests talk to loopback addresses only, not to the npm registry.
    """
    try:
        return allure_command(install=False)
    except UsageError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def chromium() -> Path:
    if not CHROMIUM.is_file():
        pytest.skip("Debian chromium is not installed (apt-get install chromium; .ci/run does)")
    return CHROMIUM
