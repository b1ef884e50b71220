"""Exact selection by id: ``--stet-id TRX-1`` runs TRX-1, never TRX-10 (``-k`` matches substrings).

An id is a scenario id or a property-based test's name. An id that matches nothing is a usage
error naming the closest ids, so a typo is not a silently empty (or silently full) run.
"""

from __future__ import annotations

import pytest

from stet_conformance.suggest import unknown_names


def add_option(group: pytest.OptionGroup) -> None:
    group.addoption(
        "--stet-id",
        metavar="ID",
        action="append",
        default=[],
        help="run only this scenario id or property test name, exactly (repeatable)",
    )


def item_id(item: pytest.Item) -> str:
    """A scenario's id, or a suite test's function name (without parameters)."""
    return str(getattr(item, "originalname", None) or item.name)


def select(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep the items whose id is one of ``--stet-id`` (all of them when none is given)."""
    wanted = list(dict.fromkeys(config.getoption("--stet-id")))
    if not wanted:
        return
    known = sorted({item_id(item) for item in items})
    missing = [w for w in wanted if w not in known]
    if missing:
        raise pytest.UsageError(
            f"--id: {unknown_names('scenario or test with id', missing, known)}"
        )
    keep = [item for item in items if item_id(item) in wanted]
    dropped = [item for item in items if item_id(item) not in wanted]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = keep


def narrowed(config: pytest.Config) -> bool:
    """Whether the run runs a selection (``--stet-id``, ``-k``, ``-m``, node ids), so the
    traceability matrix's EMPTY cells may only be outside it."""
    return bool(
        config.getoption("--stet-id")
        or getattr(config.option, "keyword", "")
        or getattr(config.option, "markexpr", "")
        or any("::" in str(arg) for arg in config.args)
    )
