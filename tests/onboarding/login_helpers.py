"""The PSU's part of a login against the bundled sandbox, driven by a test (loopback only).

The sandbox's authorize page is a redirect at once (``psu=<persona>`` names the PSU), so a test
plays the browser: it opens the URL ``login`` prints (with the QWAC: the sandbox wants mTLS
everywhere) and follows the redirect to the login's loopback listener.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
from cli_run import cli_command

from stet_conformance.http.tls import client_context


def browser(profile: Path) -> httpx.Client:
    """The PSU's browser: the sandbox's authorize endpoint needs the QWAC too (mTLS)."""
    pki = profile.parent / "pki"
    context = client_context(pki / "ca.pem", pki / "qwac.pem", pki / "qwac.key")
    return httpx.Client(verify=context, follow_redirects=False, timeout=10)


def start_login(profile: Path, store: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        cli_command(
            *("login", "--target", str(profile), "--persona", "LEA", "--scope", "aisp"),
            *("--no-browser", "--store", str(store), "--timeout", "60", *extra),
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def printed_url(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    for _ in range(5):
        text = process.stdout.readline()
        if text.startswith("  https://"):
            return text.strip()
    raise AssertionError("login printed no authorize URL")


def complete_in_the_browser(profile: Path, process: subprocess.Popen[str]) -> None:
    """The PSU's part of one login: open the printed URL, land on the loopback callback."""
    url = printed_url(process)
    with browser(profile) as client:
        answer = client.get(url)
    assert answer.status_code == 302
    assert httpx.get(answer.headers["location"], timeout=10).status_code == 200


def logged_in(profile: Path, store: Path, logins: int, *extra: str) -> tuple[str, str]:
    """``login`` in a child process with ``logins`` browser logins completed; its output."""
    process = start_login(profile, store, "--authorize-param", "psu=LEA", *extra)
    for _ in range(logins):
        complete_in_the_browser(profile, process)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    return out, err


def drive_browser(profile: Path) -> Callable[[str, str], None]:
    """An ``announce`` for ``onboarding.login``: completes the login in-process at once."""

    def announce(url: str, redirect_uri: str) -> None:
        with browser(profile) as client:
            answer = client.get(url)
        assert answer.status_code in (302, 303, 307), answer.text
        assert answer.headers["location"].startswith(redirect_uri)
        assert httpx.get(answer.headers["location"], timeout=10).status_code == 200

    return announce
