"""JSON bodies from a target, refused when nested deeper than the harness's code can walk.

``json.loads`` raises ``RecursionError`` near a thousand levels, and the checks, the redactor and
the reports walk bodies recursively; a hostile body nested 100,000 deep must end as a clear
error, not a traceback.
"""

from __future__ import annotations

import json
from typing import Any

MAX_JSON_DEPTH = 100  # STET bodies nest about 8 deep


class JSONTooDeep(ValueError):
    """A JSON document nested deeper than ``MAX_JSON_DEPTH``."""


def loads(content: bytes | str) -> Any:
    """JSON from ``content``; ``JSONTooDeep`` beyond ``MAX_JSON_DEPTH`` nested arrays/objects."""
    try:
        value = json.loads(content)
    except RecursionError:
        raise JSONTooDeep(f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
    if _openers(content) > MAX_JSON_DEPTH and _deeper_than_allowed(value):
        raise JSONTooDeep(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    return value


def _openers(content: bytes | str) -> int:
    """How many ``{`` and ``[`` ``content`` holds: no document nests deeper (a C-speed bound
    that spares almost every body the walk)."""
    if isinstance(content, str):
        return content.count("{") + content.count("[")
    return content.count(b"{") + content.count(b"[")


def _deeper_than_allowed(value: Any) -> bool:
    """Whether arrays and objects nest deeper than ``MAX_JSON_DEPTH``, level by level."""
    level = [value] if isinstance(value, dict | list) else []
    for _ in range(MAX_JSON_DEPTH):
        if not level:
            return False
        level = [
            child
            for node in level
            for child in (node.values() if isinstance(node, dict) else node)
            if isinstance(child, dict | list)
        ]
    return bool(level)
