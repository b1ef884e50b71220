"""YAML loading that remembers where each value came from, for error messages with a line.

``load_yaml`` returns plain Python data plus a ``Positions`` map from a key path (a tuple of keys
and indices) to its 1-based line, so a JSON Schema error or a semantic check can say
``profile.yaml:12: personas.LEA.tokens: ...`` instead of a traceback.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema_rs
import yaml

from stet_conformance.errors import UsageError
from stet_conformance.suggest import did_you_mean

if TYPE_CHECKING:
    import jsonschema

PathKey = tuple[str | int, ...]


@dataclass
class Positions:
    """Line numbers of the nodes of one YAML document."""

    file: Path
    lines: dict[PathKey, int] = field(default_factory=dict)

    def line(self, path: Sequence[str | int]) -> int:
        """The line of the deepest known node on ``path``."""
        key = tuple(path)
        while key not in self.lines and key:
            key = key[:-1]
        return self.lines.get(key, 1)

    def where(self, path: Sequence[str | int]) -> str:
        return f"{self.file}:{self.line(path)}"


_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ~8x faster


class _Loader(_Base):  # type: ignore[valid-type, misc]
    """Safe loader that rejects duplicate keys (a silent YAML footgun in test files).

    Booleans are YAML 1.2's, ``true`` and ``false`` only: YAML 1.1 also reads ``on``, ``off``,
    ``yes`` and ``no`` as booleans, which turned ``retries: {on: [...]}`` into a key ``True``.
    """


_BOOL_TAG = "tag:yaml.org,2002:bool"
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL_TAG]
    for first, resolvers in _Base.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _construct_mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _walk(node: yaml.Node, path: PathKey, out: dict[PathKey, int]) -> None:
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            out[(*path, key)] = key_node.start_mark.line + 1
            _walk(value_node, (*path, key), out)
            out[(*path, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), out)


class _AliasBomb(Exception):
    """Aliases expand the document past the budget; ``use`` is the 1-based alias at fault."""

    def __init__(self, use: int, recursive: bool) -> None:
        super().__init__(use)
        self.use = use
        self.recursive = recursive


class _AliasBudget:
    """Counts the values aliases add when the node tree is expanded, without expanding it.

    Each distinct node is visited once and its expanded size remembered, so nine levels of nine
    aliases cost 90 steps here, not the 387 million values a consumer of the data would see.
    """

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.added = 0
        self.uses = 0
        self.sizes: dict[int, int] = {}

    def size(self, node: yaml.Node) -> int:
        """The number of values ``node`` stands for once every alias in it is expanded."""
        self.sizes[id(node)] = -1  # being expanded: an alias to it is recursive
        total = 1
        for child in _children(node):
            known = self.sizes.get(id(child))
            if known is None:
                total += self.size(child)
                continue
            self.uses += 1
            self.added += known
            if known < 0 or self.added > self.budget:
                raise _AliasBomb(self.uses, recursive=known < 0)
            total += known
        self.sizes[id(node)] = total
        return total


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _alias_line(text: str, use: int) -> int:
    """The line of the ``use``-th alias (``*name``) of ``text``, in document order."""
    seen = 0
    for event in yaml.parse(text, Loader=_Base):
        if isinstance(event, yaml.AliasEvent):
            seen += 1
            if seen == use and event.start_mark is not None:
                return int(event.start_mark.line) + 1
    return 1


def _check_aliases(node: yaml.Node, text: str, path: Path, what: str, budget: int) -> None:
    """Refuse a document whose aliases would expand it by more than ``budget`` values."""
    try:
        _AliasBudget(budget).size(node)
    except _AliasBomb as bomb:
        if bomb.recursive:
            problem = "a YAML alias inside its own anchor (endless data)"
        elif budget == 0:
            problem = f"YAML aliases (*name) are not allowed in a {what}"
        else:
            problem = (
                f"YAML aliases expand this {what} by more than {budget} values (an alias bomb?); "
                "write the values out"
            )
        raise UsageError(f"{path}:{_alias_line(text, bomb.use)}: {problem}") from None


def load_yaml(path: Path, what: str, alias_budget: int = 0) -> tuple[Any, Positions]:
    """Parse ``path``; any problem becomes a ``UsageError`` naming the file and line.

    Aliases may add at most ``alias_budget`` values to the document (none by default), so a
    YAML "billion laughs" is refused before anything expands it.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{what} not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {what} {path}: {exc}") from None
    positions = Positions(path)
    loader = _Loader(text)
    try:  # compose once, keep the node tree for line numbers, construct from it
        node = loader.get_single_node()
        if node is not None and "&" in text:  # an alias needs an anchor (&name): else no walk
            _check_aliases(node, text, path, what, alias_budget)
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problem = exc.problem or exc.context or "invalid YAML"
        raise UsageError(f"{path}:{line}: invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise UsageError(f"{path}: invalid YAML: {exc}") from None
    finally:
        loader.dispose()
    if node is not None:
        _walk(node, (), positions.lines)
    return data, positions


def dotted(path: Iterable[str | int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


@cache
def _fast(schema_json: str) -> Any:
    return jsonschema_rs.validator_for(json.loads(schema_json), validate_formats=False)


@cache
def _validator(schema_json: str) -> jsonschema.Draft202012Validator:
    import jsonschema

    return jsonschema.Draft202012Validator(json.loads(schema_json))


def _surely_valid(data: Any, schema_json: str) -> bool:
    """The compiled validator's verdict; ``False`` (let the words decide) for YAML values
    JSON has no type for, a date or a set, which it refuses to read."""
    try:
        return bool(_fast(schema_json).is_valid(data))
    except ValueError:
        return False


def validate(data: Any, schema: dict[str, Any], positions: Positions) -> None:
    """Validate against a JSON Schema; report the most relevant error with its line.

    ``jsonschema-rs`` decides (the scenario files: ~1 ms, against ~60 ms); the pure-Python
    ``jsonschema`` finds the error to word (and is imported) only when it is not.
    Messages describe what is expected, never the offending value: a token pasted in the
    wrong place must not end up in a terminal or a CI log.
    """
    key = json.dumps(schema, sort_keys=True)
    if _surely_valid(data, key):
        return
    import jsonschema

    validator = _validator(key)
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is None:
        return
    path: list[str | int] = list(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        extra = sorted(str(k) for k in error.instance if k not in allowed)
        if extra:
            path.append(extra[0])
            hint = did_you_mean(extra[0], allowed - set(error.instance))
            raise UsageError(f"{positions.where(path)}: {dotted(path)}: unknown key{hint}")
    if "propertyNames" in error.absolute_schema_path:  # error.instance is the key itself
        path.append(str(error.instance))
        names = f" (known: {', '.join(error.validator_value)})" if error.validator == "enum" else ""
        raise UsageError(f"{positions.where(path)}: {dotted(path)}: unknown name{names}")
    raise UsageError(f"{positions.where(path)}: {dotted(path)}: {_describe(error)}")


_BOUNDS = {
    "minLength": "must be at least {} characters long",
    "maxLength": "must be at most {} characters long",
    "minimum": "must be >= {}",
    "maximum": "must be <= {}",
    "exclusiveMinimum": "must be > {}",
    "minItems": "must have at least {} item(s)",
    "minProperties": "must have at least {} key(s)",
    "pattern": "does not have the expected form (pattern {})",
    "const": "must be {!r}",
}
_SHAPES = {
    "oneOf": "does not match any allowed form (check which keys are used together)",
    "anyOf": "does not match any allowed form",
    "not": "uses keys that cannot be used together",
}


def _describe(error: jsonschema.ValidationError) -> str:
    """What the schema expects, from the schema side only (never the instance)."""
    kind = str(error.validator)
    expected: Any = error.validator_value
    if kind == "required":
        missing = [
            k for k in expected if isinstance(error.instance, dict) and k not in error.instance
        ]
        return f"missing key: {', '.join(repr(k) for k in missing or expected)}"
    if kind == "type":
        types = expected if isinstance(expected, list) else [expected]
        return f"must be of type {' or '.join(types)}"
    if kind == "enum":
        return f"must be one of {', '.join(str(v) for v in expected)}"
    if kind == "dependentRequired" and isinstance(error.instance, dict):
        present = error.instance
        needs = [
            f"{key} needs {', '.join(k for k in keys if k not in present)}"
            for key, keys in expected.items()
            if key in present and any(k not in present for k in keys)
        ]
        return f"missing a key that another one requires ({'; '.join(needs)})"
    if kind in _BOUNDS:
        return _BOUNDS[kind].format(expected)
    return _SHAPES.get(kind, f"is not valid ({kind})")
