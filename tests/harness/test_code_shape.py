"""Small functions (RULES: under 60 lines), checked on the source with ``ast``.

A function is measured from its ``def`` line to its last line, docstring and nested functions
included: what a reader has to hold in mind at once.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
MAX_LINES = 60


def long_functions(source: str, name: str, limit: int = MAX_LINES) -> list[str]:
    """``file:line name (N lines)`` for every function of ``source`` longer than ``limit``."""
    found = []
    for node in ast.walk(ast.parse(source, name)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > limit:
                found.append(f"{name}:{node.lineno} {node.name} ({length} lines)")
    return found


def test_no_function_in_src_is_longer_than_60_lines() -> None:
    found = [
        problem
        for path in sorted(SRC.rglob("*.py"))
        for problem in long_functions(path.read_text(encoding="utf-8"), str(path.relative_to(SRC)))
    ]
    assert found == []


def test_the_measure_counts_from_def_to_the_last_line() -> None:
    exactly = "def f():\n" + "".join(f"    x{i} = {i}\n" for i in range(59))  # 60 lines
    assert long_functions(exactly, "a.py") == []
    longer = "class C:\n    def g(self):\n" + "".join(f"        x{i} = {i}\n" for i in range(60))
    assert long_functions(longer, "b.py") == ["b.py:2 g (61 lines)"]
