"""Fixtures: a client of the session sandbox (root conftest), short-lived ones for faults."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
from sandbox_helpers import Api, open_api

from stet_conformance.sandbox.server import SandboxServer


@pytest.fixture(scope="session")
def api(sandbox: SandboxServer) -> Iterator[Api]:
    with open_api(sandbox) as client:
        yield client


@pytest.fixture
def fresh(
    sandbox: SandboxServer, tmp_path: Path
) -> Callable[[Sequence[str]], AbstractContextManager[Api]]:
    """Start a short-lived sandbox with some faults, reusing the session's PKI (fast)."""

    @contextmanager
    def start(faults: Sequence[str] = ()) -> Iterator[Api]:
        directory = tmp_path / ("-".join(faults) or "clean")
        shutil.copytree(sandbox.pki.directory, directory / "pki")
        with SandboxServer(directory, faults) as server, open_api(server) as client:
            yield client

    return start
