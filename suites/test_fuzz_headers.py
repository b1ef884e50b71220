"""Request headers: X-Request-ID echoed byte for byte, PSU-IP-Address and Accept never crash.

X-Request-ID (swagger: required, maxLength 70) of any length 1-70 and any visible-ASCII content
comes back unchanged; missing or longer is a 400. PSU-IP-Address as IPv4, IPv6 or garbage and odd
Accept values never give a 5xx.
"""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from stet_conformance.fuzz import oracles
from stet_conformance.fuzz.plugin import fuzz_settings
from stet_conformance.fuzz.session import FuzzSession
from stet_conformance.fuzz.strategies import (
    accept_headers,
    oversize_request_ids,
    psu_ip_addresses,
    request_ids,
)
from stet_conformance.http.signing import RequestOptions

PERSONA = "LEA"
UNATTENDED_PERSONA = "MARC"  # its own quota counters: the SEC-QUOTA scenario uses EDME


def _balances(fuzz: FuzzSession, persona: str = PERSONA) -> str:
    return f"/accounts/{fuzz.account(persona)['resource_id']}/balances"


@fuzz_settings(scale=2)
@given(request_id=request_ids())
@example(request_id="x" * 70).via("maxLength")
def test_request_id_is_echoed_byte_for_byte(fuzz: FuzzSession, request_id: str) -> None:
    exchange = fuzz.send(PERSONA, "GET", "/accounts", headers={"X-Request-ID": request_id})
    problems = oracles.conforms(exchange, [200], fuzz.run.schemas, schema="accounts")
    fuzz.check(exchange, problems + oracles.echo_problems(exchange, request_id))


@fuzz_settings()
@given(request_id=oversize_request_ids())
def test_oversize_request_id_is_refused(fuzz: FuzzSession, request_id: str) -> None:
    exchange = fuzz.send(PERSONA, "GET", "/accounts", headers={"X-Request-ID": request_id})
    fuzz.check(exchange, oracles.conforms(exchange, [400], fuzz.run.schemas))


def test_missing_request_id_is_refused(fuzz: FuzzSession) -> None:
    options = RequestOptions(token=fuzz.token(PERSONA), request_id=False)
    exchange = fuzz.send(PERSONA, "GET", "/accounts", options=options)
    fuzz.check(exchange, oracles.conforms(exchange, [400], fuzz.run.schemas))


@fuzz_settings(scale=2)
@given(address=psu_ip_addresses())
@example(address=("ipv6", "2001:db8::1")).via("IPv6")
def test_psu_ip_address_of_any_shape_never_crashes(
    fuzz: FuzzSession, address: tuple[str, str]
) -> None:
    kind, value = address
    exchange = fuzz.send(PERSONA, "GET", _balances(fuzz), headers={"PSU-IP-Address": value})
    statuses = [200] if kind in ("ipv4", "ipv6") else [200, 400]
    problems = oracles.conforms(exchange, statuses, fuzz.run.schemas, schema="balances")
    fuzz.check(exchange, problems, f"PSU-IP-Address ({kind}) {value!r}")


def test_without_psu_ip_address_the_quota_applies(fuzz: FuzzSession) -> None:
    """Unattended calls: 200 until the daily quota, then 429; the budget keeps it at 4."""
    options = RequestOptions(token=fuzz.token(UNATTENDED_PERSONA), psu_ip_address=False)
    exchange = fuzz.send(
        UNATTENDED_PERSONA, "GET", _balances(fuzz, UNATTENDED_PERSONA), options=options
    )
    problems = oracles.conforms(exchange, [200, 429], fuzz.run.schemas, schema="balances")
    fuzz.check(exchange, problems)


@fuzz_settings()
@given(accept=accept_headers(), path=st.sampled_from(["accounts", "balances"]))
def test_odd_accept_never_crashes(fuzz: FuzzSession, accept: str, path: str) -> None:
    url = "/accounts" if path == "accounts" else _balances(fuzz)
    exchange = fuzz.send(PERSONA, "GET", url, headers={"Accept": accept})
    fuzz.check(
        exchange, oracles.conforms(exchange, [200, 406], fuzz.run.schemas), f"Accept {accept!r}"
    )
