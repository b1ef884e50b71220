"""Tests that share target state never run at the same time, whatever the number of workers.

A scenario's ``shares`` and a suite test's ``@pytest.mark.stet_shares(NAME)`` name the state it
changes, or reads while another test changes it (a persona's consent, the saved payment
requests, a persona's refresh tokens). While such a test runs, it holds a lock of that name
beside the run's budget ledger, which every process of the run shares: a worker that reaches
another test of the same state waits for it, and the other tests run on. Locks, not xdist
groups: they hold for any ``--dist`` mode, and a test holds at most one, so none can deadlock.
"""

from __future__ import annotations

import re
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from stet_conformance.config.filelock import exclusive

MARKER = "stet_shares"


def register_marker(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}(name): target state this test shares; never run at the same time"
    )


def shared_state(item: pytest.Item) -> str | None:
    """The state ``item`` shares: its scenario's ``shares``, else its ``stet_shares`` mark."""
    scenario = getattr(item, "scenario", None)
    if scenario is not None:
        shares: str | None = scenario.shares
        return shares
    marker = item.get_closest_marker(MARKER)
    return str(marker.args[0]) if marker is not None and marker.args else None


def lock_path(folder: Path, name: str) -> Path:
    """The lock file of one shared state in the run's folder (a file name from any name)."""
    return folder / f"shares-{re.sub(r'[^A-Za-z0-9._-]+', '_', name)}.lock"


def holding(folder: Path, name: str) -> AbstractContextManager[None]:
    """The lock of state ``name`` in the run's folder, held for a ``with`` block."""
    return exclusive(lock_path(folder, name))
