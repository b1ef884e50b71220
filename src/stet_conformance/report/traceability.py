"""The traceability matrix drawn: operations as rows, rules as columns, a verdict per cell.

The cells come from the tests' metadata (``scenario/traceability.py``); this module keeps which
tests cover each cell and, after a run, their outcomes. A run's matrix shows ``ok`` (every test
that ran passed), ``FAIL`` (one failed or was broken), ``skip``, ``n/a`` (the rule does not apply,
with its reason) or ``EMPTY`` (no test of the run covers it). The static matrix (``run
--matrix``, the project's own test) shows how many tests of the project cover each cell. Built
from ``user_properties``, so it is the same with pytest-xdist.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from stet_conformance.scenario.traceability import (
    NOT_APPLICABLE,
    OPERATIONS,
    RULES,
    Cell,
)
from stet_conformance.verdict import PASSING, Outcome

OK, FAIL, SKIP, NA, EMPTY = "ok", "FAIL", "skip", "n/a", "EMPTY"
_WIDTH = max(len(op.name) for op in OPERATIONS)
_LEGEND_RUN = (
    f"{OK}: covered, passed; {FAIL}: failed or broken; {SKIP}: skipped; {NA}: the rule does not "
    f"apply; {EMPTY}: no test of this run covers it (`run --matrix`: the project's tests)"
)
_LEGEND_STATIC = f"N: covered by N tests; {NA}: the rule does not apply; {EMPTY}: no test covers it"
_NARROWED = (
    "a selection: the cells of the tests it leaves out are EMPTY; `run --matrix` alone shows "
    "the project's"
)


def parse_covers_property(value: object) -> list[Cell]:
    """The cells a ``stet_covers`` user property carries (``[[operation, rule], ...]``)."""
    if not isinstance(value, (list, tuple)):
        return []
    return [
        (str(pair[0]), str(pair[1]))
        for pair in value
        if isinstance(pair, (list, tuple)) and len(pair) == 2
    ]


@dataclass
class Matrix:
    """Which tests cover each cell; ``run``: with their outcomes (else the static view)."""

    run: bool = True
    narrowed: bool = False  # a selection (-k, -m, --id, node ids): others' cells show EMPTY
    tests: dict[Cell, set[str]] = field(default_factory=dict)
    outcomes: dict[str, str] = field(default_factory=dict)  # test -> outcome

    def add(self, test: str, cells: Iterable[Cell]) -> None:
        for cell in cells:
            self.tests.setdefault(cell, set()).add(test)

    def add_outcome(self, test: str, outcome: str) -> None:
        # A failed phase (or parametrisation) wins over a later passed one.
        if self.outcomes.get(test) not in (Outcome.FAILED, Outcome.BROKEN):
            self.outcomes[test] = outcome

    def state(self, cell: Cell) -> str:
        if cell in NOT_APPLICABLE:
            return NA
        tests = self.tests.get(cell, set())
        if not self.run:
            return str(len(tests)) if tests else EMPTY
        outcomes = {self.outcomes.get(test) for test in tests}
        if outcomes & {Outcome.FAILED, Outcome.BROKEN}:
            return FAIL
        if outcomes & PASSING:
            return OK
        return SKIP if Outcome.SKIPPED in outcomes else EMPTY

    def cells(self) -> list[Cell]:
        return [(op.name, rule.name) for op in OPERATIONS for rule in RULES]

    def empty(self) -> list[Cell]:
        return [cell for cell in self.cells() if self.state(cell) == EMPTY]

    def not_applicable_claimed(self) -> list[str]:
        """Tests that say they cover a cell the catalog calls n/a (a catalog or test error)."""
        return [
            f"{op} x {rule}: {', '.join(sorted(self.tests[(op, rule)]))}"
            for op, rule in self.cells()
            if (op, rule) in NOT_APPLICABLE and self.tests.get((op, rule))
        ]

    def table(self) -> list[str]:
        """The compact table, its legend and the EMPTY count."""
        empty = self.empty()
        head = f"{'operation':<{_WIDTH}} " + " ".join(f"{r.short:<5}" for r in RULES)
        rows = [
            f"{op.name:<{_WIDTH}} "
            + " ".join(f"{self.state((op.name, r.name)):<5}" for r in RULES).rstrip()
            for op in OPERATIONS
        ]
        columns = ", ".join(f"{r.short}={r.name}" for r in RULES)
        legend = textwrap.wrap(_LEGEND_RUN if self.run else _LEGEND_STATIC, 100)
        wrapped = textwrap.wrap(f"columns: {columns}", 100, subsequent_indent="  ")
        count = f"EMPTY cells: {len(empty)}"
        if self.narrowed:
            count += f" ({_NARROWED})"
        return [head.rstrip(), *rows, *wrapped, *legend, count]

    def details(self) -> list[str]:
        """Every cell's tests, or its n/a reason: what an auditor checks the table against."""
        lines = []
        for op, rule in self.cells():
            reason = NOT_APPLICABLE.get((op, rule))
            tests = sorted(self.tests.get((op, rule), ()))
            what = f"n/a, {reason}" if reason else ", ".join(tests) or EMPTY
            lines.append(f"{op} x {rule}: {what}")
        return lines

    def to_json(self) -> dict[str, object]:
        cells: dict[str, dict[str, object]] = {}
        for op, rule in self.cells():
            entry: dict[str, object] = {"state": self.state((op, rule))}
            if (op, rule) in NOT_APPLICABLE:
                entry["reason"] = NOT_APPLICABLE[(op, rule)]
            else:
                tests = sorted(self.tests.get((op, rule), ()))
                outcomes = {t: self.outcomes.get(t, "not run") for t in tests}
                entry["tests"] = outcomes if self.run else tests
            cells.setdefault(op, {})[rule] = entry
        return {
            "operations": {op.name: op.endpoint for op in OPERATIONS},
            "rules": {r.name: {"meaning": r.meaning, "authority": r.authority} for r in RULES},
            "cells": cells,
            "empty": [f"{op} x {rule}" for op, rule in self.empty()],
            "narrowed": self.narrowed,
        }

    def text(self) -> str:
        """The table, then every cell's tests or n/a reason."""
        return "\n".join([*self.table(), "", *self.details()]) + "\n"

    def write(self, json_path: Path, text_path: Path) -> None:
        json_path.write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")
        text_path.write_text(self.text(), encoding="utf-8")

    def environment(self) -> dict[str, str]:
        """One Allure environment entry per operation: the report shows the matrix."""
        return {f"matrix.{op.name}": self._row_text(op.name) for op in OPERATIONS}

    def _row_text(self, operation: str) -> str:
        return ", ".join(f"{r.name} {self.state((operation, r.name))}" for r in RULES)
