"""Fixtures for onboarding tests: a breakable copy of the sandbox's profile and PKI."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from stet_conformance.sandbox.server import SandboxServer


@pytest.fixture
def copy(sandbox: SandboxServer, tmp_path: Path) -> Path:
    """A copy of the session sandbox's profile and PKI that a test may change."""
    shutil.copytree(Path(sandbox.profile_path).parent / "pki", tmp_path / "pki")
    shutil.copy(sandbox.profile_path, tmp_path / "profile.yaml")
    return tmp_path / "profile.yaml"


@pytest.fixture
def edit() -> Callable[[Path, Callable[[dict[str, Any]], None]], None]:
    """Change a profile's data in place."""

    def change(path: Path, how: Callable[[dict[str, Any]], None]) -> None:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        how(data)
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")

    return change
