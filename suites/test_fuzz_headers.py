"""Request headers: X-Request-ID echoed byte for byte; odd headers served or refused, never 5xx.

X-Request-ID (swagger: required, maxLength 70) of any length 1-70 and any visible-ASCII content
comes back unchanged. Missing, it should be refused with 400 (both sources require it; served,
a warning). A longer one is refused (400) or served and echoed byte for byte: maxLength tells
the TPP what to send, nothing tells the bank to refuse more. PSU-IP-Address as IPv4 or IPv6 is
served, garbage served or refused with 400; odd Accept values are served, 400 when malformed,
406 when not acceptable; odd Content-Type on PUT /consents: application/json variants 201, other
types 201 when the bank reads the JSON anyway, or 400/415; a header sent twice (X-Request-ID,
PSU-IP-Address): 400 or a normal answer. Every answer is well formed (X-Request-ID echo, JSON
content type, ErrorModel on 4xx), never a 5xx.
"""

from __future__ import annotations

import json
import uuid

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from stet_conformance.config.profile import DEFAULT_PSU_IP
from stet_conformance.fuzz import mutations, oracles
from stet_conformance.fuzz.plugin import fuzz_settings
from stet_conformance.fuzz.session import FuzzSession
from stet_conformance.fuzz.strategies import (
    accept_headers,
    content_types,
    oversize_request_ids,
    psu_ip_addresses,
    request_ids,
)
from stet_conformance.http.signing import RequestOptions
from stet_conformance.verdict import should

PERSONA = "LEA"  # read-only here, except PUT /consents with LEA's declared consent (idempotent)
UNATTENDED_PERSONA = "MARC"  # its own quota counters: the SEC-QUOTA scenario uses EDME


def _balances(fuzz: FuzzSession, persona: str = PERSONA) -> str:
    return f"/accounts/{fuzz.account(persona, 'balances')['resource_id']}/balances"


@pytest.mark.stet_covers("request_id_echo", on="accounts")
@fuzz_settings(scale=2)
@given(request_id=request_ids())
@example(request_id="x" * 70).via("maxLength")
def test_request_id_is_echoed_byte_for_byte(fuzz: FuzzSession, request_id: str) -> None:
    exchange = fuzz.send(PERSONA, "GET", "/accounts", headers={"X-Request-ID": request_id})
    problems = oracles.conforms(exchange, [200], fuzz.run.schemas, schema="accounts")
    fuzz.check(exchange, problems + oracles.echo_problems(exchange, request_id))


@pytest.mark.stet_covers("request_id_echo", on="accounts")
@fuzz_settings()
@given(request_id=oversize_request_ids())
def test_oversize_request_id_is_refused_or_echoed(fuzz: FuzzSession, request_id: str) -> None:
    exchange = fuzz.send(PERSONA, "GET", "/accounts", headers={"X-Request-ID": request_id})
    problems = oracles.conforms(exchange, [400, 200], fuzz.run.schemas, schema="accounts")
    if exchange.status == 200:  # no source prefers either answer: served, it is echoed
        problems += oracles.echo_problems(exchange, request_id)
    fuzz.check(exchange, problems)


REQUEST_ID_REQUIRED = (
    "STET 1.4.0.47, X-Request-ID required on every operation, and the Banque BCP portal's "
    "Try-it parameters, X-Request-ID mandatory: a request every source forbids is refused with "
    "400 (RFC 6750 3.1 invalid_request: a request missing a required parameter)"
)


def test_missing_request_id_should_be_refused(fuzz: FuzzSession) -> None:
    """400 recommended; served (200 with the accounts) is allowed, with a warning."""
    options = RequestOptions(token=fuzz.token(PERSONA), request_id=False)
    exchange = fuzz.send(PERSONA, "GET", "/accounts", options=options)
    problems = oracles.conforms(exchange, [400, 200], fuzz.run.schemas, schema="accounts")
    if exchange.status == 200:
        problems.append(should("served without X-Request-ID, not 400", REQUEST_ID_REQUIRED))
    fuzz.check(exchange, problems)


@fuzz_settings(scale=2)
@given(address=psu_ip_addresses())
@example(address=("ipv6", "2001:db8::1")).via("IPv6")
def test_psu_ip_address_served_or_garbage_refused(
    fuzz: FuzzSession, address: tuple[str, str]
) -> None:
    """IPv4 and IPv6 are served (200); anything else is served or refused with 400."""
    kind, value = address
    exchange = fuzz.send(PERSONA, "GET", _balances(fuzz), headers={"PSU-IP-Address": value})
    statuses = [200] if kind in ("ipv4", "ipv6") else [200, 400]
    problems = oracles.conforms(exchange, statuses, fuzz.run.schemas, schema="balances")
    fuzz.check(exchange, problems, f"PSU-IP-Address ({kind}) {value!r}")


@pytest.mark.stet_shares("consent MARC")  # CON-REPLACE changes it
def test_without_psu_ip_address_the_quota_applies(fuzz: FuzzSession) -> None:
    """Unattended calls: 200 until the daily quota, then 429; the budget keeps it at 4."""
    options = RequestOptions(token=fuzz.token(UNATTENDED_PERSONA), psu_ip_address=False)
    exchange = fuzz.send(
        UNATTENDED_PERSONA, "GET", _balances(fuzz, UNATTENDED_PERSONA), options=options
    )
    problems = oracles.conforms(exchange, [200, 429], fuzz.run.schemas, schema="balances")
    fuzz.check(exchange, problems)


@pytest.mark.stet_covers("content_type", on=["accounts", "balances"])
@fuzz_settings()
@given(accept=accept_headers(), path=st.sampled_from(["accounts", "balances"]))
def test_odd_accept_is_served_or_refused(fuzz: FuzzSession, accept: str, path: str) -> None:
    """Served (200: RFC 9110 12.5.1 lets the server ignore Accept), 400 when malformed, 406."""
    url = "/accounts" if path == "accounts" else _balances(fuzz)
    exchange = fuzz.send(PERSONA, "GET", url, headers={"Accept": accept})
    fuzz.check(
        exchange,
        oracles.conforms(exchange, [200, 400, 406], fuzz.run.schemas),
        f"Accept {accept!r}",
    )


@fuzz_settings()
@given(content_type=content_types())
@example(content_type=("other", "text/plain")).via("not JSON")
@example(content_type=("json", "application/json; charset=utf-8")).via("JSON with charset")
def test_odd_content_type_on_consents_is_served_or_refused(
    fuzz: FuzzSession, content_type: tuple[str, str]
) -> None:
    """PUT /consents with LEA's declared consent (CON-1's body), under another Content-Type.

    A JSON type is served (201). Another type may be refused (415, 400) or read as JSON all the
    same (RFC 9110 8.3: the recipient may look at the content): no source prefers either.
    """
    kind, value = content_type
    body = json.dumps(mutations.consent_body(fuzz, PERSONA)).encode()
    exchange = fuzz.send(PERSONA, "PUT", "/consents", headers={"Content-Type": value}, content=body)
    statuses = [201] if kind == "json" else [201, 400, 415]
    fuzz.check(
        exchange, oracles.conforms(exchange, statuses, fuzz.run.schemas), f"Content-Type {value!r}"
    )


@pytest.mark.parametrize("same", [True, False], ids=["same value", "two values"])
@pytest.mark.parametrize("header", ["X-Request-ID", "PSU-IP-Address"])
def test_duplicated_header_is_served_or_refused(fuzz: FuzzSession, header: str, same: bool) -> None:
    """A header sent twice (both signed, joined with ", "): 400 or a normal answer, never 5xx."""
    if header == "X-Request-ID":
        first = str(uuid.uuid4())
        second = first if same else str(uuid.uuid4())
    else:
        first = fuzz.profile.psu_ip_address or DEFAULT_PSU_IP
        second = first if same else "192.0.2.77"
    exchange = fuzz.send(PERSONA, "GET", "/accounts", headers=[(header, first), (header, second)])
    twice = header == "X-Request-ID"
    problems = oracles.conforms(exchange, [200, 400], fuzz.run.schemas, "accounts", echo=not twice)
    if twice:  # the echo, if any, is one of the values sent (or both, joined)
        echoed = [v for k, v in exchange.response.headers.raw if k.lower() == b"x-request-id"]
        allowed = {first.encode(), second.encode(), f"{first}, {second}".encode()}
        problems += [
            f"X-Request-ID echoed as {v!r}, sent {first!r} and {second!r}"
            for v in echoed
            if v not in allowed
        ]
    fuzz.check(exchange, problems, f"{header} sent twice ({'same' if same else 'two'} values)")
