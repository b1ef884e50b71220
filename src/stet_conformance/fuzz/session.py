"""What a fuzz suite holds while it runs: the run's client, the budget, and the oracles' reporter.

Oracles' recommendations not met become the running test's warnings (user properties, as the
scenarios' are), or failures in a strict run.

Every request goes through ``FuzzSession.send``, which has the client spend from the budget before
each attempt (the suites' own and the target profile's, both shared by the run's processes),
always sends PSU-IP-Address unless the test is about its absence (the seed's unattended quota),
and skips the rest of a test when the budget is spent (or in a dry run, where
the client sends nothing), except while Hypothesis shrinks a failure, where it rejects the example
so the failure found so far is still reported.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import reject

from stet_conformance.config.persona_tokens import MissingToken, TokenTable, persona_token
from stet_conformance.config.profile import DEFAULT_PSU_IP, Profile
from stet_conformance.config.secret_repr import SecretHolder
from stet_conformance.config.settings import Imputation
from stet_conformance.fuzz import oracles
from stet_conformance.http.budget import BudgetExhausted, Charge, RequestBudget
from stet_conformance.http.client import Exchange, HeaderInput
from stet_conformance.http.redact import Redactor
from stet_conformance.http.signing import RequestOptions
from stet_conformance.scenario import declared
from stet_conformance.scenario.runner import RunContext
from stet_conformance.shared.dates import day_start
from stet_conformance.verdict import WARNING_PROPERTY, Level, level_of, warnings_of

MAX_WARNINGS = 10  # per test: examples repeat a recommendation not met with other values


@dataclass(repr=False)
class FuzzSession(SecretHolder):
    """One per test session; ``failing`` records tests that have already failed an example."""

    run: RunContext
    budget: RequestBudget
    mode: str
    strict: bool = False  # --stet-strict: a recommendation not met fails the example
    failing: set[str] = field(default_factory=set)
    item: pytest.Item | None = None  # the running test

    @property
    def current(self) -> str:
        return self.item.nodeid if self.item is not None else ""

    def __repr__(self) -> str:  # Hypothesis prints fixtures: never show the profile's tokens
        return f"<FuzzSession mode={self.mode} requests={self.budget.spent}>"

    @property
    def profile(self) -> Profile:
        return self.run.profile

    @property
    def redactor(self) -> Redactor:
        return self.run.client.redactor

    @property
    def settings(self) -> dict[str, Any]:
        """The profile's ``vars.fuzz`` mapping (other_signing_key; signature_status is read, and
        checked, into ``profile.choices``)."""
        value = self.profile.variables.get("fuzz") or {}
        return value if isinstance(value, dict) else {}

    @property
    def imputation(self) -> Imputation:
        """When the bank imputes a transaction (profile ``imputation``), for the window oracle."""
        return self.profile.choices.imputation

    @property
    def zone(self) -> dt.tzinfo:
        return self.profile.choices.imputation.zone

    def token(self, persona: str, scope: str = "aisp", kind: TokenTable = "tokens") -> str:
        """The profile's token; a test needing one the profile lacks is skipped."""
        try:
            return persona_token(self.profile, persona, scope, kind)
        except MissingToken as exc:
            pytest.skip(str(exc))

    def persona(self, persona: str) -> Mapping[str, Any]:
        """The persona's data as the profile declares it (merged over the fixture)."""
        data = self.profile.personas.data.get(persona)
        return data if isinstance(data, Mapping) else {}

    def account(self, persona: str, role: str = "balances") -> Mapping[str, Any]:
        """The persona's first declared account for ``role`` (``scenario.declared.ROLES``)."""
        found = declared.select_account(self.persona(persona), role)
        if found is None:
            pytest.skip(declared.undeclared(persona, role))
        return found

    def history_days(self, persona: str) -> int:
        return declared.history_days(self.persona(persona))

    def _history_starts(self, persona: str) -> list[dt.datetime]:
        """Today 00:00 minus the history depth, with today and midnight taken in UTC or in the
        imputation zone (whose today may be a day off): what a bank may call its first day."""
        depth = dt.timedelta(days=self.history_days(persona))
        now = dt.datetime.now(dt.UTC)
        days = {now.date(), now.astimezone(self.zone).date()}
        return [day_start(day - depth, zone) for day in days for zone in (dt.UTC, self.zone)]

    def history_start(self, persona: str) -> dt.datetime:
        """The earliest dateFrom the bank surely serves (the latest of its possible first days)."""
        return max(self._history_starts(persona))

    def history_floor(self, persona: str) -> dt.datetime:
        """Before this, a dateFrom is surely beyond the history (the earliest first day)."""
        return min(self._history_starts(persona))

    def url(self, path: str) -> str:
        return self.profile.base_url.rstrip("/") + self.profile.api_prefix + path

    def other_signing_key(self) -> Path | None:
        """A QSEAL key the bank does not know: ``vars.fuzz.other_signing_key`` or pki/."""
        configured = self.settings.get("other_signing_key")
        base = self.profile.source.parent
        path = base / str(configured) if configured else base / "pki" / "qseal-other.key"
        return path if path.is_file() else None

    def send(
        self,
        persona: str,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        headers: HeaderInput | None = None,
        content: bytes | None = None,
        token: str | None = None,
        options: RequestOptions | None = None,
    ) -> Exchange:
        """Send one fuzz request for ``persona`` (``path`` under the API prefix, or a URL).

        ``headers`` may be (name, value) pairs, to send a header twice.
        """
        options = options or RequestOptions(token=token or self.token(persona))
        pairs = list(headers.items()) if isinstance(headers, Mapping) else list(headers or [])
        names = {name.lower() for name, _ in pairs}
        unattended = not options.psu_ip_address and "psu-ip-address" not in names
        if (
            options.psu_ip_address
            and "psu-ip-address" not in names
            and not self.profile.psu_ip_address
        ):
            pairs.append(("PSU-IP-Address", DEFAULT_PSU_IP))
        url = path if path.startswith("https://") or path.startswith("http://") else self.url(path)
        try:
            return self.run.client.send(
                method,
                url,
                params=params,
                headers=pairs,
                content=content,
                options=options,
                charge=Charge(self.budget, persona, unattended, within=self.run.budget),
            )
        except BudgetExhausted as exc:  # a dry run too: nothing is sent
            if self.current in self.failing:
                reject()  # shrinking: keep the failure found so far
            pytest.skip(str(exc))

    def check(self, exchange: Exchange, problems: list[str], note: str = "") -> None:
        """Fail the example (with the redacted exchange) when an oracle found a MUST not met;
        record recommendations not met as the test's warnings (each once)."""
        __tracebackhide__ = True
        if any(self.strict or level_of(p) is Level.MUST for p in problems):
            self.failing.add(self.current)
        warnings = oracles.fail(exchange, problems, self.redactor, note, strict=self.strict)
        recorded = self.item.user_properties if self.item is not None else []
        for text in warnings:
            entry = (WARNING_PROPERTY, self.redactor.text(text))
            if entry not in recorded and len(warnings_of(recorded)) < MAX_WARNINGS:
                recorded.append(entry)


def raw_target(url: str, params: dict[str, str] | None = None) -> str:
    """The request-target httpx will send for ``url`` and ``params`` (for hand-made signatures)."""
    return httpx.URL(url, params=params).raw_path.decode("ascii")
