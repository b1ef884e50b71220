"""Scenario objects: what a YAML scenario means once validated."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Step:
    """One request and what its response must look like."""

    name: str
    line: int
    persona: str | None
    scope: str | None
    request: dict[str, Any]
    expect: dict[str, Any]
    save: dict[str, str] = field(default_factory=dict)
    when: tuple[tuple[str, Any], ...] = ()  # the step runs only when these variables match
    # {status, reason}: this answer means an earlier run used the target's state up (skip).
    skip_when: dict[str, Any] | None = None


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
    severity: str = "normal"
    tags: tuple[str, ...] = ()
    # Runs only when each variable (e.g. target.rotates_refresh_token) has the given value.
    when: tuple[tuple[str, Any], ...] = ()

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}"
