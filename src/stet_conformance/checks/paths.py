"""A small path language over JSON bodies, for data assertions and captures.

``a.b[0].c`` walks keys and indices; ``a[*].b`` fans out over a list; ``a[k=v]`` keeps the list
items whose key ``k`` equals ``v``. A key missing at the end of a path yields ``MISSING`` (so
``transactions[*].entryReference`` gives one value per transaction); anything else that does not
exist yields no value.
"""

from __future__ import annotations

import re
from typing import Any

_TOKEN = re.compile(r"\.?([^.\[\]]+)|\[(\*|-?\d+|[^=\]]+=[^\]]*)\]")


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()


class PathSyntaxError(ValueError):
    """A path that the language cannot parse."""


def _tokens(path: str) -> list[str]:
    tokens: list[str] = []
    pos = 0
    while pos < len(path):
        match = _TOKEN.match(path, pos)
        if match is None or match.end() == pos:
            raise PathSyntaxError(f"cannot parse path {path!r} at position {pos}")
        tokens.append(match.group(1) if match.group(1) is not None else f"[{match.group(2)}]")
        pos = match.end()
    return tokens


def resolve(document: Any, path: str) -> list[Any]:
    """All values at ``path`` in ``document`` (see the module docstring)."""
    values = [document]
    tokens = _tokens(path)
    for position, token in enumerate(tokens):
        last = position == len(tokens) - 1
        nxt: list[Any] = []
        for value in values:
            nxt.extend(_step(value, token, last))
        values = nxt
    return values


def _step(value: Any, token: str, last: bool) -> list[Any]:
    if token == "[*]":
        return list(value) if isinstance(value, list) else []
    if token.startswith("["):
        inner = token[1:-1]
        if "=" in inner:
            key, wanted = inner.split("=", 1)
            if not isinstance(value, list):
                return []
            return [i for i in value if isinstance(i, dict) and str(i.get(key)) == wanted]
        index = int(inner)
        if isinstance(value, list) and -len(value) <= index < len(value):
            return [value[index]]
        return [MISSING] if last else []
    if isinstance(value, dict):
        if token in value:
            return [value[token]]
        return [MISSING] if last else []
    return []
