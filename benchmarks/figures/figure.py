"""What a figure is (a value against a target) and how much work each one does."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Sizes:
    """How much work each figure does (``--quick`` shrinks all of it)."""

    http_batch: int = 200
    http_rounds: int = 8
    sign_batch: int = 300
    sign_rounds: int = 7
    suite_reps: int = 3
    collect_n: int = 1000
    rss_ns: tuple[int, ...] = (100, 1000, 10000)
    throughput_seconds: float = 4.0
    startup_reps: int = 3
    latency_ms: int = 20
    latency_k: str = ""  # a pytest -k selection of the latency figure's run (all: empty)


QUICK = Sizes(
    http_batch=25,
    http_rounds=2,
    sign_batch=40,
    sign_rounds=2,
    suite_reps=1,
    collect_n=100,
    rss_ns=(20, 100, 400),
    throughput_seconds=1.0,
    startup_reps=1,
    latency_k="ACC-1 or test_unknown_token_is_refused",
)


@dataclass
class Figure:
    """One row of the table: a value compared with a target."""

    name: str
    label: str
    value: float
    target: float
    op: str  # "<=", "<" or ">="
    unit: str
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        if self.op == "<=":
            return self.value <= self.target
        if self.op == "<":
            return self.value < self.target
        return self.value >= self.target

    def as_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "value": self.value,
            "target": self.target,
            "op": self.op,
            "unit": self.unit,
            "pass": self.passed,
            "detail": self.detail,
        }
