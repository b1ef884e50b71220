"""``{{ ... }}`` expressions in scenario values: persona data, captures, dates relative to today.

An expression is either a dotted path into the context (``LEA.accounts.0.resource_id``,
``saved.first_date``, ``unknown_account``) or a call of one of ``FUNCTIONS``. A value that is
exactly one expression keeps its type; expressions inside a longer string are formatted as text.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from stet_conformance.errors import ScenarioError

# The inner part may not contain "}}", so "{{ a }}-{{ b }}" is two expressions, not one.
_EXPR = re.compile(r"\{\{\s*((?:(?!\}\}).)+?)\s*\}\}")
CALL = re.compile(r"([a-z_]+)\((.*)\)")
_ARG = re.compile(r"\s*(-?\d+|\"[^\"]*\"|'[^']*')\s*(?:,|$)")


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _date(days: int = 0) -> str:
    return (_today() + dt.timedelta(days=days)).isoformat()


def _datetime(days: int = 0, offset: str = "Z") -> str:
    return f"{_date(days)}T00:00:00.000{offset}"


def _repeat(text: str, count: int) -> str:
    return text * count


FUNCTIONS: dict[str, Callable[..., str]] = {
    "date": _date,
    "datetime": _datetime,
    "uuid": lambda: str(uuid.uuid4()),
    "repeat": _repeat,
}


class UnknownVariable(KeyError):
    """A path that the context does not contain."""


def lookup(context: Mapping[str, Any], path: str) -> Any:
    value: Any = context
    for part in path.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise UnknownVariable(path)
    return value


def _parse_args(text: str) -> list[Any]:
    args: list[Any] = []
    pos = 0
    while pos < len(text):
        match = _ARG.match(text, pos)
        if match is None:
            raise ScenarioError(f"bad function arguments: ({text})")
        token = match.group(1)
        args.append(int(token) if token.lstrip("-").isdigit() else token[1:-1])
        pos = match.end()
    return args


def evaluate(expression: str, context: Mapping[str, Any]) -> Any:
    call = CALL.fullmatch(expression)
    if call is not None:
        function = FUNCTIONS.get(call.group(1))
        if function is None:
            raise ScenarioError(
                f"unknown function {call.group(1)}() (known: {', '.join(sorted(FUNCTIONS))})"
            )
        return function(*_parse_args(call.group(2)))
    return lookup(context, expression)


def render(value: Any, context: Mapping[str, Any]) -> Any:
    """Render every expression in ``value`` (recursively through lists and mappings)."""
    if isinstance(value, dict):
        return {render(k, context): render(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [render(item, context) for item in value]
    if not isinstance(value, str) or "{{" not in value:
        return value
    whole = _EXPR.fullmatch(value.strip())
    if whole is not None:
        return evaluate(whole.group(1), context)
    return _EXPR.sub(lambda m: str(evaluate(m.group(1), context)), value)


def expressions(value: Any) -> list[str]:
    """Every expression text in ``value``, for static checks at load time."""
    if isinstance(value, dict):
        return [e for k, v in value.items() for e in expressions(k) + expressions(v)]
    if isinstance(value, list):
        return [e for item in value for e in expressions(item)]
    if isinstance(value, str):
        return [m.group(1) for m in _EXPR.finditer(value)]
    return []
