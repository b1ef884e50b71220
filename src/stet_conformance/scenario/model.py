"""Scenario objects: what a YAML scenario means once validated.

``Request``, ``Expect`` (from ``checks/``, which read it) and ``Recommendation`` hold the values
as written, with their ``{{ }}`` expressions; the runner renders them for each run, just before
sending and checking.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlencode

from stet_conformance.checks.expect import Expect
from stet_conformance.scenario.templating import render

__all__ = ["Expect", "Payload", "Recommendation", "Request", "Scenario", "Step"]

BodyKind = Literal["json", "form", "body"]
BODY_KINDS: tuple[BodyKind, ...] = ("json", "form", "body")


@dataclass(frozen=True)
class Payload:
    """A request body: ``json`` (any JSON), ``form`` (urlencoded fields) or ``body`` (text)."""

    kind: BodyKind
    value: Any

    def encode(self) -> tuple[bytes, str | None]:
        """The bytes on the wire and the Content-Type they need (``None``: the author's)."""
        if self.kind == "json":
            return json.dumps(self.value).encode("utf-8"), "application/json"
        if self.kind == "form":  # a field whose value is null is not sent
            fields = {str(k): str(v) for k, v in self.value.items() if v is not None}
            return urlencode(fields).encode("ascii"), "application/x-www-form-urlencoded"
        return str(self.value).encode("utf-8"), None


@dataclass(frozen=True)
class Request:
    """A step's ``request``: one field per key of the scenario schema's ``request``."""

    method: str = ""
    path: str | None = None  # under the profile's api_prefix
    url: str | None = None  # absolute, instead of path
    query: Mapping[str, Any] = field(default_factory=dict)
    headers: Mapping[str, Any] = field(default_factory=dict)
    payload: Payload | None = None
    token: Literal["valid", "expired", "none", "unknown"] = "valid"
    bearer: str | None = None  # exactly this access token, instead of a profile token
    sign: bool = True
    digest: bool = True
    request_id: bool = True
    psu_ip_address: bool = True
    tpp: Literal["own", "other"] = "own"
    client_cert: Literal["qwac", "none", "untrusted"] = "qwac"  # none/untrusted: no QWAC
    replay: bool = False  # ``replay: previous``: the previous request again, byte for byte

    @classmethod
    def of(cls, raw: Mapping[str, Any]) -> Request:
        """A request from its validated YAML mapping."""
        fields = {k: v for k, v in raw.items() if k not in BODY_KINDS and k != "replay"}
        kind = next((k for k in BODY_KINDS if k in raw), None)
        payload = Payload(kind, raw[kind]) if kind is not None else None
        return cls(**fields, payload=payload, replay=raw.get("replay") == "previous")

    def render(self, context: Mapping[str, Any]) -> Request:
        """The request with every expression replaced by its value in ``context``."""
        payload = self.payload
        if payload is not None:
            payload = Payload(payload.kind, render(payload.value, context))
        return dataclasses.replace(
            self,
            path=_text(self.path, context),
            url=_text(self.url, context),
            query={str(k): str(v) for k, v in render(dict(self.query), context).items()},
            headers={str(k): str(v) for k, v in render(dict(self.headers), context).items()},
            payload=payload,
            bearer=_text(self.bearer, context),
        )

    def templates(self) -> list[Any]:
        """The values ``render`` renders, for the loader's static checks of expressions."""
        body = self.payload.value if self.payload is not None else None
        return [self.path, self.url, dict(self.query), dict(self.headers), body, self.bearer]


def _text(value: str | None, context: Mapping[str, Any]) -> str | None:
    return None if value is None else str(render(value, context))


@dataclass(frozen=True)
class Recommendation:
    """A step's ``recommend``: what a response should also have, and the source that says so.

    Not meeting it is a warning (``--strict``: a failure); the step's ``expect`` is the MUST.
    """

    expect: Expect
    authority: str

    @classmethod
    def of(cls, raw: Mapping[str, Any]) -> Recommendation:
        keys = {k: v for k, v in raw.items() if k != "authority"}
        return cls(Expect.of(keys), str(raw["authority"]))

    def render(self, context: Mapping[str, Any]) -> Recommendation:
        rendered = self.expect.rendered(lambda value: render(value, context))
        return Recommendation(rendered, self.authority)


@dataclass(frozen=True)
class Step:
    """One request and what its response must look like."""

    name: str
    line: int
    persona: str | None
    scope: str | None
    request: Request
    expect: Expect
    save: dict[str, str] = field(default_factory=dict)
    when: tuple[tuple[str, Any], ...] = ()  # the step runs only when these variables match
    recommend: Recommendation | None = None
    # {status, reason}: this answer means an earlier run used the target's state up (skip).
    skip_when: dict[str, Any] | None = None
    # {status, reason}: this answer (allowed, not recommended) leaves nothing for the later steps.
    stop_when: dict[str, Any] | None = None
    # left out once a refresh of the scenario answered another refresh token (RFC 6749 6)
    unless_rotated: bool = False


@dataclass(frozen=True)
class Scenario:
    """One acceptance test: steps, then cleanup steps that restore the target's state."""

    id: str
    title: str
    file: Path
    line: int
    steps: tuple[Step, ...]
    cleanup: tuple[Step, ...] = ()
    description: str = ""
    seed: str = ""
    stet: str = ""
    area: str = "AIS"
    endpoint: str = ""
    # The cross-cutting rules (traceability matrix) this scenario tests on its endpoint.
    covers: tuple[str, ...] = ()
    # The target state it shares with other tests: those never run at the same time.
    shares: str | None = None
    severity: str = "normal"
    tags: tuple[str, ...] = ()
    # Runs only when each variable (e.g. target.rotates_refresh_token) has the given value.
    when: tuple[tuple[str, Any], ...] = ()

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}"
