"""A request budget, so a run never exhausts a live sandbox's quotas.

Banks' sandboxes meter calls (the seed: 4 calls a day per PSU, account and method without
PSU-IP-Address). Scenarios and fuzzing spend from three purses: the whole run, each persona, and
the unattended calls (no PSU-IP-Address) per persona or per persona, account and method. An empty
purse raises ``BudgetExhausted``; scenarios and suites turn it into a skip with that reason, never
a failure. ``hint`` tells the user which setting raises the limit. The client spends a ``Charge``
before each attempt on the wire, so retries count.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

DEFAULT_RUN_BUDGET = 5000
DEFAULT_PERSONA_BUDGET = 2000
DEFAULT_UNATTENDED_BUDGET = 4  # seed "Limits": 4 calls a day without PSU-IP-Address


class BudgetExhausted(Exception):
    """No request left in some purse; the message says which and how to raise it."""


class DryRun(BudgetExhausted):
    """A dry run: its budget is no request at all, whatever runs."""

    def __init__(self) -> None:
        super().__init__("dry run: nothing sent")


@dataclass
class RequestBudget:
    """Counts fuzzing requests per run and per persona; ``spend`` before every request."""

    per_run: int = DEFAULT_RUN_BUDGET
    per_persona: int = DEFAULT_PERSONA_BUDGET
    unattended_per_persona: int = DEFAULT_UNATTENDED_BUDGET
    hint: str = "--stet-fuzz-budget, --stet-fuzz-persona-budget, --stet-fuzz-unattended-budget"
    spent: int = 0
    by_persona: Counter[str] = field(default_factory=Counter)
    unattended: Counter[str] = field(default_factory=Counter)

    def spend(
        self, persona: str, *, unattended: bool = False, unattended_key: str | None = None
    ) -> None:
        """Take one request from the purses, or raise ``BudgetExhausted`` (nothing is taken).

        ``unattended_key`` counts unattended calls per finer key (persona, account, method);
        by default per persona.
        """
        key = unattended_key or persona
        if self.spent >= self.per_run:
            raise BudgetExhausted(
                f"request budget exhausted: {self.per_run} requests this run ({self.hint})"
            )
        if self.by_persona[persona] >= self.per_persona:
            raise BudgetExhausted(
                f"request budget exhausted for persona {persona}: {self.per_persona} "
                f"requests ({self.hint})"
            )
        if unattended and self.unattended[key] >= self.unattended_per_persona:
            raise BudgetExhausted(
                f"unattended budget exhausted for {key}: {self.unattended_per_persona} calls "
                f"without PSU-IP-Address (the bank's daily quota; {self.hint})"
            )
        self.spent += 1
        self.by_persona[persona] += 1
        if unattended:
            self.unattended[key] += 1

    def remaining(self, persona: str) -> int:
        return max(0, min(self.per_run - self.spent, self.per_persona - self.by_persona[persona]))


@dataclass(frozen=True)
class Charge:
    """Who pays for a request: the client spends it before every attempt on the wire."""

    budget: RequestBudget
    persona: str
    unattended: bool = False
    unattended_key: str | None = None

    def spend(self) -> None:
        self.budget.spend(
            self.persona, unattended=self.unattended, unattended_key=self.unattended_key
        )
