"""Did-you-mean hints: a mistyped id or key is answered with the closest known ones."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def _close(wanted: str, known: Iterable[str], count: int) -> list[str]:
    """Up to ``count`` known names closest to ``wanted``, ignoring case, best first."""
    by_upper = {k.upper(): k for k in known}
    close = difflib.get_close_matches(wanted.upper(), list(by_upper), n=count, cutoff=0.5)
    return [by_upper[c] for c in close]


def closest(wanted: str, known: Iterable[str]) -> str:
    """``; closest: A, B`` for a mistyped name (case-insensitive), or an empty string."""
    close = _close(wanted, known, 3)
    return f"; closest: {', '.join(close)}" if close else ""


def did_you_mean(wanted: str, known: Iterable[str]) -> str:
    """``; did you mean 'A'?`` for a mistyped key or name, or an empty string."""
    close = _close(wanted, known, 1)
    return f"; did you mean {close[0]!r}?" if close else ""


def unknown_names(what: str, unknown: Iterable[str], known: Iterable[str]) -> str:
    """One line for names that match nothing: ``no scenario with id X; closest: Y``."""
    names = sorted(known)
    return f"no {what} " + "; ".join(f"{u}{closest(u, names)}" for u in sorted(unknown))
