"""What a step expects of a response: one typed field per ``expect`` key of a scenario.

Each check owns one key (``Check.key`` in ``checks/__init__.py``). An ``Expect`` is built from
the YAML as written, so text values may still hold ``{{ }}`` expressions: the scenario engine
renders them (``rendered``) just before the checks run; ``status`` may list expressions too
(``"{{ target.signature_status }}"``: the codes a profile declares), kept apart until then.
``given`` remembers which keys the author wrote: a profile override or a ``recommend:`` block
replaces only those (``merged``), and a ``recommend:`` runs only the checks that own them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Renderer = Callable[[Any], Any]


@dataclass(frozen=True)
class Expect:
    """The properties a response must have; each field is one key of a scenario's ``expect``."""

    status: tuple[int, ...] = ()
    status_expressions: tuple[str, ...] = ()  # each gives a code or a list of codes when rendered
    schema: str | None = None
    content_type: str | None = None
    body_empty: bool | None = None  # None: only a 204 must be empty
    request_id_echo: bool = True
    error_model: bool | None = None  # None: on 4xx/5xx, unless oauth_error is set
    oauth_error: tuple[str, ...] = ()  # the codes the sources allow; () when none is expected
    data: tuple[dict[str, Any], ...] = ()
    given: frozenset[str] = frozenset()  # the keys the author wrote

    @classmethod
    def of(cls, raw: Mapping[str, Any]) -> Expect:
        """An expectation from its YAML mapping; a key no check owns is a ``ValueError``."""
        return cls(**_fields(raw), given=frozenset(raw))

    def merged(self, other: Expect) -> Expect:
        """This expectation with the keys ``other`` gives replaced by its values."""
        values = {key: getattr(other, key) for key in other.given}
        if "status" in other.given:
            values["status_expressions"] = other.status_expressions
        return dataclasses.replace(self, **values, given=self.given | other.given)

    def rendered(self, render: Renderer) -> Expect:
        """The same expectation with ``render`` applied to every value an expression may fill."""
        codes = [code for e in self.status_expressions for code in statuses(render(e))]
        return dataclasses.replace(
            self,
            status=tuple(dict.fromkeys([*self.status, *codes])),
            status_expressions=(),
            content_type=_text(render, self.content_type),
            oauth_error=tuple(str(render(code)) for code in self.oauth_error),
            data=tuple(render(dict(assertion)) for assertion in self.data),
        )

    def templates(self) -> list[Any]:
        """The values ``rendered`` renders, for the loader's static checks of expressions."""
        return [
            list(self.status_expressions),
            self.content_type,
            list(self.oauth_error),
            list(self.data),
        ]


# The status expressions a scenario may write: codes a profile declares for a refusal, each
# checked to be a 4xx STET gives an ErrorModel when the profile loads (so the matrix may count
# them as such errors unseen).
DECLARED_REFUSALS = frozenset({"{{ target.signature_status }}"})
KEYS = frozenset(f.name for f in dataclasses.fields(Expect)) - {"given", "status_expressions"}


def _fields(raw: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(raw) - KEYS)
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r} (known: {', '.join(sorted(KEYS))})")
    fields = dict(raw)
    if "status" in fields:
        fields["status"], fields["status_expressions"] = _codes_and_expressions(fields["status"])
    if "oauth_error" in fields:  # one code, or the list of codes the sources allow
        codes = fields["oauth_error"]
        fields["oauth_error"] = tuple(map(str, codes if isinstance(codes, list) else [codes]))
    if "data" in fields:
        fields["data"] = tuple(fields["data"] or ())
    return fields


def statuses(value: object) -> tuple[int, ...]:
    """``200`` or ``[200, 204]`` (as YAML or a profile gives them) as a tuple of codes."""
    items = value if isinstance(value, (list, tuple)) else [value]
    try:
        return tuple(int(str(item)) for item in items)
    except ValueError:
        raise ValueError(f"status must be HTTP codes, got {value!r}") from None


def _codes_and_expressions(value: object) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """The literal codes of a ``status``, and the ``{{ }}`` expressions rendered at run time."""
    items = value if isinstance(value, (list, tuple)) else [value]
    expressions = tuple(i for i in items if isinstance(i, str) and "{{" in i)
    return statuses([i for i in items if i not in expressions]), expressions


def _text(render: Renderer, value: str | None) -> str | None:
    return None if value is None else str(render(value))
