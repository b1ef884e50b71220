"""A request budget, so a run never exhausts a live sandbox's quotas.

Banks' sandboxes meter calls (the seed: 4 calls a day per PSU, account and method without
PSU-IP-Address). Scenarios and fuzzing spend from three purses: the whole run, each persona, and
the unattended calls (no PSU-IP-Address) per persona or per persona, account and method. An empty
purse raises ``BudgetExhausted``; scenarios and suites turn it into a skip with that reason, never
a failure. ``hint`` tells the user which setting raises the limit. The client spends a ``Charge``
before each attempt on the wire, so retries count.

The counts live in a ``Ledger``: in memory for one process, or in a small JSON file that every
process of a run (``stet-conformance run -n N``: the xdist workers, and the token refreshes
before pytest) reads and writes under one lock, so N workers share one budget and one daily
quota instead of having N.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from stet_conformance.config.filelock import locked

DEFAULT_RUN_BUDGET = 5000
DEFAULT_PERSONA_BUDGET = 2000
DEFAULT_UNATTENDED_BUDGET = 4  # seed "Limits": 4 calls a day without PSU-IP-Address


class BudgetExhausted(Exception):
    """No request left in some purse; the message says which and how to raise it."""


class DryRun(BudgetExhausted):
    """A dry run: its budget is no request at all, whatever runs."""

    def __init__(self) -> None:
        super().__init__("dry run: nothing sent")


@dataclass(frozen=True)
class Purse:
    """One count and its limit; ``refusal`` is the message when it is spent."""

    key: str
    limit: int
    refusal: str


class Ledger:
    """The purses' counts of one run. With ``path``, a JSON file shared by the run's processes
    (each change under a lock on the file, kept open); without, this process's own."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._counts: Counter[str] = Counter()
        self._fd: int | None = None

    def __repr__(self) -> str:
        return f"<Ledger {self.path or 'in memory'}>"

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _file(self, path: Path) -> int:
        if self._fd is None:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        return self._fd

    @contextlib.contextmanager
    def _locked(self) -> Iterator[Counter[str]]:
        if self.path is None:
            yield self._counts
            return
        fd = self._file(self.path)
        with locked(fd):
            text = os.pread(fd, os.fstat(fd).st_size, 0)
            counts: Counter[str] = Counter(json.loads(text or b"{}"))
            before = dict(counts)
            yield counts
            if dict(counts) != before:
                data = json.dumps(counts).encode("utf-8")
                os.pwrite(fd, data, 0)
                os.ftruncate(fd, len(data))

    def take(self, purses: Sequence[Purse]) -> None:
        """One request from every purse, or ``BudgetExhausted`` naming the first one spent
        (then nothing is taken)."""
        with self._locked() as counts:
            for purse in purses:
                if counts[purse.key] >= purse.limit:
                    raise BudgetExhausted(purse.refusal)
            for purse in purses:
                counts[purse.key] += 1

    def count(self, key: str) -> int:
        with self._locked() as counts:
            return counts[key]


@dataclass
class RequestBudget:
    """The limits of one budget (``name`` keeps its counts apart in a shared ``ledger``);
    ``spend`` before every request."""

    per_run: int = DEFAULT_RUN_BUDGET
    per_persona: int = DEFAULT_PERSONA_BUDGET
    unattended_per_persona: int = DEFAULT_UNATTENDED_BUDGET
    hint: str = "--stet-fuzz-budget, --stet-fuzz-persona-budget, --stet-fuzz-unattended-budget"
    name: str = "fuzz"
    ledger: Ledger = field(default_factory=Ledger)

    def purses(self, persona: str, unattended: bool, unattended_key: str | None) -> list[Purse]:
        """What one request of ``persona`` takes from this budget."""
        run = f"request budget exhausted: {self.per_run} requests this run ({self.hint})"
        purses = [
            Purse(f"{self.name}/run", self.per_run, run),
            Purse(
                f"{self.name}/persona/{persona}",
                self.per_persona,
                f"request budget exhausted for persona {persona}: {self.per_persona} "
                f"requests ({self.hint})",
            ),
        ]
        if unattended:
            key = unattended_key or persona
            refusal = (
                f"unattended budget exhausted for {key}: {self.unattended_per_persona} calls "
                f"without PSU-IP-Address (the bank's daily quota; {self.hint})"
            )
            limit = self.unattended_per_persona
            purses.append(Purse(f"{self.name}/unattended/{key}", limit, refusal))
        return purses

    def spend(
        self, persona: str, *, unattended: bool = False, unattended_key: str | None = None
    ) -> None:
        """Take one request from the purses, or raise ``BudgetExhausted`` (nothing is taken).

        ``unattended_key`` counts unattended calls per finer key (persona, account, method);
        by default per persona.
        """
        self.ledger.take(self.purses(persona, unattended, unattended_key))

    @property
    def spent(self) -> int:
        return self.ledger.count(f"{self.name}/run")

    def remaining(self, persona: str) -> int:
        by_persona = self.ledger.count(f"{self.name}/persona/{persona}")
        return max(0, min(self.per_run - self.spent, self.per_persona - by_persona))


@dataclass(frozen=True)
class Charge:
    """Who pays for a request: the client spends it before every attempt on the wire.

    ``within``: a second budget the request also spends, in one step (the suites' requests
    spend their own budget and the target profile's; both keep their counts in one ledger).
    """

    budget: RequestBudget
    persona: str
    unattended: bool = False
    unattended_key: str | None = None
    within: RequestBudget | None = None

    def __post_init__(self) -> None:
        if self.within is not None and self.within.ledger is not self.budget.ledger:
            raise ValueError("a charge's two budgets must count in one ledger")

    def spend(self) -> None:
        purses = self.budget.purses(self.persona, self.unattended, self.unattended_key)
        if self.within is not None:
            purses += self.within.purses(self.persona, self.unattended, self.unattended_key)
        self.budget.ledger.take(purses)
