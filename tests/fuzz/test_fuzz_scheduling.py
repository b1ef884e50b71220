"""With xdist workers the longest tests start first, handed out one at a time; serial runs keep
the files' order (fuzz/scheduling.py)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

# Plain and property tests mixed; each test (each example) writes its name when it runs.
ORDERED = """
import os
from pathlib import Path

from hypothesis import given, settings, strategies as st

LOG = Path(os.environ["ORDER_LOG"])


def note(name: str) -> None:
    with LOG.open("a", encoding="utf-8") as log:
        log.write(name + "\\n")


def test_plain_first() -> None:
    note("plain_first")


@settings(max_examples=5, database=None)
@given(st.integers())
def test_few_examples(x: int) -> None:
    note("few")


def test_plain_second() -> None:
    note("plain_second")


@settings(max_examples=20, database=None)
@given(st.integers())
def test_many_examples(x: int) -> None:
    note("many")
"""


def _order(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, *args: str) -> list[str]:
    log = pytester.path / "order.log"
    log.write_text("", encoding="utf-8")
    monkeypatch.setenv("ORDER_LOG", str(log))
    pytester.makepyfile(test_order=textwrap.dedent(ORDERED))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly", *args)
    result.assert_outcomes(passed=4)
    names = Path(log).read_text(encoding="utf-8").split()
    return [name for i, name in enumerate(names) if i == 0 or names[i - 1] != name]


def test_a_worker_runs_the_most_examples_first(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    order = _order(pytester, monkeypatch, "-n", "1")
    assert order == ["many", "few", "plain_first", "plain_second"]


def test_a_serial_run_keeps_the_files_order(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    order = _order(pytester, monkeypatch)
    assert order == ["plain_first", "few", "plain_second", "many"]


def test_the_controller_hands_out_one_test_at_a_time(pytester: pytest.Pytester) -> None:
    assert pytester.parseconfigure("-n", "2").option.maxschedchunk == 1
    assert pytester.parseconfigure("-n", "2", "--maxschedchunk", "4").option.maxschedchunk == 4
    assert pytester.parseconfigure().option.maxschedchunk is None
