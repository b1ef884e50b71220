"""JSON Schemas of STET resources (``schemas/stet/*.json``), loaded and compiled once per run.

Two validators per schema: ``jsonschema-rs`` (compiled, ~1 us per body) decides whether a body
is valid; the pure-Python ``jsonschema`` words the errors, and runs (and is imported) only for
invalid bodies. A test checks that both agree on every valid and invalid example of
``tests/schemas``.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema_rs

from stet_conformance.shared.resources import schemas_dir

if TYPE_CHECKING:
    import jsonschema


class SchemaStore:
    """Compiled validators by schema name (the file stem)."""

    def __init__(self, directory: Path) -> None:
        self._schemas: dict[str, dict[str, Any]] = {}
        for path in sorted(directory.glob("*.json")):
            self._schemas[path.stem] = json.loads(path.read_text(encoding="utf-8"))
        self._validators: dict[str, jsonschema.protocols.Validator] = {}
        self._fast_registry = jsonschema_rs.Registry(
            [(schema["$id"], schema) for schema in self._schemas.values()]
        )
        self._fast: dict[str, Any] = {}

    def is_valid(self, name: str, document: Any) -> bool:
        if name not in self._fast:
            self._fast[name] = jsonschema_rs.validator_for(
                self._schemas[name], registry=self._fast_registry, validate_formats=True
            )
        return bool(self._fast[name].is_valid(document))

    def names(self) -> set[str]:
        return set(self._schemas)

    def validator(self, name: str) -> jsonschema.protocols.Validator:
        if name not in self._validators:
            import jsonschema
            from referencing import Registry, Resource

            resources = [(s["$id"], Resource.from_contents(s)) for s in self._schemas.values()]
            self._validators[name] = jsonschema.Draft202012Validator(
                self._schemas[name],
                registry=Registry().with_resources(resources),
                format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
            )
        return self._validators[name]

    def errors(self, name: str, document: Any, limit: int = 5) -> list[str]:
        """Readable schema violations, each prefixed with where in the body it is."""
        if self.is_valid(name, document):
            return []
        messages = []
        for error in sorted(self.validator(name).iter_errors(document), key=lambda e: e.path):
            where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.path)
            messages.append(f"{where or '(body)'}: {error.message[:200]}")
            if len(messages) >= limit:
                break
        return messages


@cache
def default_store() -> SchemaStore:
    return SchemaStore(schemas_dir() / "stet")
