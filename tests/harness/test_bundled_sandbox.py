"""``run``'s bundled sandbox starts in a thread while pytest starts and collects (issue 18).

Its profile's path is known at once; ``wait()`` returns it once the sandbox serves, and hands
over what stopped a start instead of hanging or hiding it. Unknown names are refused at once.
"""

from __future__ import annotations

import shutil
from contextlib import ExitStack
from pathlib import Path

import pytest

from stet_conformance.cli.common import BundledSandbox
from stet_conformance.config.profile import load_profile
from stet_conformance.errors import UsageError
from stet_conformance.sandbox.server import SandboxServer


def test_the_profile_path_is_known_at_once_and_served_after_wait(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    shutil.copytree(sandbox.pki.directory, tmp_path / "pki")  # a fresh PKI costs seconds
    with ExitStack() as stack:
        starting = BundledSandbox(stack, [], tmp_path)
        assert starting.profile == tmp_path / "profile.yaml"
        assert starting.wait() == starting.profile
        assert load_profile(starting.profile).base_url.startswith("https://127.0.0.1:")


def test_a_start_that_failed_raises_at_wait(tmp_path: Path) -> None:
    occupied = tmp_path / "a-file"
    occupied.write_text("not a directory", encoding="utf-8")
    with ExitStack() as stack:
        starting = BundledSandbox(stack, [], occupied)
        with pytest.raises(OSError):
            starting.wait()
        with pytest.raises(OSError):  # every time it is asked
            starting.wait()


def test_unknown_names_are_refused_before_any_start(tmp_path: Path) -> None:
    with ExitStack() as stack, pytest.raises(UsageError, match="--variant: unknown sandbox"):
        BundledSandbox(stack, [], tmp_path, ["no-such-variant"])
    assert list(tmp_path.iterdir()) == []
