"""Fixtures shared by the harness's own tests (tests/): a running reference sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from stet_conformance.sandbox.server import SandboxServer


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    """The conformant bundled sandbox, shared by the whole test session (read-mostly)."""
    with SandboxServer(tmp_path_factory.mktemp("sandbox")) as server:
        yield server


@pytest.fixture(scope="session")
def sandbox_profile(sandbox: SandboxServer) -> Path:
    return Path(sandbox.profile_path)
