"""Live safety: the origins a profile declares, and when a run may contact them (docs/profile.md,
'Live safety').

A harness must never surprise a production bank. Every origin the harness contacts comes from the
profile (``base_url`` and the OAuth URLs); each is read with httpx's URL parser, the one that
decides where a request goes, so the host checked is the host contacted. A run starts only when
each of them is a loopback address, or the profile says ``environment: sandbox``, or the user
passed ``--allow-live``.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Protocol

import httpx

from stet_conformance.errors import ConfigError


class OAuthUrls(Protocol):
    """The OAuth endpoints of a profile (``config.settings.OAuthSettings``)."""

    @property
    def token_url(self) -> str | None: ...
    @property
    def authorize_url(self) -> str | None: ...
    @property
    def revoke_url(self) -> str | None: ...


class Profile(Protocol):
    """What live safety reads of a target profile (``config.profile.Profile`` has it all); a
    protocol, so that profile.py can use this module without an import circle."""

    @property
    def source(self) -> Path: ...
    @property
    def environment(self) -> str | None: ...
    @property
    def base_url(self) -> str: ...
    @property
    def oauth(self) -> OAuthUrls: ...


# The settings whose URLs the harness contacts, as the profile names them.
URL_SETTINGS = ("base_url", "oauth.token_url", "oauth.authorize_url", "oauth.revoke_url")
_DEFAULT_PORTS = {"https": 443, "http": 80}

Origin = tuple[str, str, int]


def url_problem(url: str) -> str | None:
    """Why a configured URL is refused, or ``None``; never repeats it (it may hold a secret)."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return "not a valid URL"
    if parsed.userinfo:
        return (
            "user information before the host (user:password@) is not allowed: it hides the "
            "host the requests go to"
        )
    if not parsed.host:
        return "the URL has no host"
    return None


def origin(url: httpx.URL | str) -> Origin:
    """Scheme, host and port (the default port made explicit) of ``url``."""
    parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)  # a URL is immutable
    return parsed.scheme, parsed.host, parsed.port or _DEFAULT_PORTS.get(parsed.scheme, 0)


def origin_text(where: Origin) -> str:
    scheme, host, port = where
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}" + ("" if _DEFAULT_PORTS.get(scheme) == port else f":{port}")


def declared_urls(profile: Profile) -> dict[str, str]:
    """The profile's URLs the harness may contact, by setting (unset ones left out)."""
    urls = {
        "base_url": profile.base_url,
        "oauth.token_url": profile.oauth.token_url,
        "oauth.authorize_url": profile.oauth.authorize_url,
        "oauth.revoke_url": profile.oauth.revoke_url,
    }
    return {setting: url for setting, url in urls.items() if url}


def declared_origins(profile: Profile) -> frozenset[Origin]:
    return frozenset(origin(url) for url in declared_urls(profile).values())


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_live(profile: Profile) -> bool:
    """A bank, as the live-safety rule sees it: marked live, or not marked sandbox with an
    origin that is not loopback."""
    if profile.environment in ("live", "sandbox"):
        return profile.environment == "live"
    return any(not is_loopback(origin(url)[1]) for url in declared_urls(profile).values())


def refuse_workers(profile: Profile, workers: str, concurrency: int) -> None:
    """Raise ``ConfigError`` when a live target would get more workers (``-n``, each with a
    request in flight) than its ``concurrency``; ``auto`` counts as more."""
    if is_live(profile) and not (workers.isdigit() and int(workers) <= concurrency):
        raise ConfigError(
            f"-n {workers}: {profile.source} allows {concurrency} request(s) in flight at once "
            f"(concurrency: {concurrency}); raise its concurrency key if the bank allows more"
        )


def refuse_live(profile: Profile, *, allow_live: bool) -> None:
    """Raise ``ConfigError`` unless every declared origin may be contacted without surprise.

    The rule, for every origin the profile declares: a loopback address, or a profile marked
    ``environment: sandbox``, or ``--allow-live``.
    """
    if allow_live or profile.environment == "sandbox":
        return
    kind = "live" if profile.environment == "live" else "not marked 'environment: sandbox'"
    for setting, url in declared_urls(profile).items():
        where = origin(url)
        if not is_loopback(where[1]):
            raise ConfigError(
                f"{profile.source}: {setting}: {origin_text(where)} is not a loopback address "
                f"and the profile is {kind}; pass --allow-live to run against it (requests "
                "count against real quotas)"
            )


class UndeclaredOrigin(ConfigError):
    """A request for an origin the profile does not declare; it was not sent."""

    def __init__(self, url: httpx.URL) -> None:
        super().__init__(
            f"refused to send to {origin_text(origin(url))}: not an origin the profile declares "
            f"({', '.join(URL_SETTINGS)}); nothing was sent"
        )
