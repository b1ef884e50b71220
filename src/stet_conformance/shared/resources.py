"""Where the project's data directories live (scenarios/, schemas/, fixtures/).

They sit at the root of the source checkout, next to ``src/``. ``STET_CONFORMANCE_HOME`` points
elsewhere, e.g. at a bank's own copy of the scenarios.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

_MARKERS = ("scenarios", "schemas", "fixtures")


@cache
def project_root() -> Path:
    env = os.environ.get("STET_CONFORMANCE_HOME")
    if env:
        return Path(env).resolve()
    for parent in Path(__file__).resolve().parents:
        if all((parent / marker).is_dir() for marker in _MARKERS):
            return parent
    raise FileNotFoundError(
        "cannot find the scenarios/, schemas/ and fixtures/ directories; "
        "install stet-conformance from its source checkout (pip install -e .) "
        "or set STET_CONFORMANCE_HOME"
    )


def scenarios_dir() -> Path:
    return project_root() / "scenarios"


def schemas_dir() -> Path:
    return project_root() / "schemas"


def fixtures_dir() -> Path:
    return project_root() / "fixtures"
