"""Coverage of a run: which seed rows, portal endpoints and status codes were exercised.

A certifier reads gaps here: a seed row not run, an endpoint of the portal no scenario called, a
status class (say 429) never observed; and the recommendations the target does not follow
(warnings, of scenarios and suites). Built from the exchanges, outcomes and warnings the plugin
records, so it works the same with pytest-xdist (records travel in ``user_properties``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from stet_conformance.scenario.traceability import path_pattern
from stet_conformance.verdict import PASSING, Outcome

SEED_ROWS = (
    [f"ACC-{i}" for i in range(1, 4)]
    + [f"CON-{i}" for i in range(1, 4)]
    + [f"BAL-{i}" for i in range(1, 7)]
    + [f"TRX-{i}" for i in range(1, 12)]
    + ["IDN-1", "IDN-2"]
)
PORTAL_ENDPOINTS = (
    "GET /accounts",
    "PUT /consents",
    "GET /accounts/{id}/balances",
    "GET /accounts/{id}/transactions",
    "GET /end-user-identity",
    "GET /trusted-beneficiaries",
    "POST /funds-confirmations",
    "POST /payment-requests/{id}/o-confirmation",
    "GET /oauth/authorize",
    "POST /oauth/token",
    "POST /oauth/revoke",
)
STATUS_CLASSES = (200, 201, 204, 400, 401, 403, 404, 405, 429)
EXCHANGE_PROPERTY = "stet_exchange"
PLAN_PROPERTY = "stet_plan"  # a dry run's request lines


def endpoint_of(method: str, path: str, api_prefix: str) -> str:
    """``GET /accounts/{id}/balances`` from a concrete request path."""
    if path.startswith(api_prefix):
        path = path[len(api_prefix) :]
    elif "/oauth/" in path:
        path = path[path.index("/oauth/") :]
    return f"{method} {path_pattern(path)}"


@dataclass
class Coverage:
    outcomes: dict[str, str] = field(default_factory=dict)  # scenario id -> outcome
    endpoints: dict[str, set[str]] = field(default_factory=dict)  # endpoint -> scenario ids
    statuses: dict[int, set[str]] = field(default_factory=dict)  # status -> scenario ids
    warnings: dict[str, list[str]] = field(default_factory=dict)  # test -> recommendations not met

    def add_warnings(self, test: str, warnings: list[str]) -> None:
        if warnings:
            self.warnings.setdefault(test, []).extend(warnings)

    def add_exchange(self, scenario_id: str, endpoint: str, status: int) -> None:
        self.endpoints.setdefault(endpoint, set()).add(scenario_id)
        self.statuses.setdefault(status, set()).add(scenario_id)

    def add_outcome(self, scenario_id: str, outcome: str) -> None:
        # A failed setup or call wins over a later passed teardown.
        if self.outcomes.get(scenario_id) not in ("failed", "broken"):
            self.outcomes[scenario_id] = outcome

    def to_json(self) -> dict[str, object]:
        return {
            "seed_rows": {row: self.outcomes.get(row, "not run") for row in SEED_ROWS},
            "scenarios": dict(sorted(self.outcomes.items())),
            "endpoints": {
                endpoint: sorted(self.endpoints.get(endpoint, ()))
                for endpoint in sorted(set(PORTAL_ENDPOINTS) | set(self.endpoints))
            },
            "statuses": {
                str(status): sorted(self.statuses.get(status, ()))
                for status in sorted(set(STATUS_CLASSES) | set(self.statuses))
            },
            "warnings": dict(sorted(self.warnings.items())),
        }

    def summary(self) -> list[str]:
        rows = [self.outcomes.get(row, "not run") for row in SEED_ROWS]
        run = [r for r in rows if r != "not run"]
        missing_rows = [row for row, r in zip(SEED_ROWS, rows, strict=True) if r == "not run"]
        endpoints = [e for e in PORTAL_ENDPOINTS if e in self.endpoints]
        missing_endpoints = [e for e in PORTAL_ENDPOINTS if e not in self.endpoints]
        missing_status = [str(s) for s in STATUS_CLASSES if s not in self.statuses]
        passing, warned = sum(r in PASSING for r in rows), rows.count(Outcome.WARNING)
        count = sum(len(w) for w in self.warnings.values())
        return [
            f"seed rows: {len(run)}/{len(SEED_ROWS)} run, {passing} passed"
            + (f" ({warned} with warnings)" if warned else "")
            + (f"; not run: {', '.join(missing_rows)}" if missing_rows else ""),
            f"portal endpoints: {len(endpoints)}/{len(PORTAL_ENDPOINTS)} exercised"
            + (f"; not exercised: {', '.join(missing_endpoints)}" if missing_endpoints else ""),
            f"status codes: {len(STATUS_CLASSES) - len(missing_status)}/{len(STATUS_CLASSES)} "
            f"seen ({' '.join(str(s) for s in STATUS_CLASSES)})"
            + (f"; never seen: {', '.join(missing_status)}" if missing_status else ""),
            (
                f"warnings: {count} recommendations not met, in {len(self.warnings)} tests"
                if count
                else "warnings: none (every recommendation met)"
            ),
        ]

    def write(self, json_path: Path, text_path: Path) -> None:
        json_path.write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")
        text_path.write_text("\n".join(self.summary()) + "\n", encoding="utf-8")


def parse_exchange_property(value: object) -> tuple[str, int] | None:
    """The (endpoint, status) a ``stet_exchange`` user property carries."""
    if isinstance(value, (list, tuple)) and len(value) == 2:
        endpoint, status = value
        if isinstance(endpoint, str) and isinstance(status, int):
            return endpoint, status
    return None
