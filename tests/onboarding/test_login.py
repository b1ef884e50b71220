"""``login`` end to end against the sandbox: authorize URL, loopback callback, PKCE, token store;
and runs that take their tokens from the store (refreshed before expiry)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from login_helpers import browser, logged_in, printed_url, start_login

from stet_conformance.cli import main
from stet_conformance.config.profile import Profile, load_profile
from stet_conformance.config.token_store import TokenStore
from stet_conformance.http.budget import RequestBudget
from stet_conformance.http.client import StetClient
from stet_conformance.http.redact import Redactor
from stet_conformance.http.signing import RequestOptions
from stet_conformance.onboarding.oauth import OAuthClient, OAuthError, refresh_store
from stet_conformance.shared.pkce import pkce_pair

if TYPE_CHECKING:
    from conftest import HostileServers

Edit = Callable[[Path, Callable[[dict[str, Any]], None]], None]


def with_token_url(profile: Profile, token_url: str, **limits: Any) -> Profile:
    """``profile`` with another token endpoint and other limits."""
    return dataclasses.replace(
        profile,
        oauth=dataclasses.replace(profile.oauth, token_url=token_url),
        limits=dataclasses.replace(profile.limits, **limits),
    )


def accounts(profile_path: Path, token: str) -> int:
    profile = load_profile(profile_path)
    client = StetClient.for_profile(profile, Redactor(profile.secrets()))
    try:
        return client.send(
            "GET", f"{profile.api_prefix}/accounts", options=RequestOptions(token=token)
        ).status
    finally:
        client.close()


def test_login_end_to_end_with_pkce_then_a_run_uses_the_store(copy: Path, edit: Edit) -> None:
    store = copy.parent / "secrets" / "tokens.json"
    process = start_login(copy, store, "--authorize-param", "psu=LEA")
    url = printed_url(process)
    query = parse_qs(urlsplit(url).query)
    assert query["code_challenge_method"] == ["S256"] and query["scope"] == ["aisp"]
    redirect_uri = query["redirect_uri"][0]
    assert redirect_uri.startswith("http://127.0.0.1:") and redirect_uri.endswith("/callback")
    with browser(copy) as client:
        answer = client.get(url)
    assert answer.status_code == 302
    location = answer.headers["location"]
    assert location.startswith(redirect_uri + "?")
    landed = httpx.get(location, timeout=10)
    assert landed.status_code == 200 and "Login complete" in landed.text
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "stored LEA/aisp tokens in" in out and "with a refresh token" in out
    assert (store.stat().st_mode & 0o777) == 0o600
    data = json.loads(store.read_text(encoding="utf-8"))
    profile = load_profile(copy)
    entry = data["targets"][profile.base_url]["LEA"]["aisp"]
    for secret in (entry["access_token"], entry["refresh_token"]):
        assert secret not in out + err  # tokens are never printed
    assert "token_store" in err  # the profile does not name this store yet

    # The store's tokens fill the profile's empty ones and work against the bank.
    def use_store(data: dict[str, Any]) -> None:
        data["token_store"] = "secrets/tokens.json"
        data["personas"]["LEA"]["tokens"]["aisp"] = ""
        data["personas"]["LEA"]["refresh_tokens"] = {"aisp": None}

    edit(copy, use_store)
    loaded = load_profile(copy)
    assert loaded.personas.credentials["LEA"].tokens["aisp"] == entry["access_token"]
    assert loaded.personas.credentials["LEA"].refresh_tokens["aisp"] == entry["refresh_token"]
    assert entry["access_token"] in loaded.secrets()
    assert accounts(copy, entry["access_token"]) == 200

    # An access token about to expire is refreshed before a run, and written back.
    saved = TokenStore.load(store)
    token = saved.get(loaded.base_url, "LEA", "aisp")
    assert token is not None
    soon = token.refreshed(token.access_token, None, 30, dt.datetime.now(dt.UTC))
    saved.put(loaded.base_url, "LEA", "aisp", soon)
    saved.save()
    refreshed, lines = refresh_store(load_profile(copy))
    assert lines == [lines[0]] and "refreshed LEA/aisp" in lines[0]
    fresh = TokenStore.load(store).get(loaded.base_url, "LEA", "aisp")
    assert fresh is not None and fresh.access_token != token.access_token
    assert fresh.authorized_at == token.authorized_at  # a refresh is not a new SCA
    # The profile refresh_store returns is the one a load would give now: a run needs no reload.
    assert refreshed.personas.credentials["LEA"].tokens["aisp"] == fresh.access_token
    assert refreshed.personas.credentials == load_profile(copy).personas.credentials
    assert fresh.expires_at is not None and fresh.expires_at > soon.expires_at  # type: ignore[operator]
    assert refresh_store(load_profile(copy))[1] == []  # nothing due any more
    assert accounts(copy, fresh.access_token) == 200


def test_login_disposable_stores_that_many_refresh_tokens_for_the_pool(
    copy: Path, edit: Edit
) -> None:
    store = copy.parent / "tokens.json"
    out, err = logged_in(copy, store, 2, "--disposable", "2")
    assert "stored 2 disposable LEA/aisp refresh tokens in" in out
    profile = load_profile(copy)
    entries = list(TokenStore.load(store).disposable(profile.base_url))
    stored = [token for _, _, token, _ in entries]
    assert [(p, s) for p, s, _, _ in entries] == [("LEA", "aisp")] * 2 and len(set(stored)) == 2
    assert TokenStore.load(store).get(profile.base_url, "LEA", "aisp") is None  # not the main one
    assert not any(token in out + err for token in stored)
    with OAuthClient(profile) as oauth:
        assert all(oauth.refresh(token).access_token for token in stored)
    edit(copy, lambda data: data.update(token_store="tokens.json"))
    pool = load_profile(copy).personas.credentials["LEA"].disposable_refresh_tokens["aisp"]
    assert pool[-2:] == tuple(stored)  # after the profile's own


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--codes", "0"], "--codes: 0 is not between 1 and 10"),
        (["--codes", "11"], "--codes: 11 is not between 1 and 10"),
        (["--codes", "2", "--disposable", "2"], "--codes and --disposable: one kind of login"),
    ],
)
def test_login_codes_counts_a_person_can_do_before_they_expire(
    copy: Path, capsys: pytest.CaptureFixture[str], args: list[str], error: str
) -> None:
    assert main(["login", "--target", str(copy), "--persona", "LEA", *args]) == 2
    assert error in capsys.readouterr().err


@pytest.mark.parametrize("count", ["0", "51"])
def test_login_disposable_counts_a_person_can_do(
    copy: Path, capsys: pytest.CaptureFixture[str], count: str
) -> None:
    assert main(["login", "--target", str(copy), "--persona", "LEA", "--disposable", count]) == 2
    assert f"--disposable: {count} is not between 1 and 50" in capsys.readouterr().err


def _stale_claire(copy: Path, edit: Edit, **settings: Any) -> None:
    """A token store whose CLAIRE aisp access token is stale (its refresh token is valid)."""
    profile = load_profile(copy)
    refresh = profile.personas.credentials["CLAIRE"].refresh_tokens.get("aisp") or ""
    now = dt.datetime.now(dt.UTC)
    store = TokenStore(copy.parent / "tokens.json")
    # CLAIRE's aisp refresh token from the sandbox profile; the stored access token is stale.
    from stet_conformance.config.token_store import StoredToken

    store.put(
        profile.base_url,
        "CLAIRE",
        "aisp",
        StoredToken("stale", refresh, now - dt.timedelta(minutes=5), now, now, "aisp"),
    )
    store.save()

    def use_store(data: dict[str, Any]) -> None:
        data["token_store"] = "tokens.json"
        data["personas"]["CLAIRE"]["tokens"].pop("aisp")
        data.update(settings)

    edit(copy, use_store)
    claire = load_profile(copy).personas.credentials["CLAIRE"]
    assert "aisp" not in claire.tokens  # expired: not used


def test_run_refreshes_an_expired_token_from_the_store(
    copy: Path, edit: Edit, capfd: pytest.CaptureFixture[str]
) -> None:
    _stale_claire(copy, edit)
    code = main(["run", "--target", str(copy), "-k", "ACC-1", "--", "-q"])
    out, err = capfd.readouterr()
    assert code == 0, out + err
    assert "refreshed CLAIRE/aisp" in err
    assert "1 passed" in out
    assert "access token expired" not in out  # the profile warning went with the refresh


def test_a_token_refresh_is_paid_from_the_run_budget(
    copy: Path, edit: Edit, capfd: pytest.CaptureFixture[str]
) -> None:
    """``budget.requests: 1``: the refresh before the run is that one request."""
    _stale_claire(copy, edit, budget={"requests": 1})
    code = main(["run", "--target", str(copy), "-k", "ACC-1", "--", "-rs"])
    out, err = capfd.readouterr()
    assert code == 0, out + err
    assert "refreshed CLAIRE/aisp" in err
    assert "1 skipped" in out
    assert "request budget exhausted: 1 requests this run" in out


def test_a_redirect_with_the_wrong_state_is_refused(copy: Path) -> None:
    store = copy.parent / "tokens.json"
    process = start_login(copy, store)
    url = printed_url(process)
    redirect_uri = parse_qs(urlsplit(url).query)["redirect_uri"][0]
    httpx.get(f"{redirect_uri}?code=forged&state=not-the-one", timeout=10)
    _out, err = process.communicate(timeout=60)
    assert process.returncode == 1
    assert err.strip().count("\n") == 0 and "state does not match" in err
    assert not store.exists()


def test_the_banks_error_redirect_is_reported(copy: Path) -> None:
    process = start_login(copy, copy.parent / "tokens.json")
    url = printed_url(process)
    state = parse_qs(urlsplit(url).query)["state"][0]
    redirect_uri = parse_qs(urlsplit(url).query)["redirect_uri"][0]
    httpx.get(f"{redirect_uri}?error=access_denied&state={state}", timeout=10)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 1 and "error=access_denied" in err


def test_the_sandbox_enforces_pkce(copy: Path) -> None:
    profile = load_profile(copy)
    verifier, challenge = pkce_pair()
    redirect = "http://127.0.0.1:9/callback"
    with browser(copy) as client:
        answer = client.get(
            str(profile.oauth.authorize_url),
            params={
                "response_type": "code",
                "client_id": str(profile.oauth.client_id),
                "redirect_uri": redirect,
                "scope": "aisp",
                "psu": "LEA",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            },
        )
        code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
        plain = client.get(
            str(profile.oauth.authorize_url),
            params={
                "response_type": "code",
                "client_id": str(profile.oauth.client_id),
                "redirect_uri": redirect,
                "scope": "aisp",
                "psu": "LEA",
                "code_challenge": challenge,
                "code_challenge_method": "plain",
            },
        )
    assert plain.status_code == 400
    with OAuthClient(profile) as oauth, pytest.raises(OAuthError, match="invalid_grant"):
        oauth.exchange_code(code, redirect, "wrong-verifier")
    # The failed attempt consumed the code (single use); a new one with the right verifier works.
    with browser(copy) as client:
        answer = client.get(
            str(profile.oauth.authorize_url),
            params={
                "response_type": "code",
                "client_id": str(profile.oauth.client_id),
                "redirect_uri": redirect,
                "scope": "aisp",
                "psu": "LEA",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            },
        )
    code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
    with OAuthClient(profile) as oauth:
        tokens = oauth.exchange_code(code, redirect, verifier)
    assert tokens.refresh_token and tokens.expires_in == 3600
    assert tokens.access_token not in repr(tokens)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--persona", "ZOE"], "--persona: unknown persona ZOE"),
        (["--persona", "LEA", "--scope", "admin"], "--scope: unknown scope admin"),
        (["--persona", "LEA", "--authorize-param", "psu"], "is not KEY=VALUE"),
    ],
)
def test_bad_input_is_one_line_exit_2(
    copy: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["login", "--target", str(copy), "--no-browser", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_a_missing_profile_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["login", "--target", str(tmp_path / "nope.yaml"), "--persona", "LEA"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not found" in err


def test_a_profile_without_authorize_url_is_exit_2(
    copy: Path, edit: Edit, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(copy, lambda d: d["oauth"].pop("authorize_url"))
    code = main(
        [
            "login",
            "--target",
            str(copy),
            "--persona",
            "LEA",
            "--no-browser",
            "--store",
            str(copy.parent / "t.json"),
        ]
    )
    assert code == 2
    assert "oauth.authorize_url is not set" in capsys.readouterr().err


def test_no_token_refresh_is_sent_beyond_the_budget(copy: Path, edit: Edit) -> None:
    _stale_claire(copy, edit)
    budget = RequestBudget(per_run=1, hint="budget.requests")
    budget.spend("LEA")
    _, lines = refresh_store(load_profile(copy), budget)
    assert lines == [
        "token store: CLAIRE/aisp: refresh failed: request budget exhausted: 1 requests this run "
        "(budget.requests)"
    ]
    token = TokenStore.load(copy.parent / "tokens.json").get(
        load_profile(copy).base_url, "CLAIRE", "aisp"
    )
    assert token is not None and token.access_token == "stale"


def test_a_token_endpoint_dripping_its_headers_ends_at_the_total_timeout(
    sandbox_profile: Path, hostile: HostileServers
) -> None:
    """A refresh at start-up must not hang the run before any test."""
    profile = with_token_url(
        load_profile(sandbox_profile),
        hostile.drip_headers() + "/token",
        total_timeout=1.0,
        read_timeout=30.0,
    )
    started = time.monotonic()
    with OAuthClient(profile) as oauth, pytest.raises(OAuthError) as info:
        oauth.refresh("a-refresh-token")
    assert time.monotonic() - started < 3
    assert re.search(
        r"/token took longer than 1 s to send the response \(timeouts.total\)$", str(info.value)
    )


def test_a_huge_token_response_is_refused_at_the_body_cap(
    sandbox_profile: Path, hostile: HostileServers
) -> None:
    profile = with_token_url(
        load_profile(sandbox_profile), hostile.big_body(8 * 2**20) + "/token", max_body_bytes=2**20
    )
    with OAuthClient(profile) as oauth, pytest.raises(OAuthError) as info:
        oauth.exchange_code("a-code", "http://127.0.0.1:9/callback", None)
    assert str(info.value).endswith(
        "/token sent a body larger than 1048576 bytes (limits.max_body_bytes); "
        "the rest was not read"
    )
