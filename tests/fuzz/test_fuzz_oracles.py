"""The fuzz oracles: windows, order and cap, echo, and failure messages that hide secrets."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest

from stet_conformance.checks.schemas import default_store
from stet_conformance.config.settings import Imputation
from stet_conformance.fuzz import oracles
from stet_conformance.http.client import Exchange
from stet_conformance.http.redact import Redactor
from stet_conformance.verdict import CheckFailed, Level, level_of

UTC = dt.UTC


def _exchange(
    status: int, body: object = None, sent_id: str = "r-1", echo: str | None = "r-1"
) -> Exchange:
    request = httpx.Request(
        "GET",
        "https://bank.example/v1/accounts",
        headers={"X-Request-ID": sent_id, "Authorization": "Bearer SECRET-TOKEN"},
    )
    headers = {"Content-Type": "application/json"}
    if echo is not None:
        headers["X-Request-ID"] = echo
    content = json.dumps(body).encode() if body is not None else b""
    return Exchange(request, httpx.Response(status, headers=headers, content=content), 0.01)


def _txs(*days: str) -> dict[str, object]:
    return {"transactions": [{"bookingDate": d} for d in days]}


def test_window_from_is_inclusive_and_to_exclusive_at_midnight() -> None:
    start = dt.datetime(2026, 3, 10, tzinfo=UTC)
    end = dt.datetime(2026, 3, 12, tzinfo=UTC)
    assert oracles.window_problems(_txs("2026-03-11", "2026-03-10"), start, end) == []
    assert oracles.window_problems(_txs("2026-03-12"), start, end)  # dateTo excluded
    assert oracles.window_problems(_txs("2026-03-09"), start, end)


def test_window_with_an_instant_after_midnight_excludes_that_day() -> None:
    start = dt.datetime(2026, 3, 10, 1, tzinfo=UTC)  # 20:00-05:00 the day before
    assert oracles.window_problems(_txs("2026-03-10"), start, None)
    assert oracles.window_problems(_txs("2026-03-10"), start, None, Imputation(instant="day")) == []


PARIS = Imputation(timezone="Europe/Paris")


def test_window_of_a_bank_imputing_at_midnight_paris() -> None:
    """A transaction dated 10 March is imputed at 9 March 23:00 UTC there (summer: 22:00): a
    window ending at 10 March 00:00 UTC holds it, one starting then does not."""
    midnight_utc = dt.datetime(2026, 3, 10, tzinfo=UTC)
    assert oracles.window_problems(_txs("2026-03-10"), None, midnight_utc, PARIS) == []
    assert oracles.window_problems(_txs("2026-03-10"), midnight_utc, None, PARIS)
    assert oracles.window_problems(_txs("2026-03-10"), None, midnight_utc)  # UTC: it is out
    july = dt.datetime(2026, 7, 9, 22, tzinfo=UTC)  # 10 July 00:00 in Paris (UTC+2)
    assert oracles.window_problems(_txs("2026-07-10"), july, None, PARIS) == []
    assert oracles.window_problems(_txs("2026-07-10"), None, july, PARIS)  # dateTo excluded
    assert oracles.imputation_instant("2026-07-10", PARIS) == (july, july)
    whole_day = Imputation("Europe/Paris", "day")
    assert oracles.imputation_instant("2026-07-10", whole_day)[1] == july + dt.timedelta(days=1)


def test_listing_cap_in_any_order() -> None:
    """No source orders the list: oldest first is as conformant as newest first."""
    assert oracles.listing_problems(_txs("2026-03-11", "2026-03-10")) == []
    assert oracles.listing_problems(_txs("2026-03-10", "2026-03-11")) == []
    assert oracles.listing_problems(_txs(*["2026-03-10"] * 501))


def test_echo_is_byte_for_byte() -> None:
    assert oracles.echo_problems(_exchange(200, {}, "a b!", "a b!"), "a b!") == []
    assert oracles.echo_problems(_exchange(200, {}, "a b!", "ab"), "a b!")
    assert oracles.echo_problems(_exchange(200, {}, "a", None), "a")


def test_conforms_wants_an_error_model_and_never_5xx() -> None:
    store = default_store()
    good = {"status": 400, "message": "bad date"}
    assert oracles.conforms(_exchange(400, good), [400], store) == []
    assert oracles.conforms(_exchange(400, {"oops": 1}), [400], store)
    assert any("never 5xx" in p for p in oracles.conforms(_exchange(500, good), [400], store))


def test_preferring_warns_on_the_other_allowed_answer_and_judges_a_served_body() -> None:
    """cbpii on transactions: 403 preferred, a well-formed 200 a warning, a malformed one fails."""
    store = default_store()
    refusal = _exchange(403, {"status": 403, "message": "scope"})
    assert oracles.preferring(refusal, [403, 200], [403], "SOURCE", store, "transactions") == []
    served = oracles.preferring(_exchange(200, _txs()), [403, 200], [403], "SOURCE", store)
    assert [(level_of(p), p) for p in served] == [(Level.RECOMMENDATION, "answered 200, not 403")]
    malformed = _exchange(200, {"transactions": "none"})
    problems = oracles.preferring(malformed, [403, 200], [403], "SOURCE", store, "transactions")
    assert Level.MUST in {level_of(p) for p in problems}


def test_a_negative_offset_may_be_refused_with_a_warning() -> None:
    """The portal writes only +HHMM and +HH:MM: 400 for -05:00 warns, for +05:00 fails."""
    store, refusal = default_store(), _exchange(400, {"status": 400, "message": "bad offset"})
    assert oracles.negative_offset(None, "2026-10-01T12:00:00.000-1200")
    assert not oracles.negative_offset("2026-10-01T12:00:00.000+05:00", "2026-10-01", None)
    warned = oracles.window_answer(refusal, [200, 204], store, "2026-10-01T20:00:00.000-05:00")
    assert [level_of(p) for p in warned] == [Level.RECOMMENDATION]
    failed = oracles.window_answer(refusal, [200, 204], store, "2026-10-01T20:00:00.000+05:00")
    assert [level_of(p) for p in failed] == [Level.MUST]


def test_failure_message_shows_the_exchange_without_secrets() -> None:
    redactor = Redactor(["SECRET-TOKEN"])
    with pytest.raises(CheckFailed) as info:
        oracles.fail(_exchange(500, {"message": "SECRET-TOKEN"}), ["boom"], redactor)
    text = str(info.value)
    assert "> GET https://bank.example/v1/accounts" in text and "< 500" in text
    assert "SECRET-TOKEN" not in text
    oracles.fail(_exchange(200, {}), [], redactor)  # no problem: no exception
