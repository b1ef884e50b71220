"""Signatures and digests: a signature that does not verify is a 400; what verifies may be served.

Missing Signature, an algorithm the QSEAL key cannot have used, a keyId naming no registered
QSEAL, an unparseable header and a signature from another key are refused with 400 (seed:
Try-it parameters: "HTTP 400 ... in case of an invalid or missing signature") unless the profile
sets ``vars.fuzz.signature_status``. A body changed after signing (the signed Digest is not the
body's) should be refused: served, a warning. A signature that verifies but is labelled with
another RSA algorithm (the key decides, draft-cavage-12 2.1.3), covers fewer headers (the signer
chooses them) or carries a stale signed Date (no source sets a window) may be refused or served:
no source prefers either, so neither warns.
"""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given
from hypothesis import strategies as st

from stet_conformance.fuzz import mutations, oracles
from stet_conformance.fuzz.plugin import fuzz_settings
from stet_conformance.fuzz.session import FuzzSession
from stet_conformance.fuzz.strategies import (
    RSA_ALGORITHM_LABELS,
    WRONG_ALGORITHMS,
    key_ids,
    malformed_signature_headers,
)
from stet_conformance.http.signing import RequestOptions
from stet_conformance.shared import cavage
from stet_conformance.verdict import should

PERSONA = "LEA"
CONSENT_PERSONA = "TECHNCO"
DIGEST_IS_BODY = (
    "Banque BCP portal, Try-it parameters: Digest is the 'body synthesis' and signed, and HTTP "
    "400 answers an invalid signature; RFC 3230 4.3.2: the Digest is the digest of the body"
)
PATHS = st.sampled_from(["/accounts", "balances", "transactions"])


def _statuses(fuzz: FuzzSession) -> list[int]:
    """The refusal the profile declares for a bad signature (default 400, the portal's)."""
    return list(fuzz.profile.choices.signature_status)


def _path(fuzz: FuzzSession, choice: str) -> str:
    if choice.startswith("/"):
        return choice
    return f"/accounts/{fuzz.account(PERSONA, choice)['resource_id']}/{choice}"


def _refused(
    fuzz: FuzzSession, request: mutations.SignedRequest, note: str, served: bool = False
) -> None:
    """The request is refused; with ``served``, answering it (200) is legitimate too."""
    exchange = fuzz.send(
        PERSONA,
        request.method,
        request.url,
        headers=request.headers,
        content=request.content,
        options=request.options,
    )
    statuses = _statuses(fuzz) + ([200] if served else [])
    fuzz.check(exchange, oracles.conforms(exchange, statuses, fuzz.run.schemas), note)


@pytest.fixture(scope="session")
def other_signing_key(fuzz_session: FuzzSession) -> rsa.RSAPrivateKey:
    """A QSEAL key the bank never registered (the sandbox's pki/qseal-other.key)."""
    path = fuzz_session.other_signing_key()
    if path is None:
        pytest.skip("no second signing key: set vars.fuzz.other_signing_key in the profile")
    return mutations.load_key(path)


@fuzz_settings(scale=0.5)
@given(path=PATHS)
def test_control_a_well_signed_request_is_served(fuzz: FuzzSession, path: str) -> None:
    """The baseline: without it, every 400 below could be the harness's own mistake."""
    request = mutations.build(fuzz, PERSONA, "GET", _path(fuzz, path))
    exchange = fuzz.send(
        PERSONA, "GET", request.url, headers=request.headers, options=request.options
    )
    fuzz.check(exchange, oracles.conforms(exchange, [200], fuzz.run.schemas))


@pytest.mark.stet_covers("signature", on=["accounts", "balances", "transactions"])
@fuzz_settings(scale=0.5)
@given(path=PATHS)
def test_missing_signature_is_refused(fuzz: FuzzSession, path: str) -> None:
    request = mutations.build(fuzz, PERSONA, "GET", _path(fuzz, path))
    del request.headers["Signature"]
    request.options = RequestOptions(token=fuzz.token(PERSONA), sign=False)
    _refused(fuzz, request, "no Signature header")


def _labelled(fuzz: FuzzSession, path: str, algorithm: str) -> mutations.SignedRequest:
    """A request signed with rsa-sha256, its Signature's algorithm parameter replaced."""
    request = mutations.build(fuzz, PERSONA, "GET", _path(fuzz, path))
    request.headers["Signature"] = mutations.replace_param(
        request.headers["Signature"], "algorithm", algorithm
    )
    return request


@pytest.mark.stet_covers("signature", on=["accounts", "balances", "transactions"])
@fuzz_settings(scale=0.5)
@given(path=PATHS, algorithm=st.sampled_from(WRONG_ALGORITHMS))
def test_an_algorithm_the_key_cannot_have_used_is_refused(
    fuzz: FuzzSession, path: str, algorithm: str
) -> None:
    """HMAC, EC, Ed25519 or none over an RSA QSEAL: the signature is invalid (draft-cavage-12
    2.1.3: an algorithm that contradicts the key is an error)."""
    _refused(fuzz, _labelled(fuzz, path, algorithm), f"algorithm={algorithm!r}")


@fuzz_settings(scale=0.5)
@given(path=PATHS, algorithm=st.sampled_from(RSA_ALGORITHM_LABELS))
def test_another_rsa_label_is_refused_or_served(
    fuzz: FuzzSession, path: str, algorithm: str
) -> None:
    """Refused, or verified with the algorithm the key gives (draft-cavage-12 2.1.3): neither is
    preferred."""
    _refused(fuzz, _labelled(fuzz, path, algorithm), f"algorithm={algorithm!r}", served=True)


@pytest.mark.stet_covers("signature", on=["accounts", "balances", "transactions"])
@fuzz_settings(scale=0.5)
@given(path=PATHS, data=st.data())
def test_unknown_or_malformed_key_id_is_refused(
    fuzz: FuzzSession, path: str, data: st.DataObject
) -> None:
    request = mutations.build(fuzz, PERSONA, "GET", _path(fuzz, path))
    if data.draw(st.booleans(), label="malformed"):
        header = data.draw(malformed_signature_headers(fuzz.profile.signing.key_id), label="header")
        request.headers["Signature"] = header
    else:
        key_id = data.draw(key_ids(fuzz.profile.signing.key_id), label="keyId")
        request.headers["Signature"] = mutations.replace_param(
            request.headers["Signature"], "keyId", key_id
        )
    _refused(fuzz, request, "keyId or Signature syntax")


@fuzz_settings(scale=0.5)
@given(path=PATHS, left_out=st.sampled_from([cavage.REQUEST_TARGET, "digest", "psu-ip-address"]))
def test_a_header_left_out_of_the_signed_set_is_refused_or_served(
    fuzz: FuzzSession, path: str, left_out: str
) -> None:
    """Refused or served: the portal's example signs all three, no source requires them."""
    names = [cavage.REQUEST_TARGET, "digest", "x-request-id", "psu-ip-address"]
    names.remove(left_out)
    request = mutations.build(fuzz, PERSONA, "GET", _path(fuzz, path), names=names)
    _refused(fuzz, request, f"{left_out} not signed", served=True)


@pytest.mark.stet_covers("digest", on="consents")
@pytest.mark.stet_shares("consent TECHNCO")  # CON-REVOKE changes it
@fuzz_settings(scale=0.5)
@given(
    indent=st.none() | st.integers(0, 4),
    sort=st.booleans(),
    space=st.booleans(),
    identity=st.booleans(),
)
def test_body_changed_after_signing_should_be_refused(
    fuzz: FuzzSession, indent: int | None, sort: bool, space: bool, identity: bool
) -> None:
    """PUT /consents with the persona's existing consent: only the bytes change, not the meaning.

    The signature verifies (it covers the Digest header), so serving it (201) is allowed, with a
    warning: the Digest is not the body's (SEC-DIGEST-MISMATCH).
    """
    body = mutations.consent_body(fuzz, CONSENT_PERSONA)
    signed = mutations.reformat(body, None, False, False)
    sent = mutations.reformat(body, indent, sort, space)
    if sent == signed:
        sent += b"\n"
    request = mutations.build(fuzz, CONSENT_PERSONA, "PUT", "/consents", content=signed)
    request.content = sent
    request.options = RequestOptions(token=fuzz.token(CONSENT_PERSONA))
    exchange = fuzz.send(
        CONSENT_PERSONA,
        "PUT",
        request.url,
        headers=request.headers,
        content=sent,
        options=request.options,
    )
    problems = oracles.conforms(exchange, [*_statuses(fuzz), 201], fuzz.run.schemas)
    if exchange.status == 201:
        problems.append(should("served although the Digest is not the body's", DIGEST_IS_BODY))
    fuzz.check(exchange, problems, "Digest of another serialisation of the body")


@pytest.mark.stet_covers("signature", on=["accounts", "balances", "transactions"])
@fuzz_settings(scale=0.5)
@given(path=PATHS)
def test_signature_from_another_key_is_refused(
    fuzz: FuzzSession, other_signing_key: rsa.RSAPrivateKey, path: str
) -> None:
    request = mutations.build(fuzz, PERSONA, "GET", _path(fuzz, path), key=other_signing_key)
    _refused(fuzz, request, "signed with a key the bank does not know")


@fuzz_settings(scale=0.5)
@given(path=PATHS, age=st.integers(310, 30 * 86400), future=st.booleans())
def test_stale_signed_date_is_refused_or_served(
    fuzz: FuzzSession, path: str, age: int, future: bool
) -> None:
    """Refused or served: no source sets a window for the signed Date."""
    offset = dt.timedelta(seconds=age)
    date = dt.datetime.now(dt.UTC) + (offset if future else -offset)
    request = mutations.build(fuzz, PERSONA, "GET", _path(fuzz, path), date=date)
    _refused(fuzz, request, f"signed Date {request.headers['Date']!r}", served=True)
