"""``stet-conformance login``: get a persona's tokens by the OAuth2 redirect flow (PKCE).

Tokens go to the token store, never to the terminal: a login is often done once by a person and
then reused by nightly runs, and a printed token ends up in scrollback and CI logs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from stet_conformance.cli.common import EXIT_FAILED, EXIT_OK, Commands
from stet_conformance.errors import UsageError

if TYPE_CHECKING:  # imported where used: the other commands, ``run`` first, start without them
    from stet_conformance.config.profile import Profile
    from stet_conformance.onboarding.login import Announce, Ask, LoginRequest

T = TypeVar("T")
MAX_DISPOSABLE = 50  # each is a login by a person
MAX_CODES = 10  # each is a login by a person, and codes serve runs for minutes only


def register(commands: Commands[argparse.ArgumentParser]) -> None:
    cmd = commands.add_parser(
        "login",
        help="obtain a persona's tokens (OAuth2 authorization code + PKCE) into the token store",
        description="Print (and open) the bank's authorize URL, wait for the redirect on a "
        "loopback port, exchange the code over mTLS and store the tokens (never printed).",
    )
    cmd.add_argument("--target", metavar="PROFILE", type=Path, required=True)
    cmd.add_argument("--persona", metavar="NAME", required=True, help="e.g. LEA")
    cmd.add_argument("--scope", metavar="SCOPE", default="aisp", help="default: aisp")
    cmd.add_argument(
        "--port",
        type=int,
        default=0,
        help="loopback callback port (default 0: any free port); redirect_uri is "
        "http://127.0.0.1:PORT/callback, which the bank must accept",
    )
    cmd.add_argument(
        "--redirect-uri",
        metavar="URL",
        help="a registered redirect_uri instead of the loopback listener; "
        "you paste the URL the browser lands on",
    )
    cmd.add_argument("--no-browser", action="store_true", help="only print the authorize URL")
    cmd.add_argument(
        "--store",
        metavar="FILE",
        type=Path,
        help="token store (default: the profile's token_store, else "
        "$XDG_CONFIG_HOME/stet-conformance/tokens.json)",
    )
    cmd.add_argument(
        "--authorize-param",
        metavar="K=V",
        action="append",
        default=[],
        help="extra authorize parameter (repeatable), e.g. psu=LEA for the bundled sandbox",
    )
    cmd.add_argument("--no-pkce", action="store_true", help="for a bank that rejects PKCE")
    cmd.add_argument(
        "--disposable",
        metavar="N",
        type=int,
        help="instead of the persona's tokens, N disposable refresh tokens (N logins, each its "
        "own grant) for the revocation scenarios to consume",
    )
    cmd.add_argument(
        "--codes",
        metavar="N",
        type=int,
        help="instead of the persona's tokens, N authorization codes (N logins, not exchanged) "
        "for the code scenarios of the next run, within oauth.code_max_age (default 600 s)",
    )
    cmd.add_argument(
        "--timeout", type=float, default=300.0, help="seconds to wait for the redirect"
    )
    cmd.set_defaults(handler=handle)


def _extra(values: list[str]) -> dict[str, str]:
    extra = {}
    for value in values:
        key, sep, val = value.partition("=")
        if not sep or not key:
            raise UsageError(f"--authorize-param: {value!r} is not KEY=VALUE")
        extra[key] = val
    return extra


def _checked(args: argparse.Namespace) -> str:
    """The persona, after checking the options that need no profile."""
    from stet_conformance.config.persona_tokens import TOKEN_SCOPES
    from stet_conformance.config.profile import fixture_personas

    personas = sorted(fixture_personas()["personas"])
    persona = str(args.persona).upper()
    if persona not in personas:
        raise UsageError(
            f"--persona: unknown persona {args.persona} (one of {', '.join(personas)})"
        )
    if args.scope not in TOKEN_SCOPES:
        raise UsageError(f"--scope: unknown scope {args.scope} (one of {', '.join(TOKEN_SCOPES)})")
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port: {args.port} is not a TCP port")
    if args.disposable is not None and not 1 <= args.disposable <= MAX_DISPOSABLE:
        raise UsageError(f"--disposable: {args.disposable} is not between 1 and {MAX_DISPOSABLE}")
    if args.codes is not None and not 1 <= args.codes <= MAX_CODES:
        raise UsageError(f"--codes: {args.codes} is not between 1 and {MAX_CODES}")
    if args.codes is not None and args.disposable is not None:
        raise UsageError("--codes and --disposable: one kind of login at a time")
    return persona


def handle(args: argparse.Namespace) -> int:
    import webbrowser

    from stet_conformance.config.profile import load_profile
    from stet_conformance.config.token_store import TokenStore, TokenStoreError, default_store_path
    from stet_conformance.onboarding.login import LoginFailed, LoginRequest
    from stet_conformance.onboarding.oauth import OAuthError

    persona = _checked(args)
    extra = _extra(args.authorize_param)
    profile = load_profile(args.target.resolve())
    store_path: Path = args.store or profile.token_store or default_store_path()
    try:
        TokenStore.load(store_path)
    except TokenStoreError as exc:
        raise UsageError(str(exc)) from None

    def announce(url: str, redirect_uri: str) -> None:
        what = f"{persona} ({args.scope})"
        print(f"Log in as {what} at {profile.name}; open this URL:", flush=True)
        print(f"  {url}", flush=True)
        if args.redirect_uri is None:
            print(f"Waiting for the redirect to {redirect_uri} ...", flush=True)
        if not args.no_browser:
            webbrowser.open(url)

    request = LoginRequest(
        persona=persona,
        scope=args.scope,
        store=store_path,
        port=args.port,
        timeout=args.timeout,
        pkce=not args.no_pkce,
        extra=extra,
        redirect_uri=args.redirect_uri,
    )
    ask = input if sys.stdin.isatty() else None
    try:
        if args.codes is not None:
            _login_codes(profile, request, announce, ask, args.codes)
        elif args.disposable is not None:
            _login_disposable(profile, request, announce, ask, args.disposable)
        else:
            _login(profile, request, announce, ask)
    except (LoginFailed, OAuthError) as exc:
        print(f"stet-conformance: login failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if profile.token_store is None or profile.token_store.resolve() != store_path.resolve():
        print(
            f"note: add 'token_store: {store_path}' to {args.target} so runs use these tokens",
            file=sys.stderr,
        )
    return EXIT_OK


def _login(profile: Profile, request: LoginRequest, announce: Announce, ask: Ask) -> None:
    from stet_conformance.onboarding.login import login

    token = login(profile, request, announce, ask)
    until = f"{token.expires_at:%Y-%m-%d %H:%M} UTC" if token.expires_at else "no expiry given"
    refresh = "with a refresh token" if token.refresh_token else "without a refresh token"
    print(
        f"stored {request.persona}/{request.scope} tokens in {request.store} "
        f"(access until {until}, {refresh})"
    )


def _repeated(label: str, count: int, once: Callable[[], T]) -> list[T]:
    """``count`` logins of one kind, each stored as it completes; a failure says how many
    were stored."""
    from stet_conformance.onboarding.login import LoginFailed
    from stet_conformance.onboarding.oauth import OAuthError

    done: list[T] = []
    for index in range(count):
        print(f"{label} {index + 1} of {count}:", flush=True)
        try:
            done.append(once())
        except (LoginFailed, OAuthError) as exc:
            raise type(exc)(f"{exc} ({index} of {count} {label.lower()}s stored)") from None
    return done


def _login_disposable(
    profile: Profile, request: LoginRequest, announce: Announce, ask: Ask, count: int
) -> None:
    """``count`` logins, each adding one disposable refresh token to the store's pool."""
    from stet_conformance.onboarding.login import login_disposable

    _repeated(
        "Disposable refresh token", count, lambda: login_disposable(profile, request, announce, ask)
    )
    what = f"{request.persona}/{request.scope}"
    print(f"stored {count} disposable {what} refresh tokens in {request.store}")


def _login_codes(
    profile: Profile, request: LoginRequest, announce: Announce, ask: Ask, count: int
) -> None:
    """``count`` logins, each storing its authorization code (not exchanged) for a run."""
    import datetime as dt

    from stet_conformance.onboarding.login import login_code

    codes = _repeated(
        "Authorization code", count, lambda: login_code(profile, request, announce, ask)
    )
    max_age = profile.oauth.code_max_age
    until = codes[0].obtained_at + dt.timedelta(seconds=max_age)
    what = f"{request.persona}/{request.scope}"
    print(
        f"stored {count} {what} authorization codes in {request.store}; run the scenarios "
        f"before {until:%H:%M:%S} UTC (oauth.code_max_age: {max_age:.0f} s)"
    )
