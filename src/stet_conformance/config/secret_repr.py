"""One printed form for objects that hold secrets: their ``__repr__``, wherever they are printed.

pytest prints function arguments with ``repr``, but Hypothesis (like IPython) prints a dataclass
field by field, whatever its ``__repr__``, unless the object has a ``_repr_pretty_`` method: a
failing property-based test would print every token of the profile it was given.
"""

from __future__ import annotations

from typing import Any


class SecretHolder:
    """Base of classes holding tokens or passphrases; they define a ``__repr__`` naming none."""

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))
