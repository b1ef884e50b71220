"""Load-time check of persona-data references: ``{{ LEA.acounts.0.iban }}`` fails before sending.

A reference names a persona (``LEA``, or ``persona`` for the step's own) and a path into its data.
A profile may override the fixture's values and add list items, so only names are checked, and
only where ``fixtures/personas.yaml`` has a mapping: a key no fixture persona has anywhere at
that level cannot be in a profile's data either (a scenario reads the same keys of every bank).
List indexes, values and other namespaces (``saved``, ``target``, ``credentials``, a profile's
``vars``) are left to the run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from stet_conformance.config.profile import fixture_personas
from stet_conformance.suggest import did_you_mean

STEP_PERSONA = "persona"  # the step's persona: any persona's keys


def check_reference(expression: str) -> str | None:
    """Why ``expression`` names persona data that cannot exist, or None when it may exist."""
    personas: Mapping[str, Any] = fixture_personas()["personas"]
    head, *rest = expression.split(".")
    if head not in personas and head != STEP_PERSONA:
        return _unknown_persona(head, rest, personas)
    nodes: list[Any] = list(personas.values())
    for depth, part in enumerate(rest):
        mappings = [node for node in nodes if isinstance(node, Mapping)]
        if mappings and len(mappings) == len(nodes):
            keys = {str(key) for node in mappings for key in node}
            if part not in keys:
                where = ".".join([head, *rest[:depth]])
                return (
                    f"{part!r} is not a key of {where} (no persona of fixtures/personas.yaml has "
                    f"it there){did_you_mean(part, keys)}"
                )
            nodes = [node[part] for node in mappings if part in node]
        elif all(isinstance(node, list) for node in nodes) and part.isdigit():
            nodes = [item for node in nodes for item in node]
        else:
            return None  # a value, an index or mixed data: decided by the run
    return None


def _unknown_persona(head: str, rest: Iterable[str], personas: Mapping[str, Any]) -> str | None:
    """A capitalised name close to a persona's, followed by a path, is a misspelled persona.

    Anything else may be one of the profile's ``vars``, which only the run knows.
    """
    if not (head.isalpha() and head.isupper() and list(rest)):
        return None
    hint = did_you_mean(head, personas)  # the costly part, last: most names are not personas
    return f"unknown persona {head}{hint}" if hint else None
