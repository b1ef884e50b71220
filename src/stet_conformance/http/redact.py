"""Removing secrets from everything the harness shows: failures, logs, reports.

Header values of ``SECRET_HEADERS`` and JSON/form fields of ``SECRET_FIELDS`` are replaced by
``REDACTED``; so is any occurrence of a known secret value anywhere in a text (the profile's
tokens and passphrases, and what responses hand out: codes, tokens), which catches tokens echoed
back in error messages or URLs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote_plus, urlsplit

from stet_conformance.http.jsonbody import loads

REDACTED = "[REDACTED]"
SECRET_HEADERS = frozenset(
    {"authorization", "signature", "cookie", "set-cookie", "proxy-authorization"}
)
SECRET_FIELDS = frozenset(
    {
        "access_token",
        "refresh_token",
        "id_token",
        "code",
        "client_secret",
        "password",
        "token",
        "jwt",  # a fallback redirect's JWT under another name (fallback.token_param)
        "code_verifier",
        "assertion",
    }
)
_FORM_FIELD = re.compile(r"(?P<name>[A-Za-z_]+)=(?P<value>[^&\s]*)")
MIN_LEARNED = 8  # shortest value learned from a response as a secret
# Any secret field's name in quotes: one C-speed search of the body, not one per name.
_BODY_MARKER = re.compile(b'"(?:' + b"|".join(n.encode() for n in sorted(SECRET_FIELDS)) + b')"')


class Redactor:
    """Knows the run's secret values and scrubs them from headers, bodies and text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first so a token that contains another is removed whole.
        self._secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def add(self, secret: str) -> None:
        if len(secret) >= 4 and secret not in self._secrets:
            self._secrets.append(secret)
            self._secrets.sort(key=len, reverse=True)

    def learn(self, status: int, headers: Iterable[tuple[str, str]], content: bytes) -> None:
        """Remember the secrets a response hands out, so they are scrubbed wherever they show
        up later, whatever the verdict: the secret parameters of a ``Location`` URL (a code,
        the fallback JWT) and the top-level secret fields of a 2xx JSON body (a token
        response). Values shorter than ``MIN_LEARNED`` are not credible secrets (an error
        ``code`` of a bank's own error body, say) and would blank out ordinary text."""
        found: list[str] = []
        for name, value in headers:
            if name.lower() == "location":
                parts = urlsplit(value)
                for pair in re.split("[&;]", f"{parts.query}&{parts.fragment}"):
                    key, _, raw = pair.partition("=")
                    if unquote_plus(key).lower() in SECRET_FIELDS:
                        found += [raw, unquote_plus(raw)]
        if 200 <= status < 300:
            found += _body_secrets(content)
        for secret in found:
            if len(secret) >= MIN_LEARNED:
                self.add(secret)

    def text(self, value: str) -> str:
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value

    def headers(self, headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        return [
            (name, REDACTED if name.lower() in SECRET_HEADERS else self.text(value))
            for name, value in headers
        ]

    def body(self, content: bytes | str, content_type: str = "") -> str:
        text = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
        if "json" in content_type or text.lstrip().startswith(("{", "[")):
            try:
                data = loads(text)  # too deep is not JSON here: shown as text
            except ValueError:
                pass
            else:
                return self.text(json.dumps(_scrub(data), indent=2, ensure_ascii=False))
        if "x-www-form-urlencoded" in content_type:
            text = _FORM_FIELD.sub(_scrub_form_field, text)
        return self.text(text)


def _body_secrets(content: bytes) -> list[str]:
    """The string values of a JSON object body's top-level secret fields."""
    if _BODY_MARKER.search(content) is None:
        return []  # most bodies have no secret field: they are not parsed twice
    try:
        data = json.loads(content)
    except ValueError:
        return []
    if not isinstance(data, dict):
        return []
    return [v for k, v in data.items() if str(k).lower() in SECRET_FIELDS and isinstance(v, str)]


def _scrub(data: Any) -> Any:
    if isinstance(data, Mapping):
        return {
            k: (REDACTED if str(k).lower() in SECRET_FIELDS and v else _scrub(v))
            for k, v in data.items()
        }
    if isinstance(data, list):
        return [_scrub(item) for item in data]
    return data


def _scrub_form_field(match: re.Match[str]) -> str:
    if match.group("name").lower() in SECRET_FIELDS:
        return f"{match.group('name')}={REDACTED}"
    return match.group(0)
