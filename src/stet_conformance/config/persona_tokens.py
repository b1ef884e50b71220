"""The one lookup of a persona's token for a scope, shared by scenarios, suites and benchmarks.

A token the profile does not provide is not an error: the test that needs it is skipped, and
``MissingToken`` words the setting to fill in (never a value).
"""

from __future__ import annotations

from typing import Literal

from stet_conformance.config.profile import Profile

TokenTable = Literal["tokens", "refresh_tokens", "expired_tokens"]
TOKEN_SCOPES = ("aisp", "pisp", "cbpii", "piisp", "extended_transaction_history")


class MissingToken(LookupError):
    """The profile has no such token; the message names the setting that would provide it."""


def persona_token(
    profile: Profile, persona: str, scope: str = "aisp", table: TokenTable = "tokens"
) -> str:
    """``personas.<persona>.<table>.<scope>`` of the profile (the token store's included)."""
    credentials = profile.personas.credentials.get(persona)
    value = getattr(credentials, table).get(scope) if credentials is not None else None
    if not value:
        kind = table[:-1].replace("_", " ")
        raise MissingToken(
            f"the profile has no {kind} for {persona}/{scope} (personas.{persona}.{table}.{scope})"
        )
    return str(value)
