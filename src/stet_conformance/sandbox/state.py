"""The sandbox's mutable state: tokens, authorisation codes, consents, rate-limit counters, saved
payment requests and, for the replay-protection variant, the signatures seen in the last 5 minutes.

Only the server's event-loop thread touches it, so no locking is needed.
"""

from __future__ import annotations

import copy
import datetime as dt
import secrets
import string
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography import x509

from stet_conformance.sandbox.consents import Consent
from stet_conformance.sandbox.payment_requests import PaymentRequest, load_payment_requests
from stet_conformance.sandbox.personas import Bank

SCOPE_ORDER = ("aisp", "pisp", "cbpii")
SCOPES = frozenset(SCOPE_ORDER)
TOKEN_LIFETIME = dt.timedelta(hours=1)
CODE_LIFETIME = dt.timedelta(hours=1)
# Tokens written into the sandbox's profile live as long as a long-running sandbox may.
PREISSUED_LIFETIME = dt.timedelta(days=30)
DAILY_BATCH_CALLS = 4  # seed limits: at most 4 calls a day without PSU-IP-Address
FALLBACK_LIFETIME = dt.timedelta(minutes=10)  # the fallback redirect's token (invented)
REPLAY_WINDOW = dt.timedelta(minutes=5)  # replay-protection variant: how long a signature is kept
# Disposable aisp refresh tokens per persona, each its own grant: a run takes up to three (the two
# revocations, refresh rotation), whatever its workers; a run context without a run folder splits
# the pool by worker, and each of up to 8 takes from its own eighth.
DISPOSABLE_TOKENS = 24
_ALPHABET = string.ascii_letters + string.digits


def new_secret() -> str:
    """A random token made of letters and digits only (safe unquoted in YAML and headers)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(48))


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class AccessToken:
    value: str
    persona: str
    scopes: frozenset[str]
    tpp: str
    expires_at: dt.datetime
    refresh: str | None = None


@dataclass
class RefreshToken:
    value: str
    persona: str
    scopes: frozenset[str]
    tpp: str


@dataclass
class AuthCode:
    value: str
    persona: str
    scopes: frozenset[str]
    tpp: str
    redirect_uri: str
    expires_at: dt.datetime
    code_challenge: str | None = None  # PKCE (RFC 7636), S256 only


@dataclass
class PersonaTokens:
    """The tokens issued at start for one persona, written into the target profile."""

    tokens: dict[str, str] = field(default_factory=dict)
    refresh_tokens: dict[str, str] = field(default_factory=dict)
    expired_tokens: dict[str, str] = field(default_factory=dict)
    disposable_refresh_tokens: dict[str, list[str]] = field(default_factory=dict)


class SandboxState:
    """Everything the sandbox remembers between requests."""

    def __init__(
        self,
        bank: Bank,
        faults: frozenset[str],
        qseal_cert: x509.Certificate,
        tpp_id: str,
        clock: Callable[[], dt.datetime] = utc_now,
        replay_protection: bool = False,
        *,
        choices: frozenset[str] = frozenset(),
        payments: dict[str, PaymentRequest] | None = None,
    ) -> None:
        self.bank = bank
        self.faults = faults
        self.choices = choices  # switches of the legitimate variants (sandbox/variants.py)
        self.replay_protection = replay_protection
        # (keyId, signature) -> when first seen, and the same keys oldest first for expiry.
        self.signatures: dict[tuple[str, bytes], dt.datetime] = {}
        self._signature_order: deque[tuple[dt.datetime, tuple[str, bytes]]] = deque()
        self.qseal_cert = qseal_cert
        self.clock = clock
        self.access: dict[str, AccessToken] = {}
        self.refresh: dict[str, RefreshToken] = {}
        self.codes: dict[str, AuthCode] = {}
        self.consents: dict[tuple[str, str], Consent] = {}
        self.calls: dict[tuple[str, ...], int] = {}
        self.preissued: dict[str, PersonaTokens] = {}
        self.payments = payments if payments is not None else load_payment_requests()
        self._start_payments = copy.deepcopy(self.payments)  # what a reset restores
        self.fallback: dict[str, tuple[str, dt.datetime]] = {}  # login token -> (tpp, expiry)
        self.run_id: str | None = None  # the harness run the last reset was for
        self.tpp_id = tpp_id
        for key in bank.personas:
            self.preissued[key] = self._preissue(key)

    def _preissue(self, persona: str) -> PersonaTokens:
        """The tokens the profile holds for ``persona`` (access tokens live 30 days)."""
        issued = PersonaTokens()
        for scope in SCOPE_ORDER:
            token = self.issue_access(persona, frozenset({scope}), self.tpp_id)
            token.expires_at = self.clock() + PREISSUED_LIFETIME
            issued.tokens[scope] = token.value
        aisp = frozenset({"aisp"})
        issued.refresh_tokens["aisp"] = self.issue_refresh(persona, aisp, self.tpp_id).value
        issued.disposable_refresh_tokens["aisp"] = [
            self.issue_refresh(persona, aisp, self.tpp_id).value for _ in range(DISPOSABLE_TOKENS)
        ]
        expired = self.issue_access(persona, aisp, self.tpp_id)
        expired.expires_at = self.clock() - TOKEN_LIFETIME
        issued.expired_tokens["aisp"] = expired.value
        return issued

    def _restore_refresh_tokens(self) -> None:
        """The profile's refresh tokens work again, whatever earlier runs revoked or rotated."""
        for persona, issued in self.preissued.items():
            for value in [
                *issued.refresh_tokens.values(),
                *issued.disposable_refresh_tokens["aisp"],
            ]:
                self.refresh[value] = RefreshToken(value, persona, frozenset({"aisp"}), self.tpp_id)

    def reset(self, run_id: str) -> None:
        """Restore what runs change (payment requests, consents, daily quotas, the profile's
        refresh tokens that revocation consumed or rotation replaced), once per run.

        A long-running sandbox serves run after run; the harness calls this at the start of each
        one (``POST /sandbox/reset``). The workers of one run send the same id, so a second
        worker cannot undo the first one's confirmations.
        """
        if run_id == self.run_id:
            return
        self.run_id = run_id
        self.payments = copy.deepcopy(self._start_payments)
        self.consents.clear()
        self.calls.clear()
        self._restore_refresh_tokens()

    def issue_access(
        self, persona: str, scopes: frozenset[str], tpp: str, refresh: str | None = None
    ) -> AccessToken:
        token = AccessToken(
            new_secret(), persona, scopes, tpp, self.clock() + TOKEN_LIFETIME, refresh
        )
        self.access[token.value] = token
        return token

    def issue_refresh(self, persona: str, scopes: frozenset[str], tpp: str) -> RefreshToken:
        token = RefreshToken(new_secret(), persona, scopes, tpp)
        self.refresh[token.value] = token
        return token

    def revoke(self, value: str, tpp: str) -> None:
        """Revoke a refresh token with its access tokens, or an access token with its refresh
        token and that token's other access tokens (seed: revoking one revokes the other).

        A revoked access token stays known and answers 401 ``invalid_token`` (it is expired now);
        the faults revoke-* and revoked-token-no-invalid-token change one part each.
        """
        if "revoke-ignored" in self.faults:
            return
        access = self.access.get(value)
        refresh_value = value
        if access is not None and access.tpp == tpp:
            self._end_access(access)
            if access.refresh is None or "revoke-access-keeps-refresh" in self.faults:
                return
            refresh_value = access.refresh
        refresh = self.refresh.get(refresh_value)
        if refresh is None or refresh.tpp != tpp:
            return
        del self.refresh[refresh_value]
        if "revoke-keeps-access-tokens" in self.faults:
            return
        for token in [t for t in self.access.values() if t.refresh == refresh_value]:
            self._end_access(token)

    def _end_access(self, token: AccessToken) -> None:
        if "revoked-token-no-invalid-token" in self.faults:
            self.access.pop(token.value, None)
        else:
            token.expires_at = min(token.expires_at, self.clock() - dt.timedelta(seconds=1))

    def consent(self, tpp: str, persona: str) -> Consent:
        """The consent in force; the fixture's until the TPP sends one (seed: already recorded)."""
        found = self.consents.get((tpp, persona))
        return found if found is not None else self.bank.personas[persona].consent

    def count_call(self, key: tuple[str, ...]) -> int:
        """Count a call without PSU-IP-Address against today's quota; returns the new count."""
        full = (self.clock().date().isoformat(), *key)
        self.calls[full] = self.calls.get(full, 0) + 1
        return self.calls[full]

    def replayed(self, key_id: str, signature: bytes) -> bool:
        """Whether this (keyId, Signature value) pair was seen in the last ``REPLAY_WINDOW``.

        Records the pair when it is new; pairs older than the window are forgotten.
        """
        now = self.clock()
        while self._signature_order and now - self._signature_order[0][0] >= REPLAY_WINDOW:
            _, old = self._signature_order.popleft()
            self.signatures.pop(old, None)
        key = (key_id, signature)
        if key in self.signatures:
            return True
        self.signatures[key] = now
        self._signature_order.append((now, key))
        return False
