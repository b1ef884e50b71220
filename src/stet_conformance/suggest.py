"""Did-you-mean hints: a mistyped id or key is answered with the closest known ones."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(wanted: str, known: Iterable[str]) -> str:
    """``; closest: A, B`` for a mistyped name (case-insensitive), or an empty string."""
    by_upper = {k.upper(): k for k in known}
    close = difflib.get_close_matches(wanted.upper(), list(by_upper), n=3, cutoff=0.5)
    return f"; closest: {', '.join(by_upper[c] for c in close)}" if close else ""


def unknown_names(what: str, unknown: Iterable[str], known: Iterable[str]) -> str:
    """One line for names that match nothing: ``no scenario with id X; closest: Y``."""
    names = sorted(known)
    return f"no {what} " + "; ".join(f"{u}{closest(u, names)}" for u in sorted(unknown))
