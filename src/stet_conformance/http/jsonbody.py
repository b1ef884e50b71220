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
    level = [value] if isinstance(value, dict | list) else []
    for _ in range(MAX_JSON_DEPTH):
        level = [
            child
            for node in level
            for child in (node.values() if isinstance(node, dict) else node)
            if isinstance(child, dict | list)
        ]
    if level:
        raise JSONTooDeep(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    return value
