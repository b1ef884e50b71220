"""A request budget, so fuzzing never exhausts a live sandbox's quotas.

Banks' sandboxes meter calls (the seed: 4 calls a day per PSU, account and method without
PSU-IP-Address). Fuzzing spends from three purses: the whole run, each persona, and each persona's
unattended calls (no PSU-IP-Address). An empty purse raises ``BudgetExhausted``; the suites turn
it into a skip with that reason, never a failure.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

DEFAULT_RUN_BUDGET = 5000
DEFAULT_PERSONA_BUDGET = 2000
DEFAULT_UNATTENDED_BUDGET = 4  # seed "Limits": 4 calls a day without PSU-IP-Address


class BudgetExhausted(Exception):
    """No request left in some purse; the message says which and how to raise it."""


@dataclass
class RequestBudget:
    """Counts fuzzing requests per run and per persona; ``spend`` before every request."""

    per_run: int = DEFAULT_RUN_BUDGET
    per_persona: int = DEFAULT_PERSONA_BUDGET
    unattended_per_persona: int = DEFAULT_UNATTENDED_BUDGET
    spent: int = 0
    by_persona: Counter[str] = field(default_factory=Counter)
    unattended: Counter[str] = field(default_factory=Counter)

    def spend(self, persona: str, *, unattended: bool = False) -> None:
        """Take one request from the purses, or raise ``BudgetExhausted`` (nothing is taken)."""
        if self.spent >= self.per_run:
            raise BudgetExhausted(
                f"fuzz request budget exhausted: {self.per_run} requests this run "
                "(raise it with --stet-fuzz-budget)"
            )
        if self.by_persona[persona] >= self.per_persona:
            raise BudgetExhausted(
                f"fuzz request budget exhausted for persona {persona}: {self.per_persona} "
                "requests (raise it with --stet-fuzz-persona-budget)"
            )
        if unattended and self.unattended[persona] >= self.unattended_per_persona:
            raise BudgetExhausted(
                f"unattended budget exhausted for persona {persona}: "
                f"{self.unattended_per_persona} calls without PSU-IP-Address "
                "(the bank's daily quota; --stet-fuzz-unattended-budget)"
            )
        self.spent += 1
        self.by_persona[persona] += 1
        if unattended:
            self.unattended[persona] += 1

    def remaining(self, persona: str) -> int:
        return max(0, min(self.per_run - self.spent, self.per_persona - self.by_persona[persona]))
