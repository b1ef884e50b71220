"""What every check receives and returns."""

from __future__ import annotations

from dataclasses import dataclass

from stet_conformance.checks.expect import Expect
from stet_conformance.checks.schemas import SchemaStore
from stet_conformance.http.client import Exchange
from stet_conformance.verdict import Level


@dataclass(frozen=True)
class Failure:
    """One reason a response is not what the scenario expects, at the level of its source."""

    check: str
    message: str
    level: Level = Level.MUST
    authority: str = ""  # the source, where the check's own (not the scenario's) applies

    def __str__(self) -> str:
        return f"[{self.check}] {self.message}"


@dataclass(frozen=True)
class CheckContext:
    exchange: Exchange
    expect: Expect
    schemas: SchemaStore
