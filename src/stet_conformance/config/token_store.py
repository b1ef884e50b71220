"""The token store: OAuth tokens obtained by ``stet-conformance login``, per bank and persona.

A JSON file (mode 0600, written atomically) so tokens never have to be pasted into a profile or a
shell history. Entries are keyed by the profile's ``base_url`` (one store can serve several banks),
then persona, then scope. ``authorized_at`` is when the PSU last did SCA: the portal's refresh
token lives 180 days from there, and a refresh does not reset it.

Two more sections serve the revocation scenarios: ``disposable`` (per bank, persona and scope,
refresh tokens obtained by ``login --disposable N`` for scenarios to consume) and
``disposable_used`` (per bank, the SHA-256 of every disposable token a run took, whether it came
from here or from the profile, with its persona and scope, so no run takes it again). ``codes``
(per bank, persona and scope) holds authorization codes ``login --codes N`` obtained and did not
exchange, each with its PKCE verifier, redirect_uri and time: the scenarios exchanging a code
take one each, and it leaves the store. Writers that may run at the same time (the workers of a
run, a login) go through ``locked_store``.

Pure standard library; ``config/profile.py`` reads the store when a profile names one, and
``onboarding/`` (login, refresh, doctor) writes and checks it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from stet_conformance.config.filelock import exclusive
from stet_conformance.config.secret_repr import SecretHolder

STORE_VERSION = 1
REFRESH_LIFETIME = dt.timedelta(days=180)  # seed: "Refresh your token"
REFRESH_WARNING = dt.timedelta(days=150)
KINDS = ("tokens", "refresh_tokens")
DISPOSABLE = "disposable"
USED = "disposable_used"
CODES = "codes"


def default_store_path() -> Path:
    """``$XDG_CONFIG_HOME/stet-conformance/tokens.json`` (``~/.config`` by default)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "stet-conformance" / "tokens.json"


def _time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


@dataclass(frozen=True, repr=False)
class StoredToken(SecretHolder):
    """Tokens of one persona and scope at one bank (never printed)."""

    access_token: str
    refresh_token: str | None
    expires_at: dt.datetime | None
    obtained_at: dt.datetime
    authorized_at: dt.datetime
    scope: str = ""

    def __repr__(self) -> str:  # keep tokens out of tracebacks
        return f"<StoredToken scope={self.scope!r} expires_at={_iso(self.expires_at)}>"

    def expires_within(self, margin: dt.timedelta, now: dt.datetime) -> bool:
        return self.expires_at is not None and self.expires_at - now <= margin

    def refresh_age(self, now: dt.datetime) -> dt.timedelta:
        return now - self.authorized_at

    def refreshed(
        self,
        access_token: str,
        refresh_token: str | None,
        expires_in: float | None,
        now: dt.datetime,
    ) -> StoredToken:
        """The entry after a refresh: new access token, same SCA date."""
        return replace(
            self,
            access_token=access_token,
            refresh_token=refresh_token or self.refresh_token,
            expires_at=now + dt.timedelta(seconds=expires_in) if expires_in else None,
            obtained_at=now,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": _iso(self.expires_at),
            "obtained_at": _iso(self.obtained_at),
            "authorized_at": _iso(self.authorized_at),
            "scope": self.scope,
        }

    @classmethod
    def from_json(cls, entry: dict[str, Any]) -> StoredToken | None:
        access = entry.get("access_token")
        obtained = _time(entry.get("obtained_at"))
        if not isinstance(access, str) or not access or obtained is None:
            return None
        refresh = entry.get("refresh_token")
        return cls(
            access_token=access,
            refresh_token=refresh if isinstance(refresh, str) and refresh else None,
            expires_at=_time(entry.get("expires_at")),
            obtained_at=obtained,
            authorized_at=_time(entry.get("authorized_at")) or obtained,
            scope=str(entry.get("scope") or ""),
        )


@dataclass(frozen=True, repr=False)
class AuthorizationCode(SecretHolder):
    """A code the PSU's login produced and nobody exchanged yet, with what its exchange needs:
    the PKCE verifier (``None`` when the login sent no challenge) and the redirect_uri."""

    code: str
    redirect_uri: str
    code_verifier: str | None
    obtained_at: dt.datetime

    def __repr__(self) -> str:  # keep the code and the verifier out of tracebacks
        return f"<AuthorizationCode obtained_at={_iso(self.obtained_at)}>"

    def secrets(self) -> set[str]:
        return {self.code, *([self.code_verifier] if self.code_verifier else [])}

    def fresh(self, max_age: dt.timedelta, now: dt.datetime) -> bool:
        return dt.timedelta(0) <= now - self.obtained_at < max_age

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "redirect_uri": self.redirect_uri,
            "code_verifier": self.code_verifier,
            "obtained_at": _iso(self.obtained_at),
        }

    @classmethod
    def from_json(cls, entry: Any) -> AuthorizationCode | None:
        if not isinstance(entry, dict):
            return None
        code, uri, verifier = (entry.get(k) for k in ("code", "redirect_uri", "code_verifier"))
        obtained = _time(entry.get("obtained_at"))
        if not (isinstance(code, str) and code and isinstance(uri, str) and obtained):
            return None
        verifier = verifier if isinstance(verifier, str) and verifier else None
        return cls(code, uri, verifier, obtained)


class TokenStoreError(ValueError):
    """The store file exists but cannot be read as a token store (message names the file)."""


class TokenStore:
    """One token store file; ``save`` writes it back with mode 0600."""

    def __init__(self, path: Path, data: dict[str, Any] | None = None) -> None:
        self.path = path
        self.data: dict[str, Any] = data or {"version": STORE_VERSION, "targets": {}}

    @classmethod
    def load(cls, path: Path) -> TokenStore:
        """Read a store; a missing file is an empty store."""
        if not path.exists():
            return cls(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise TokenStoreError(f"{path}: not a token store ({type(exc).__name__})") from None
        if not isinstance(data, dict) or not isinstance(data.get("targets"), dict):
            raise TokenStoreError(f"{path}: not a token store (no 'targets' mapping)")
        return cls(path, data)

    def entries(self, target: str) -> Iterator[tuple[str, str, StoredToken]]:
        """(persona, scope, token) of one bank, in file order."""
        personas = self.data["targets"].get(target) or {}
        for persona, scopes in personas.items():
            for scope, entry in (scopes or {}).items():
                token = StoredToken.from_json(entry) if isinstance(entry, dict) else None
                if token is not None:
                    yield persona, scope, token

    def get(self, target: str, persona: str, scope: str) -> StoredToken | None:
        for p, s, token in self.entries(target):
            if (p, s) == (persona, scope):
                return token
        return None

    def put(self, target: str, persona: str, scope: str, token: StoredToken) -> None:
        personas = self.data["targets"].setdefault(target, {})
        personas.setdefault(persona, {})[scope] = token.to_json()

    def disposable(self, target: str) -> Iterator[tuple[str, str, str, dt.datetime]]:
        """(persona, scope, refresh token, obtained at) of the unused disposable tokens."""
        personas = _mapping(_mapping(self.data.get(DISPOSABLE)).get(target))
        for persona, scopes in personas.items():
            for scope, entries in _mapping(scopes).items():
                for entry in entries if isinstance(entries, list) else []:
                    token = entry.get("refresh_token") if isinstance(entry, dict) else None
                    obtained = _time(entry.get("obtained_at")) if isinstance(entry, dict) else None
                    if isinstance(token, str) and token and obtained is not None:
                        yield persona, scope, token, obtained

    def add_disposable(
        self, target: str, persona: str, scope: str, refresh_token: str, now: dt.datetime
    ) -> None:
        personas = self.data.setdefault(DISPOSABLE, {}).setdefault(target, {})
        entries = personas.setdefault(persona, {}).setdefault(scope, [])
        entries.append({"refresh_token": refresh_token, "obtained_at": _iso(now)})

    def used(self, target: str) -> set[str]:
        """Fingerprints of the disposable tokens runs took at ``target``."""
        return set(_mapping(_mapping(self.data.get(USED)).get(target)))

    def used_counts(self, target: str) -> dict[tuple[str, str], int]:
        """How many disposable tokens runs took at ``target``, per persona and scope."""
        counts: dict[tuple[str, str], int] = {}
        for entry in _mapping(_mapping(self.data.get(USED)).get(target)).values():
            if isinstance(entry, dict) and {"persona", "scope"} <= entry.keys():
                key = (str(entry["persona"]), str(entry["scope"]))
                counts[key] = counts.get(key, 0) + 1
        return counts

    def mark_used(
        self, target: str, refresh_token: str, now: dt.datetime, persona: str, scope: str
    ) -> None:
        """Remember a disposable token as taken (by fingerprint, with its persona and scope)
        and drop it from the pool."""
        used = self.data.setdefault(USED, {}).setdefault(target, {})
        used[fingerprint(refresh_token)] = {"at": _iso(now), "persona": persona, "scope": scope}
        for scopes in _mapping(_mapping(self.data.get(DISPOSABLE)).get(target)).values():
            for name, entries in _mapping(scopes).items():
                if isinstance(entries, list):
                    scopes[name] = [
                        e
                        for e in entries
                        if not (isinstance(e, dict) and e.get("refresh_token") == refresh_token)
                    ]

    def codes(self, target: str) -> Iterator[tuple[str, str, AuthorizationCode]]:
        """(persona, scope, code) of the codes ``login --codes`` stored for ``target``."""
        for persona, scopes in _mapping(_mapping(self.data.get(CODES)).get(target)).items():
            for scope, entries in _mapping(scopes).items():
                for entry in entries if isinstance(entries, list) else []:
                    code = AuthorizationCode.from_json(entry)
                    if code is not None:
                        yield persona, scope, code

    def add_code(self, target: str, persona: str, scope: str, code: AuthorizationCode) -> None:
        personas = self.data.setdefault(CODES, {}).setdefault(target, {})
        personas.setdefault(persona, {}).setdefault(scope, []).append(code.to_json())

    def take_code(
        self, target: str, persona: str, scope: str, max_age: dt.timedelta, now: dt.datetime
    ) -> AuthorizationCode | None:
        """The oldest fresh code of ``persona`` and ``scope``, removed from the store with the
        stale ones (a code serves one exchange, and a stale one none)."""
        found = [c for p, s, c in self.codes(target) if (p, s) == (persona, scope)]
        fresh = sorted((c for c in found if c.fresh(max_age, now)), key=lambda c: c.obtained_at)
        if found:
            kept = [c.to_json() for c in fresh[1:]]
            self.data[CODES][target][persona][scope] = kept
        return fresh[0] if fresh else None

    def save(self) -> None:
        """Atomic write: a temporary 0600 file in the same directory, then rename."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(prefix=".tokens-", dir=self.path.parent)  # 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(self.data, handle, indent=2, sort_keys=True)
                handle.write("\n")
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def fingerprint(token: str) -> str:
    """What the store keeps of a used disposable token: its SHA-256, not the token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@contextlib.contextmanager
def locked_store(path: Path) -> Iterator[TokenStore]:
    """The store read under an exclusive lock (``<store>.lock`` beside it), saved at the end
    of the block if it changed: concurrent writers (a run's workers, a login) lose nothing."""
    with exclusive(path.with_name(path.name + ".lock")):
        store = TokenStore.load(path)
        before = json.dumps(store.data, sort_keys=True)
        yield store
        if json.dumps(store.data, sort_keys=True) != before:
            store.save()


def expired_warning(path: Path, persona: str, scope: str) -> str:
    """How the warning about an expired stored access token starts (a refresh removes it)."""
    return f"token store {path}: {persona}/{scope} access token expired"


def credentials_from_store(
    store: TokenStore, target: str, now: dt.datetime | None = None
) -> tuple[dict[str, dict[str, dict[str, str]]], list[str]]:
    """Tokens of ``target`` as ``{persona: {"tokens"|"refresh_tokens": {scope: value}}}``.

    Access tokens already expired are left out (scenarios needing them are then skipped, not
    failed with a 401); warnings say so, and when a refresh token nears its 180-day end.
    """
    now = now or dt.datetime.now(dt.UTC)
    path = store.path
    found: dict[str, dict[str, dict[str, str]]] = {}
    warnings: list[str] = []
    for persona, scope, token in store.entries(target):
        tables = found.setdefault(persona, {kind: {} for kind in KINDS})
        if token.refresh_token:
            tables["refresh_tokens"][scope] = token.refresh_token
            age = token.refresh_age(now)
            if age >= REFRESH_LIFETIME:
                warnings.append(
                    f"token store {path}: {persona}/{scope} refresh token is {age.days} days "
                    f"old (180-day life): run stet-conformance login --persona {persona} "
                    f"--scope {scope} again"
                )
            elif age >= REFRESH_WARNING:
                left = (REFRESH_LIFETIME - age).days
                warnings.append(
                    f"token store {path}: {persona}/{scope} refresh token expires in {left} "
                    f"days (180-day life): plan a new login with the PSU"
                )
        if token.expires_within(dt.timedelta(0), now):
            warnings.append(
                f"{expired_warning(path, persona, scope)} "
                f"on {token.expires_at:%Y-%m-%d %H:%M} UTC (not used)"
            )
        else:
            tables["tokens"][scope] = token.access_token
    return found, warnings


def disposable_from_store(
    store: TokenStore, target: str, now: dt.datetime | None = None
) -> tuple[dict[str, dict[str, list[str]]], list[str]]:
    """Unused disposable refresh tokens of ``target`` as ``{persona: {scope: [token, ...]}}``.

    Those past the 180-day life are left out, with a warning.
    """
    now = now or dt.datetime.now(dt.UTC)
    found: dict[str, dict[str, list[str]]] = {}
    expired: dict[tuple[str, str], int] = {}
    for persona, scope, token, obtained in store.disposable(target):
        if now - obtained >= REFRESH_LIFETIME:
            expired[persona, scope] = expired.get((persona, scope), 0) + 1
        else:
            found.setdefault(persona, {}).setdefault(scope, []).append(token)
    warnings = [
        f"token store {store.path}: {count} disposable {persona}/{scope} refresh token(s) past "
        f"their 180-day life (not used): run stet-conformance login --persona {persona} "
        f"--scope {scope} --disposable N for new ones"
        for (persona, scope), count in sorted(expired.items())
    ]
    return found, warnings
