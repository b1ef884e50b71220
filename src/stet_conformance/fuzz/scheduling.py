"""Longest tests first, handed out one at a time, when a run has pytest-xdist workers.

Against a bank tens of milliseconds away a run is bound by waiting, and its longest tests are the
property tests: their examples wait for their answers one after the other. xdist's ``load``
scheduling hands each worker a batch of consecutive tests in collection order, and the suites are
collected last, so they started late and one worker could get three of them while the others ran
out of work (docs/performance.md). Every worker sorts its collection the same way (xdist requires
one order), the most examples first; the controller hands out one test at a time, so each worker
takes the next longest as it frees up. A serial run keeps the order of the files.
"""

from __future__ import annotations

import pytest


def has_workers(config: pytest.Config) -> bool:
    """A run with xdist workers: a worker itself, or the controller started with ``-n``."""
    if hasattr(config, "workerinput"):
        return True
    workers = getattr(config.option, "numprocesses", None)
    return isinstance(workers, int) and workers > 0


def one_test_at_a_time(config: pytest.Config) -> None:
    """Controller: hand out one test per request for more (xdist's ``--maxschedchunk``), unless
    the command line chose a chunk."""
    if has_workers(config) and getattr(config.option, "maxschedchunk", 0) is None:
        config.option.maxschedchunk = 1


def examples(item: pytest.Item) -> int:
    """The examples a property test will run (its Hypothesis settings), 1 for any other test."""
    settings = getattr(getattr(item, "obj", None), "_hypothesis_internal_use_settings", None)
    return int(getattr(settings, "max_examples", 1))


def longest_first(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Worker: sort the collection by examples, the most first (stable: files keep their order)."""
    if hasattr(config, "workerinput"):
        items.sort(key=examples, reverse=True)
