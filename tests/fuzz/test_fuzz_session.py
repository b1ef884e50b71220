"""What the suites read of the profile through the fuzz session: accounts by role, the history
start and the imputation the window oracle uses."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from stet_conformance.checks.schemas import default_store
from stet_conformance.config.profile import load_profile
from stet_conformance.config.settings import Imputation
from stet_conformance.fuzz.session import FuzzSession
from stet_conformance.http.budget import RequestBudget
from stet_conformance.http.client import StetClient
from stet_conformance.http.redact import Redactor
from stet_conformance.scenario.runner import RunContext

MARC = {"consent": {"balances": "all"}, "accounts": [{"iban": "FR76M", "balance": "1.00"}]}


@pytest.fixture
def session(sandbox_profile: Path) -> Iterator[FuzzSession]:
    profile = load_profile(sandbox_profile)
    personas = dataclasses.replace(profile.personas, data={**profile.personas.data, "MARC": MARC})
    profile = dataclasses.replace(
        profile,
        personas=personas,
        # UTC+14: its today is ahead of UTC's
        choices=dataclasses.replace(profile.choices, imputation=Imputation("Pacific/Kiritimati")),
    )
    client = StetClient.for_profile(profile, Redactor(profile.secrets()))
    try:
        yield FuzzSession(RunContext(profile, client, default_store()), RequestBudget(9, 9, 4), "x")
    finally:
        client.close()


def test_a_role_the_profile_does_not_declare_skips_naming_persona_role_and_key(
    session: FuzzSession,
) -> None:
    with pytest.raises(pytest.skip.Exception) as skipped:
        session.account("MARC", "zero")
    message = str(skipped.value)
    assert "MARC" in message and "'zero'" in message and "personas.MARC.data.accounts" in message
    assert session.account("MARC", "positive")["iban"] == "FR76M"


def test_the_window_oracle_gets_the_profiles_imputation(session: FuzzSession) -> None:
    assert session.imputation == Imputation("Pacific/Kiritimati")


def test_history_bounds_cover_every_reading_of_the_banks_first_day(session: FuzzSession) -> None:
    """Never a dateFrom the bank may refuse inside, nor one it may serve beyond: its today and
    its midnight may be UTC's or its zone's (UTC+14 here)."""
    zone = session.imputation.zone
    now = dt.datetime.now(dt.UTC)
    depth = dt.timedelta(days=session.history_days("LEA"))
    starts = [
        dt.datetime.combine(day - depth, dt.time(), tzinfo=tz)
        for day in (now.date(), now.astimezone(zone).date())
        for tz in (dt.UTC, zone)
    ]
    assert session.history_start("LEA") == max(starts)
    assert session.history_floor("LEA") == min(starts)
    assert session.history_start("LEA") - session.history_floor("LEA") >= dt.timedelta(hours=14)
