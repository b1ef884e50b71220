"""``{{ ... }}`` expressions in scenario values: persona data, captures, dates relative to today.

An expression is either a dotted path into the context (``LEA.accounts.0.resource_id``,
``saved.first_date``, ``unknown_account``) or a call of one of ``FUNCTIONS``, optionally followed
by a dotted path into its result (``account('LEA', 'negative').resource_id``). A value that is
exactly one expression keeps its type; expressions inside a longer string are formatted as text.
The functions of ``DATA_FUNCTIONS`` read what the profile declares of a persona (``declared``);
``disposable_refresh_token('LEA', 'aisp')`` is the disposable refresh token the scenario took
(the runner's ``DISPOSABLE`` taker in the context: one token per scenario run), and
``authorization_code('LEA', 'aisp')`` the fresh authorization code it took (``.code``,
``.redirect_uri``, ``.code_verifier``; the ``CODES`` taker: one code per scenario run).
An argument is a literal (a whole number, quoted text) or a dotted path into the context
(``saved.day``), read when the expression is rendered. An account the profile does not declare
for a role raises ``NotDeclared``: the scenario is skipped, naming the persona, the role and the
profile key.
"""

from __future__ import annotations

import datetime as dt
import inspect
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, get_type_hints
from zoneinfo import ZoneInfo

from stet_conformance.config.persona_tokens import TOKEN_SCOPES
from stet_conformance.config.profile import fixture_personas
from stet_conformance.errors import ScenarioError
from stet_conformance.scenario import declared
from stet_conformance.shared.dates import day_start

# The inner part may not contain "}}", so "{{ a }}-{{ b }}" is two expressions, not one.
_EXPR = re.compile(r"\{\{\s*((?:(?!\}\}).)+?)\s*\}\}")
CALL = re.compile(r"([a-z_]+)\((.*)\)((?:\.[A-Za-z0-9_]+)*)")
_ARG = re.compile(
    r"\s*(-?\d+|\"[^\"]*\"|'[^']*'|[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_-]+)+)\s*(?:,|$)"
)


MAX_DAYS = 36_600  # date offsets: a century either way
MAX_REPEAT = 1_000_000  # characters repeat() may produce


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _date(days: int = 0) -> str:
    if abs(days) > MAX_DAYS:
        raise ScenarioError(f"days must be between -{MAX_DAYS} and {MAX_DAYS}")
    return (_today() + dt.timedelta(days=days)).isoformat()


def _datetime(days: int = 0, offset: str = "Z") -> str:
    return f"{_date(days)}T00:00:00.000{offset}"


IMPUTATION_ZONE = "target.imputation_timezone"  # the profile's imputation.timezone


def _day_start(context: Context, day: int | str) -> Any:
    """00:00 of a day in the bank's imputation zone, as ``YYYY-MM-DDTHH:MM:SS.SSS+HH:MM``.

    ``day``: days from today (UTC, as ``date()``) or a ``YYYY-MM-DD`` date. A transaction dated
    that day is imputed at this instant (profile ``imputation``), so it is the exact boundary.
    """
    if isinstance(day, str) and is_placeholder(day):  # a dry run's saved value
        return f"{day}T00:00:00.000" + ("Z" if _zone(context or {}) is dt.UTC else "+HH:MM")
    try:
        date = dt.date.fromisoformat(_date(day) if isinstance(day, int) else day)
    except ValueError:
        raise ScenarioError("day must be a number of days or a YYYY-MM-DD date") from None
    if context is None:
        return None
    start = day_start(date, _zone(context)).isoformat(timespec="milliseconds")
    return start.replace("+00:00", "Z")


def saved_placeholder(name: str) -> str:
    """What a saved value reads as in a dry run, where nothing was received."""
    return f"<saved.{name}>"


def is_placeholder(value: str) -> bool:
    return value.startswith("<saved.") and value.endswith(">")


def _zone(context: Mapping[str, Any]) -> dt.tzinfo:
    """The profile's imputation zone (UTC when the context names none)."""
    try:
        name = str(lookup(context, IMPUTATION_ZONE))
    except UnknownVariable:
        return dt.UTC
    return dt.UTC if name == "UTC" else ZoneInfo(name)


def _repeat(text: str, count: int) -> str:
    if count < 0 or len(text) * count > MAX_REPEAT:
        raise ScenarioError(f"count must be >= 0 and the result at most {MAX_REPEAT} characters")
    return text * count


def _uuid() -> str:
    return str(uuid.uuid4())


class UnknownVariable(KeyError):
    """A path that the context does not contain."""


class NotDeclared(Exception):
    """The profile declares no account of a persona for a role: the scenario cannot run there."""


@dataclass(frozen=True)
class Ref:
    """A function argument that is a dotted path into the context (``saved.day``)."""

    path: str


Context = Mapping[str, Any] | None  # None: the loader checks the arguments, nothing is read


def _persona(context: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = lookup(context, name)
    if not isinstance(value, Mapping):
        raise UnknownVariable(name)
    return value


def _account(context: Context, persona: str, role: str) -> Any:
    """The first account of ``persona`` the profile declares for ``role`` (``declared.ROLES``)."""
    if role not in declared.ROLES:
        raise ScenarioError(f"unknown account role {role!r} (known: {', '.join(declared.ROLES)})")
    if context is None:
        return None
    found = declared.select_account(_persona(context, persona), role)
    if found is None:
        raise NotDeclared(declared.undeclared(persona, role))
    return found


def _empty_entry_references(context: Context, persona: str) -> Any:
    """``empty:`` for the account of role empty_entry_reference: every entryReference empty
    (true) when the profile declares it has none, at least one ("some") otherwise."""
    found = _account(context, persona, "empty_entry_reference")
    if found is None:
        return None
    return True if declared.entry_reference(found) == "none" else "some"


def _consent_body(context: Context, persona: str) -> Any:
    """The PUT /consents body that restores the persona's recorded consent."""
    return None if context is None else declared.consent_body(_persona(context, persona))


def _ibans(context: Context, persona: str) -> Any:
    if context is None:
        return None
    return [str(a.get("iban")) for a in declared.accounts(_persona(context, persona))]


def _account_count(context: Context, persona: str) -> Any:
    return None if context is None else len(declared.accounts(_persona(context, persona)))


def _history_start(context: Context, persona: str) -> Any:
    """The first day the bank serves: ``history_days`` before today (UTC)."""
    if context is None:
        return None
    return _date(-declared.history_days(_persona(context, persona)))


def _beyond_history(context: Context, persona: str) -> Any:
    """A dateFrom a week before the first day served: the bank must refuse it (400)."""
    if context is None:
        return None
    return _datetime(-declared.history_days(_persona(context, persona)) - 8)


DISPOSABLE = "__disposable__"  # the context's taker: (persona, scope) -> refresh token
CODES = "__authorization_code__"  # the context's taker: (persona, scope) -> code, verifier, uri


def _taken(context: Context, taker: str, persona: str, scope: str, what: str) -> Any:
    """What the scenario run's ``taker`` holds for ``persona`` and ``scope``."""
    if persona not in fixture_personas()["personas"]:
        raise ScenarioError(f"unknown persona {persona}")
    if scope not in TOKEN_SCOPES:
        raise ScenarioError(f"unknown scope {scope} (known: {', '.join(TOKEN_SCOPES)})")
    if context is None:
        return None
    take = context.get(taker)
    if take is None:
        raise ScenarioError(f"{what} are given to scenario steps only")
    return take(persona, scope)


def _disposable_refresh_token(context: Context, persona: str, scope: str) -> Any:
    """The disposable refresh token this scenario run holds for ``persona`` and ``scope``."""
    return _taken(context, DISPOSABLE, persona, scope, "disposable refresh tokens")


def _authorization_code(context: Context, persona: str, scope: str) -> Any:
    """The fresh authorization code this scenario run holds: ``code``, ``redirect_uri``,
    ``code_verifier`` (null without PKCE)."""
    return _taken(context, CODES, persona, scope, "authorization codes")


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "date": _date,
    "datetime": _datetime,
    "uuid": _uuid,
    "repeat": _repeat,
    "account": _account,
    "consent_body": _consent_body,
    "empty_entry_references": _empty_entry_references,
    "ibans": _ibans,
    "account_count": _account_count,
    "day_start": _day_start,
    "history_start": _history_start,
    "beyond_history": _beyond_history,
    "disposable_refresh_token": _disposable_refresh_token,
    "authorization_code": _authorization_code,
}
DATA_FUNCTIONS = frozenset(
    {
        "account",
        "consent_body",
        "empty_entry_references",
        "ibans",
        "account_count",
        "history_start",
        "beyond_history",
    }
)
# called with the context
CONTEXT_FUNCTIONS = DATA_FUNCTIONS | {"disposable_refresh_token", "authorization_code", "day_start"}
_TYPE_NAMES = {int: "a whole number", str: "quoted text", int | str: "a whole number or text"}


TAKERS = ("disposable_refresh_token", "authorization_code")


def taken(values: Any) -> set[tuple[str, str, str]]:
    """(function, persona, scope) of the ``TAKERS`` calls in ``values``: what scenarios consume
    (``doctor`` reports the supply of each)."""
    found: set[tuple[str, str, str]] = set()
    for expression in expressions(values):
        match = CALL.fullmatch(expression)
        if match is not None and match.group(1) in TAKERS:
            persona, scope = _parse_args(match.group(1), match.group(2))
            found.add((match.group(1), str(persona), str(scope)))
    return found


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


def _parse_args(name: str, text: str) -> list[Any]:
    args: list[Any] = []
    pos = 0
    while pos < len(text):
        match = _ARG.match(text, pos)
        if match is None:
            raise ScenarioError(
                f"{name}({text}): bad function arguments (whole numbers and quoted text only)"
            )
        token = match.group(1)
        if token.lstrip("-").isdigit():
            args.append(int(token))
        else:
            args.append(token[1:-1] if token[0] in "'\"" else Ref(token))
        pos = match.end()
    return args


def saved_names(expression: str) -> list[str]:
    """The saved values ``expression`` reads (itself, or arguments of its call)."""
    found = CALL.fullmatch(expression)
    paths = [expression] if found is None else []
    if found is not None:
        try:
            args = _parse_args(found.group(1), found.group(2))
            paths = [a.path for a in args if isinstance(a, Ref)]
        except ScenarioError:
            paths = []
    return [p.split(".")[1] for p in paths if p.startswith("saved.")]


def call(name: str, arguments: str, context: Context = None) -> Any:
    """``name(arguments)``; a wrong name, argument or bound is a ``ScenarioError``.

    The arguments are literals, so the loader calls this once per expression (without a
    context) to refuse a bad one at load time, before any request is sent.
    """
    function = FUNCTIONS.get(name)
    if function is None:
        raise ScenarioError(f"unknown function {name}() (known: {', '.join(sorted(FUNCTIONS))})")
    args = _parse_args(name, arguments)
    if context is not None:  # a path argument is read now; at load time only its name is known
        args = [lookup(context, a.path) if isinstance(a, Ref) else a for a in args]
    signature = inspect.signature(function)
    if name in CONTEXT_FUNCTIONS:  # the context is not an argument of the expression
        signature = signature.replace(parameters=list(signature.parameters.values())[1:])
    try:
        bound = signature.bind(*args)
    except TypeError as exc:
        raise ScenarioError(f"{name}({arguments}): {exc}") from None
    hints = get_type_hints(function)
    for parameter, value in bound.arguments.items():
        if not isinstance(value, Ref | hints[parameter]):
            wanted = _TYPE_NAMES[hints[parameter]]
            raise ScenarioError(f"{name}({arguments}): {parameter} must be {wanted}")
    if any(isinstance(a, Ref) for a in args):
        return None  # load time: the path's value is only known to the run
    try:
        return function(context, *args) if name in CONTEXT_FUNCTIONS else function(*args)
    except ScenarioError as exc:
        raise ScenarioError(f"{name}({arguments}): {exc}") from None


def evaluate(expression: str, context: Mapping[str, Any]) -> Any:
    found = CALL.fullmatch(expression)
    if found is None:
        return lookup(context, expression)
    value = call(found.group(1), found.group(2), context)
    if not found.group(3):
        return value
    try:
        return lookup(value, found.group(3)[1:])
    except UnknownVariable:
        raise UnknownVariable(expression) from None


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
