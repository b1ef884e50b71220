"""The run's shared request budget: one ledger file read and written by every process of a run.

pytest-xdist starts each worker as a process of its own, so a budget counted in memory would be
one budget per worker: ``budget.requests: 5`` with ``-n 2`` would allow 10 requests, and the
bank's daily quota could be spent twice over. The controller (or the only process) owns one
ledger file (``--stet-ledger``, which ``stet-conformance run`` passes after charging its token
refreshes to it; else a new file in a temporary directory removed at the end) and hands its
path to each worker in ``workerinput``; the profile's budget and the suites' budget both count
there (``http/budget.py``).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

from stet_conformance.http.budget import Ledger

LEDGER_OPTION = "--stet-ledger"
_WORKER_KEY = "stet_ledger"
_LEDGER = pytest.StashKey[Ledger]()


def add_option(group: pytest.OptionGroup) -> None:
    group.addoption(
        LEDGER_OPTION,
        metavar="FILE",
        default=None,
        help=argparse.SUPPRESS,  # ``stet-conformance run``: the counts its token refreshes began
    )


def run_ledger(config: pytest.Config) -> Ledger:
    """This run's ledger: the worker's given one, the option's, or a new one for the run."""
    if _LEDGER not in config.stash:
        ledger = Ledger(_ledger_path(config))
        config.add_cleanup(ledger.close)
        config.stash[_LEDGER] = ledger
    return config.stash[_LEDGER]


def run_folder(config: pytest.Config) -> Path:
    """The run's private folder, which its processes share: the ledger's."""
    path = run_ledger(config).path
    assert path is not None  # the run's ledger is always a file
    return path.parent


def _ledger_path(config: pytest.Config) -> Path:
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    if workerinput is not None and _WORKER_KEY in workerinput:
        return Path(workerinput[_WORKER_KEY])
    given = config.getoption(LEDGER_OPTION)
    if given:
        return Path(given)
    folder = Path(tempfile.mkdtemp(prefix="stet-run-"))  # 0700
    config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))
    return folder / "budget.json"


class LedgerToWorkers:
    """Controller side: each xdist worker gets the controller's ledger path."""

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        ledger = run_ledger(node.config)
        assert ledger.path is not None
        node.workerinput[_WORKER_KEY] = str(ledger.path)
