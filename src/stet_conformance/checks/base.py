"""What every check receives and returns, and the error codes STET gives a body format."""

from __future__ import annotations

from dataclasses import dataclass

from stet_conformance.checks.expect import Expect
from stet_conformance.checks.schemas import SchemaStore
from stet_conformance.http.client import Exchange
from stet_conformance.shared.error_codes import STET_ERROR_STATUSES
from stet_conformance.verdict import Level


@dataclass(frozen=True)
class Failure:
    """One reason a response is not what the scenario expects, at the level of its source."""

    check: str
    message: str
    level: Level = Level.MUST
    authority: str = ""  # the source, where the check's own (not the scenario's) applies

    def __str__(self) -> str:
        return f"[{self.check}] {self.message}"


@dataclass(frozen=True)
class CheckContext:
    exchange: Exchange
    expect: Expect
    schemas: SchemaStore


# On a 4xx/5xx outside STET_ERROR_STATUSES (the portal's 409 and 501, a 415) no source gives a
# body: the automatic ErrorModel and JSON media type checks are extrapolations, recommendations.
EXTRAPOLATED_ERROR_MODEL = (
    "extrapolated from STET 1.4.0.47, whose ErrorModel (JSON) covers 400, 401, 403-406, 408, "
    "429, 500 and 503 only; no source gives this code's body"
)


def extrapolated(status: int) -> bool:
    """An error code whose body no source defines: a default about it is only a recommendation."""
    return status >= 400 and status not in STET_ERROR_STATUSES
