"""The budget's counts: one ledger file shared by a run's processes; the suites' requests spend
the target profile's budget as well as their own, in one step."""

from __future__ import annotations

from pathlib import Path

import pytest

from stet_conformance.http.budget import BudgetExhausted, Charge, Ledger, RequestBudget


def test_two_ledgers_on_one_file_count_together(tmp_path: Path) -> None:
    """Each xdist worker opens the run's file: what one spends, the other cannot."""
    path = tmp_path / "run" / "budget.json"
    first = RequestBudget(per_run=3, ledger=Ledger(path))
    second = RequestBudget(per_run=3, ledger=Ledger(path))
    first.spend("LEA")
    second.spend("CLAIRE")
    first.spend("LEA", unattended=True)
    with pytest.raises(BudgetExhausted, match="request budget exhausted: 3 requests this run"):
        second.spend("GEORGES")
    assert (first.spent, second.spent) == (3, 3)


def test_the_unattended_purse_holds_across_ledgers_of_one_file(tmp_path: Path) -> None:
    path = tmp_path / "budget.json"
    budgets = [RequestBudget(unattended_per_persona=2, ledger=Ledger(path)) for _ in range(2)]
    budgets[0].spend("EDME", unattended=True, unattended_key="EDME GET /x")
    budgets[1].spend("EDME", unattended=True, unattended_key="EDME GET /x")
    with pytest.raises(BudgetExhausted, match="unattended budget exhausted for EDME GET /x: 2"):
        budgets[0].spend("EDME", unattended=True, unattended_key="EDME GET /x")
    budgets[1].spend("EDME", unattended=True, unattended_key="EDME GET /y")


def test_a_charge_within_the_profile_budget_spends_both_or_neither() -> None:
    """A suite's request spends the profile's budget too; refused by one, taken from none."""
    ledger = Ledger()
    hint = "budget.requests, budget.per_persona, budget.unattended in the target profile"
    profile = RequestBudget(per_run=2, hint=hint, name="profile", ledger=ledger)
    fuzz = RequestBudget(per_run=10, ledger=ledger)
    Charge(fuzz, "LEA", within=profile).spend()
    Charge(fuzz, "LEA", within=profile).spend()
    with pytest.raises(BudgetExhausted, match=r"2 requests this run \(budget.requests"):
        Charge(fuzz, "LEA", within=profile).spend()
    assert (fuzz.spent, profile.spent) == (2, 2)


def test_a_charge_refuses_budgets_of_two_ledgers() -> None:
    with pytest.raises(ValueError, match="one ledger"):
        Charge(RequestBudget(), "LEA", within=RequestBudget(name="profile"))
