"""Unit tests of the sandbox's pure parts: personas, data generation, date filter, consents,
fault registry."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from stet_conformance.sandbox import data
from stet_conformance.sandbox.consents import AccessError, Consent, apply_consent, parse_access
from stet_conformance.sandbox.faults import FAULTS, parse_faults
from stet_conformance.sandbox.payment_requests import PaymentRequest
from stet_conformance.sandbox.personas import load_bank
from stet_conformance.sandbox.server import SandboxServer
from stet_conformance.sandbox.state import SandboxState
from stet_conformance.shared.resources import fixtures_dir

TODAY = dt.date(2026, 3, 15)
BANK = load_bank()
LEA = BANK.personas["LEA"]
LEA_MAIN = LEA.accounts[0]
AMOUNT = re.compile(r"^\-{0,1}[0-9]{1,13}(\.[0-9]{0,5}){0,1}$")


def test_personas_loaded_from_fixture() -> None:
    assert set(BANK.personas) == {"LEA", "CLAIRE", "GEORGES", "MARC", "TECHNCO", "EDME"}
    assert LEA_MAIN.iban == "FR7612579000920400430518020"
    assert LEA_MAIN.balance == "-150.00"
    assert LEA.consent.balances == LEA.ibans
    assert LEA.consent.psu_identity is False
    assert BANK.personas["MARC"].consent.psu_identity is True
    edme = BANK.personas["EDME"]
    assert [a.transactions for a in edme.accounts] == [2000, 2000, 260, 200]
    assert BANK.unknown_account == "CPT30014684067"
    owner = BANK.owner("125790009204004305180")
    assert owner is not None and owner[0].key == "LEA"
    assert BANK.owner(BANK.unknown_account) is None


def test_history_is_deterministic_and_dated_relative_to_today() -> None:
    first = data.transactions_for(LEA_MAIN, 62, TODAY)
    data.transactions_for.cache_clear()
    again = data.transactions_for(LEA_MAIN, 62, TODAY)
    assert first == again
    assert len(first) == 40
    shifted = data.transactions_for(LEA_MAIN, 62, TODAY + dt.timedelta(days=1))
    assert [t.amount for t in shifted] == [t.amount for t in first]
    assert shifted[0].booking_date == TODAY + dt.timedelta(days=1)


def test_history_shape() -> None:
    for account in BANK.personas["EDME"].accounts + LEA.accounts:
        txs = data.transactions_for(account, 62, TODAY)
        assert len(txs) == account.transactions
        dates = [t.booking_date for t in txs]
        assert dates == sorted(dates, reverse=True)
        assert dates[0] == TODAY
        assert min(dates) >= TODAY - dt.timedelta(days=61)
        refs = [t.entry_reference for t in txs]
        assert len(set(refs)) == len(refs)
        assert all(len(ref) == 40 for ref in refs)
        for tx in txs:
            assert AMOUNT.match(tx.amount) and "." in tx.amount
            assert tx.credit_debit in ("CRDT", "DBIT")
            age = (TODAY - tx.booking_date).days
            assert tx.status == ("OTHR" if age < 2 else "BOOK")
    assert data.transactions_for(BANK.personas["CLAIRE"].accounts[0], 62, TODAY) == ()


def test_to_stet_fields() -> None:
    tx = data.transactions_for(LEA_MAIN, 62, TODAY)[0]
    body = tx.to_stet(entry_reference="all")
    assert body["transactionAmount"] == {"amount": tx.amount, "currency": "EUR"}
    assert body["remittanceInformation"] == [tx.remittance]
    assert body["bookingDate"] == TODAY.isoformat()
    assert body["entryReference"] == tx.entry_reference
    assert {"valueDate", "transactionDate", "status", "creditDebitIndicator"} <= body.keys()
    assert "entryReference" not in tx.to_stet(entry_reference="none")
    assert tx.to_stet(entry_reference="none", status="PDNG")["status"] == "PDNG"


def test_some_entry_references_only_once_booked() -> None:
    """entry_reference: some (the data variant): booked operations carry it, the others ""."""
    txs = data.transactions_for(LEA_MAIN, 62, TODAY)
    by_status = {tx.status: tx.to_stet(entry_reference="some")["entryReference"] for tx in txs}
    assert by_status["OTHR"] == "" and len(by_status["BOOK"]) == 40


def _at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def test_select_bounds_inclusive_from_exclusive_to() -> None:
    txs = data.transactions_for(LEA_MAIN, 62, TODAY)
    day = txs[10].booking_date
    on_day = [t for t in txs if t.booking_date == day]
    assert on_day
    assert all(t.booking_date >= day for t in data.select(txs, _at(day), None))
    assert set(on_day) <= set(data.select(txs, _at(day), None))
    assert not set(on_day) & set(data.select(txs, None, _at(day)))
    assert not set(on_day) & set(data.select(txs, _at(day), None, from_exclusive=True))
    assert set(on_day) <= set(data.select(txs, None, _at(day), to_inclusive=True))
    assert data.select(txs, _at(day), _at(day)) == []
    assert data.select(txs, None, None) == list(txs)


def test_select_caps_to_newest_500() -> None:
    txs = data.transactions_for(BANK.personas["EDME"].accounts[0], 62, TODAY)
    chosen = data.select(txs, None, None)
    assert chosen == list(txs[:500])
    assert len(data.select(txs, None, None, cap=None)) == 2000


def test_history_start() -> None:
    assert data.history_start(TODAY, 62) == dt.datetime(2026, 1, 12, tzinfo=dt.UTC)


OWN = {"FR01", "FR02"}


def _access(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "balances": [{"iban": "FR01"}],
        "transactions": [{"iban": "FR01"}, {"iban": "FR02"}],
        "psuIdentity": True,
        "trustedBeneficiaries": False,
    }
    body.update(overrides)
    return body


def test_parse_access() -> None:
    consent = parse_access(_access(), OWN)
    assert consent == Consent(frozenset({"FR01"}), frozenset({"FR01", "FR02"}), True, False)


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"balances": [], "transactions": [], "psuIdentity": False},
        _access(balances=[{"iban": "FR99"}]),
        _access(balances="FR01"),
        _access(transactions=[{"other": "x"}]),
        _access(psuIdentity="true"),
    ],
)
def test_parse_access_refuses(body: object) -> None:
    with pytest.raises(AccessError):
        parse_access(body, OWN)


def test_apply_consent_replace_revoke_merge() -> None:
    old = Consent(frozenset({"FR01"}), frozenset({"FR01"}), True)
    new = Consent(frozenset({"FR02"}), frozenset(), False)
    assert apply_consent(old, new) == new
    revoke = Consent(frozenset(), frozenset(), False)
    assert apply_consent(old, revoke) == revoke
    merged = apply_consent(old, new, merge=True)
    assert merged == Consent(frozenset({"FR01", "FR02"}), frozenset({"FR01"}), True)
    kept = apply_consent(old, revoke, keep_on_empty=True)
    assert kept == Consent(frozenset({"FR01"}), frozenset({"FR01"}), False)


def test_fault_registry() -> None:
    assert len(FAULTS) >= 45
    assert all(desc and "\n" not in desc for desc in FAULTS.values())
    assert parse_faults(["cap-ignored", "offset-500"]) == {"cap-ignored", "offset-500"}
    with pytest.raises(ValueError, match=r"no-such-fault.*valid: accounts-502-html, accounts-"):
        parse_faults(["no-such-fault"])


def test_preissued_tokens_outlive_a_working_day_and_expired_ones_are_expired(
    sandbox: SandboxServer,
) -> None:
    from stet_conformance.sandbox.state import utc_now

    state = sandbox.state
    now = utc_now()
    for name, issued in state.preissued.items():
        for scope, value in issued.tokens.items():
            assert state.access[value].expires_at - now > dt.timedelta(days=7), (name, scope)
        assert state.access[issued.expired_tokens["aisp"]].expires_at < now


def test_a_reset_restores_the_payment_requests_the_sandbox_started_with() -> None:
    """A variant's own saved requests (other ids) come back after a reset, not the fixtures'."""
    own = PaymentRequest("PR-own-1", "LEA", "FR76", "25.0", "Shop", "FR76X", "order 1")
    state = SandboxState(
        load_bank(fixtures_dir() / "personas.yaml"),
        frozenset(),
        None,  # type: ignore[arg-type]  # the certificate only serves to verify signatures
        "PSDFR-ACPR-13807",
        payments={own.resource_id: own},
    )
    state.payments["PR-own-1"].status = "ACSP"  # confirmed by a first run
    state.reset("run-2")
    assert list(state.payments) == ["PR-own-1"]
    assert not state.payments["PR-own-1"].confirmed
