"""The run's refresh tokens as scenarios change them (the token lifecycle at a bank).

Main tokens (``personas.<P>.refresh_tokens``): a refresh answered with another refresh token (a
bank that rotates) replaces the persona's token for the rest of the run and, when the token came
from the token store, in the store too, so the next run still works. The run's other processes
(xdist workers) follow it too: with ``shared``, a 0600 file in the run's private folder holds the
rotated tokens, written under a lock and read when a scenario starts (the scenarios that refresh
a persona's token share that state, so they never run at the same time: ``plugin/sharing.py``).

Disposable tokens (``personas.<P>.disposable_refresh_tokens``, and those of ``login
--disposable N``): each revocation scenario takes one and consumes it. With a token store, the
taking happens under the store's lock and the store remembers the token as used (its SHA-256):
no other worker and no later run takes it again. Without one, the run's shared file does the same
for the run (a later run may take a used one again: the scenario then skips at its first step,
``skip_when``); without either (a run context without a run folder), worker k of n takes the
k-th, (k+n)-th... tokens of the pool.

Authorization codes (``login --codes N``, in the token store only: a code lives minutes): each
scenario exchanging a code takes the oldest one younger than ``oauth.code_max_age``, under the
store's lock; it leaves the store, so no other worker or run exchanges it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stet_conformance.config.filelock import exclusive
from stet_conformance.config.profile import Profile
from stet_conformance.config.secret_repr import SecretHolder
from stet_conformance.config.token_store import AuthorizationCode, fingerprint, locked_store


class NoDisposableToken(LookupError):
    """The pool of a persona and scope is empty (the message names the key and the command)."""

    def __init__(self, persona: str, scope: str) -> None:
        super().__init__(
            f"no unused disposable refresh token for {persona}/{scope} "
            f"(personas.{persona}.disposable_refresh_tokens.{scope}; "
            f"stet-conformance login --disposable N --persona {persona} --scope {scope} "
            "obtains N more)"
        )


class NoAuthorizationCode(LookupError):
    """No fresh code for a persona and scope (the message names the command and the setting)."""

    def __init__(self, persona: str, scope: str, max_age: float, store: Path | None) -> None:
        command = f"stet-conformance login --codes N --persona {persona} --scope {scope}"
        where = (
            f"the token store has no {persona}/{scope} code younger than {max_age:.0f} s "
            "(oauth.code_max_age)"
            if store is not None
            else "the profile names no token_store, where login keeps them"
        )
        super().__init__(
            f"needs a fresh authorization code: {where}; {command} obtains N just before a run"
        )


@dataclass(frozen=True)
class Worker:
    """Which of the run's processes this is (pytest-xdist: ``gw<index>`` of ``count``)."""

    index: int = 0
    count: int = 1


@dataclass(frozen=True, repr=False)
class Refreshed(SecretHolder):
    """A token response to a refresh that rotated the refresh token."""

    access_token: str
    refresh_token: str
    expires_in: float | None

    def __repr__(self) -> str:
        return f"<Refreshed expires_in={self.expires_in}>"


class RunTokens(SecretHolder):
    """One process's view of the profile's refresh tokens during a run."""

    def __init__(
        self, profile: Profile, worker: Worker = Worker(), shared: Path | None = None
    ) -> None:
        self._profile = profile
        self._worker = worker
        self._main = {p: dict(c.refresh_tokens) for p, c in profile.personas.credentials.items()}
        self._taken: set[str] = set()
        self._shared = shared

    def __repr__(self) -> str:
        return f"<RunTokens {self._profile!r} worker {self._worker.index}/{self._worker.count}>"

    def refresh_tokens(self) -> dict[str, dict[str, str]]:
        """The personas' refresh tokens now (a copy: a scenario keeps those it started with),
        rotations by the run's other processes included."""
        rotated: dict[str, dict[str, str]] = self._shared_state(None).get("rotated", {})
        for persona, tables in rotated.items():
            self._main.setdefault(persona, {}).update(tables)
        return {persona: dict(tables) for persona, tables in self._main.items()}

    def _shared_state(self, change: Callable[[dict[str, Any]], None] | None) -> dict[str, Any]:
        """What the run's processes share (``rotated`` tokens, disposable ones ``taken``, by
        SHA-256), after ``change`` (written back, 0600, if it changed it)."""
        if self._shared is None:
            return {}
        with exclusive(self._shared.with_name(self._shared.name + ".lock")):
            text = self._shared.read_text(encoding="utf-8") if self._shared.exists() else "{}"
            state: dict[str, Any] = json.loads(text)
            before = json.dumps(state, sort_keys=True)
            if change is not None:
                change(state)
            if json.dumps(state, sort_keys=True) != before:
                fd = os.open(self._shared, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump(state, handle)
        return state

    def rotated(self, sent: str, answer: Refreshed) -> None:
        """``sent`` was refreshed into another refresh token: if it is a persona's, follow it."""
        for persona, tables in self._main.items():
            for scope, value in tables.items():
                if value == sent:
                    tables[scope] = answer.refresh_token
                    self._share(persona, scope, answer.refresh_token)
                    self._write_back(persona, scope, sent, answer)
                    return

    def _share(self, persona: str, scope: str, token: str) -> None:
        """Tell the run's other processes (``refresh_tokens`` reads it there)."""

        def change(state: dict[str, Any]) -> None:
            state.setdefault("rotated", {}).setdefault(persona, {})[scope] = token

        self._shared_state(change)

    def _write_back(self, persona: str, scope: str, sent: str, answer: Refreshed) -> None:
        """The store's entry follows when it held the token sent (a profile's own cannot)."""
        if self._profile.token_store is None:
            return
        target = self._profile.base_url
        with locked_store(self._profile.token_store) as store:
            entry = store.get(target, persona, scope)
            if entry is not None and entry.refresh_token == sent:
                now = dt.datetime.now(dt.UTC)
                fresh = entry.refreshed(
                    answer.access_token, answer.refresh_token, answer.expires_in, now
                )
                store.put(target, persona, scope, fresh)

    def take_disposable(self, persona: str, scope: str) -> str:
        """One unused disposable refresh token, now used; ``NoDisposableToken`` if none is left."""
        credentials = self._profile.personas.credentials.get(persona)
        pool = credentials.disposable_refresh_tokens.get(scope, ()) if credentials else ()
        own = set(self._main.get(persona, {}).values())  # never the persona's main token
        candidates = [t for t in pool if t not in self._taken and t not in own]
        store = self._profile.token_store
        if store is not None:
            token = self._take_stored(store, candidates, persona, scope)
        elif self._shared is not None:
            token = self._take_shared(candidates)
        else:
            mine = set(pool[self._worker.index :: self._worker.count])
            token = next((t for t in candidates if t in mine), None)
        if token is None:
            raise NoDisposableToken(persona, scope)
        self._taken.add(token)
        return token

    def _take_shared(self, candidates: list[str]) -> str | None:
        """The first candidate no process of the run took yet, marked taken in the shared file."""
        chosen: list[str] = []

        def change(state: dict[str, Any]) -> None:
            taken: list[str] = state.setdefault("taken", [])
            token = next((t for t in candidates if fingerprint(t) not in taken), None)
            if token is not None:
                taken.append(fingerprint(token))
                chosen.append(token)

        self._shared_state(change)
        return chosen[0] if chosen else None

    def _take_stored(
        self, path: Path, candidates: list[str], persona: str, scope: str
    ) -> str | None:
        """The first candidate no run took yet, marked used in the store under its lock."""
        target = self._profile.base_url
        with locked_store(path) as store:
            used = store.used(target)
            token = next((t for t in candidates if fingerprint(t) not in used), None)
            if token is not None:
                store.mark_used(target, token, dt.datetime.now(dt.UTC), persona, scope)
        return token

    def take_code(self, persona: str, scope: str) -> AuthorizationCode:
        """The oldest fresh authorization code of the token store, now gone from it;
        ``NoAuthorizationCode`` if there is none."""
        path, max_age = self._profile.token_store, self._profile.oauth.code_max_age
        code = None
        if path is not None:
            with locked_store(path) as store:
                code = store.take_code(
                    self._profile.base_url,
                    persona,
                    scope,
                    dt.timedelta(seconds=max_age),
                    dt.datetime.now(dt.UTC),
                )
        if code is None:
            raise NoAuthorizationCode(persona, scope, max_age, path)
        return code
