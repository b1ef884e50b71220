"""The token lifecycle on tokens a bank can give: refresh scenarios on the persona's refresh
token, revocation scenarios on disposable ones, code scenarios on the codes of ``login --codes``,
no browserless authorize (issue 15).

Each run is a real ``run`` against a bundled sandbox whose profile is derived as a bank's would
be: no ``sandbox.authorize_without_browser``, so the code scenarios run only on stored codes,
which ``login`` obtains through the authorize page (driven by the test, loopback only).
"""

from __future__ import annotations

import datetime as dt
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from login_helpers import drive_browser, logged_in

from stet_conformance.cli import main
from stet_conformance.config.profile import load_profile
from stet_conformance.config.run_tokens import (
    NoAuthorizationCode,
    NoDisposableToken,
    RunTokens,
    Worker,
)
from stet_conformance.config.token_store import (
    AuthorizationCode,
    StoredToken,
    TokenStore,
    fingerprint,
)
from stet_conformance.onboarding.login import LoginRequest, login_code
from stet_conformance.onboarding.oauth import OAuthClient, OAuthError
from stet_conformance.sandbox.server import SandboxServer
from stet_conformance.scenario.loader import load_file
from stet_conformance.scenario.runner import plan_scenario
from stet_conformance.shared.resources import scenarios_dir
from stet_conformance.verdict import WARNING_PROPERTY

Edit = Callable[[Path, Callable[[dict[str, Any]], None]], None]
LIFECYCLE = [
    "OAU-REFRESH",
    "OAU-REFRESH-ROTATION",
    "OAU-REVOKE-REFRESH",
    "OAU-REVOKE-ACCESS",
    "OAU-EXPIRED-REFRESH",
    "OAU-TOKEN-OTHER-TPP",
]
NEED_A_CODE = ["OAU-CODE-FLOW", "OAU-CODE-REUSED", "OAU-REDIRECT-URI-MISMATCH"]
POOL = "personas.LEA.disposable_refresh_tokens.aisp"


@contextmanager
def bank(
    session: SandboxServer,
    directory: Path,
    faults: Sequence[str] = (),
    variants: Sequence[str] = (),
) -> Iterator[Path]:
    """A sandbox (its faults, its variants) and its profile as a bank's: an authorize page for
    the PSU's browser, no browserless shortcut."""
    shutil.copytree(session.pki.directory, directory / "pki")
    with SandboxServer(directory, faults, variants=variants) as server:
        profile = Path(server.profile_path)
        data = yaml.safe_load(profile.read_text(encoding="utf-8"))
        del data["sandbox"]["authorize_without_browser"]
        profile.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        yield profile


def run(profile: Path, junit: Path, *ids: str) -> dict[str, str]:
    """``run --id ...`` (default: -k OAU) and each scenario's outcome: passed, warned (passed
    with a recommendation not met), failed or the skip reason."""
    selection = [arg for scenario_id in ids for arg in ("--id", scenario_id)] or ["-k", "OAU"]
    code = main(["run", "--target", str(profile), *selection, "--junitxml", str(junit)])
    assert code in (0, 1)
    outcomes = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        skipped = case.find("skipped")
        failed = case.find("failure") is not None or case.find("error") is not None
        warned = any(p.get("name") == WARNING_PROPERTY for p in case.iter("property"))
        outcome = "failed" if failed else "warned" if warned else "passed"
        outcomes[case.get("name", "?")] = (
            skipped.get("message", "") if skipped is not None else outcome
        )
    return outcomes


def test_the_lifecycle_runs_and_passes_without_a_browserless_authorize(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    with bank(sandbox, tmp_path / "bank") as profile:
        outcomes = run(profile, tmp_path / "junit.xml")
    assert {name: outcomes[name] for name in LIFECYCLE} == dict.fromkeys(LIFECYCLE, "passed")
    for name in NEED_A_CODE:
        assert "needs a fresh authorization code" in outcomes[name]
        assert "no token_store" in outcomes[name]
        assert "stet-conformance login --codes N --persona LEA --scope aisp" in outcomes[name]


def test_a_bank_that_rotates_refresh_tokens_passes_and_the_next_run_too(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    """Variant choices rotates on every refresh: the persona's refresh token is followed."""
    with bank(sandbox, tmp_path / "bank", variants=["choices"]) as profile:
        first = run(profile, tmp_path / "first.xml", *LIFECYCLE)
        second = run(profile, tmp_path / "second.xml", *LIFECYCLE)
    # revoke-access-unsupported: an allowed answer, not the recommended one
    expected = {**dict.fromkeys(LIFECYCLE, "passed"), "OAU-REVOKE-ACCESS": "warned"}
    assert first == second == expected


@pytest.mark.parametrize(
    ("fault", "caught_by"),
    [
        ("revoke-ignored", {"OAU-REVOKE-REFRESH", "OAU-REVOKE-ACCESS"}),
        ("revoke-access-keeps-refresh", {"OAU-REVOKE-ACCESS"}),
        ("revoke-keeps-access-tokens", {"OAU-REVOKE-REFRESH"}),
        ("refresh-token-unusable", {"OAU-REFRESH", "OAU-EXPIRED-REFRESH"}),
        ("token-not-bound-to-tpp", {"OAU-TOKEN-OTHER-TPP"}),
    ],
)
def test_each_lifecycle_fault_fails_its_scenarios_at_a_bank(
    sandbox: SandboxServer, tmp_path: Path, fault: str, caught_by: set[str]
) -> None:
    with bank(sandbox, tmp_path / "bank", [fault]) as profile:
        outcomes = run(profile, tmp_path / "junit.xml", *LIFECYCLE)
    assert caught_by <= {name for name, outcome in outcomes.items() if outcome == "failed"}


@pytest.mark.parametrize(
    ("fault", "caught_by"),
    [
        # RFC 6750 3 only recommends the error code; the portal names none for a revoked token
        ("revoked-token-no-invalid-token", {"OAU-REVOKE-REFRESH", "OAU-REVOKE-ACCESS"}),
        # RFC 6749 6 allows the rotation: the profile is asked to declare it
        ("refresh-token-rotated", {"OAU-REFRESH-ROTATION"}),
    ],
)
def test_each_lifecycle_recommendation_fault_warns_at_a_bank(
    sandbox: SandboxServer, tmp_path: Path, fault: str, caught_by: set[str]
) -> None:
    with bank(sandbox, tmp_path / "bank", [fault]) as profile:
        outcomes = run(profile, tmp_path / "junit.xml", *LIFECYCLE)
    assert {outcomes[name] for name in caught_by} == {"warned"}


def test_an_empty_pool_skips_naming_the_key_and_the_command(
    copy: Path, edit: Edit, tmp_path: Path
) -> None:
    def no_pool(data: dict[str, Any]) -> None:
        for persona in data["personas"].values():
            persona.pop("disposable_refresh_tokens")

    edit(copy, no_pool)
    outcomes = run(copy, tmp_path / "junit.xml", "OAU-REVOKE-REFRESH", "OAU-REVOKE-ACCESS")
    for reason in outcomes.values():
        assert POOL in reason
        assert "stet-conformance login --disposable N --persona LEA --scope aisp" in reason


def _pool_of_two(copy: Path, edit: Edit, store: bool) -> list[str]:
    """LEA's pool cut to two tokens (one per revocation scenario); optionally a token store."""
    data = yaml.safe_load(copy.read_text(encoding="utf-8"))
    pool: list[str] = data["personas"]["LEA"]["disposable_refresh_tokens"]["aisp"][:2]

    def change(data: dict[str, Any]) -> None:
        data["personas"]["LEA"]["disposable_refresh_tokens"]["aisp"] = pool
        if store:
            data["token_store"] = "tokens.json"

    edit(copy, change)
    return pool


def test_a_token_store_remembers_the_disposable_tokens_runs_took(
    copy: Path, edit: Edit, tmp_path: Path
) -> None:
    pool = _pool_of_two(copy, edit, store=True)
    revocations = ("OAU-REVOKE-REFRESH", "OAU-REVOKE-ACCESS")
    assert run(copy, tmp_path / "first.xml", *revocations) == dict.fromkeys(revocations, "passed")
    store = TokenStore.load(copy.parent / "tokens.json")
    assert store.used(load_profile(copy).base_url) == {fingerprint(t) for t in pool}
    assert not any(token in (copy.parent / "tokens.json").read_text() for token in pool)
    assert load_profile(copy).personas.credentials["LEA"].disposable_refresh_tokens == {}
    second = run(copy, tmp_path / "second.xml", *revocations)
    assert all(POOL in reason for reason in second.values())  # skipped: none left


def test_without_a_store_the_workers_take_disjoint_halves(copy: Path) -> None:
    profile = load_profile(copy)
    pool = profile.personas.credentials["LEA"].disposable_refresh_tokens["aisp"]
    taken = []
    for index in (0, 1):
        tokens = RunTokens(profile, Worker(index, 2))
        taken += [tokens.take_disposable("LEA", "aisp") for _ in range(len(pool) // 2)]
        with pytest.raises(NoDisposableToken, match=POOL):
            tokens.take_disposable("LEA", "aisp")
    assert sorted(taken) == sorted(pool)


def test_with_a_store_processes_never_take_the_same_token(copy: Path, edit: Edit) -> None:
    _pool_of_two(copy, edit, store=True)
    profile = load_profile(copy)
    first, second = RunTokens(profile, Worker(0, 2)), RunTokens(profile, Worker(1, 2))
    taken = {first.take_disposable("LEA", "aisp"), second.take_disposable("LEA", "aisp")}
    assert taken == set(profile.personas.credentials["LEA"].disposable_refresh_tokens["aisp"])
    with pytest.raises(NoDisposableToken):
        first.take_disposable("LEA", "aisp")


def test_a_rotated_refresh_token_is_written_back_to_the_store(
    sandbox: SandboxServer, tmp_path: Path, edit: Edit
) -> None:
    """The persona's refresh token comes from the store; the bank rotates it on every refresh."""
    with bank(sandbox, tmp_path / "bank", variants=["choices"]) as profile:
        loaded = load_profile(profile)
        original = loaded.personas.credentials["LEA"].refresh_tokens["aisp"]
        store = TokenStore(profile.parent / "tokens.json")
        now = dt.datetime.now(dt.UTC)
        store.put(loaded.base_url, "LEA", "aisp", StoredToken("old", original, None, now, now))
        store.save()

        def from_the_store(data: dict[str, Any]) -> None:
            data["token_store"] = "tokens.json"
            data["personas"]["LEA"]["refresh_tokens"] = {}

        edit(profile, from_the_store)
        assert run(profile, tmp_path / "junit.xml", "OAU-REFRESH") == {"OAU-REFRESH": "passed"}
        entry = TokenStore.load(profile.parent / "tokens.json").get(loaded.base_url, "LEA", "aisp")
        assert entry is not None and entry.refresh_token not in (None, original)
        with OAuthClient(loaded) as oauth:
            with pytest.raises(OAuthError, match="invalid_grant"):
                oauth.refresh(original)  # rotated out
            assert entry.refresh_token is not None
            assert oauth.refresh(entry.refresh_token).access_token


def test_a_dry_run_takes_no_disposable_token_and_no_code(copy: Path, edit: Edit) -> None:
    _pool_of_two(copy, edit, store=True)
    profile = load_profile(copy)
    store = TokenStore(copy.parent / "tokens.json")
    code = AuthorizationCode("a-code", "x", None, dt.datetime.now(dt.UTC))
    store.add_code(profile.base_url, "LEA", "aisp", code)
    store.save()
    before = store.path.read_text()
    consuming = {"OAU-REVOKE-REFRESH", "OAU-REVOKE-ACCESS", *NEED_A_CODE}
    scenarios = [s for s in load_file(scenarios_dir() / "oauth.yaml") if s.id in consuming]
    lines = [line for scenario in scenarios for line in plan_scenario(scenario, profile)]
    assert len(lines) == 9 + 5 and not any("would be skipped" in line for line in lines)
    assert store.path.read_text() == before  # nothing marked used or taken


def _store(data: dict[str, Any]) -> None:
    data["token_store"] = "tokens.json"


def _codes(profile: Path, count: int) -> None:
    """``count`` codes for LEA/aisp into the store, each from a login through the authorize
    page (the sandbox's page names the PSU with ``psu``)."""
    loaded = load_profile(profile)
    request = LoginRequest("LEA", "aisp", profile.parent / "tokens.json", extra={"psu": "LEA"})
    for _ in range(count):
        login_code(loaded, request, drive_browser(profile))


def test_codes_from_login_run_the_code_scenarios_at_a_bank_once_each(
    sandbox: SandboxServer, tmp_path: Path, edit: Edit
) -> None:
    with bank(sandbox, tmp_path / "bank") as profile:
        edit(profile, _store)
        store = profile.parent / "tokens.json"
        out, err = logged_in(profile, store, 3, "--codes", "3")
        assert "stored 3 LEA/aisp authorization codes in" in out
        assert "(oauth.code_max_age: 600 s)" in out
        target = load_profile(profile).base_url
        codes = [code for _, _, code in TokenStore.load(store).codes(target)]
        assert len(codes) == 3 and all(c.code_verifier for c in codes)  # PKCE
        assert all(c.redirect_uri.startswith("http://127.0.0.1:") for c in codes)
        assert not any(secret in out + err for c in codes for secret in c.secrets())
        first = run(profile, tmp_path / "first.xml", *NEED_A_CODE)
        assert list(TokenStore.load(store).codes(target)) == []  # each was taken
        second = run(profile, tmp_path / "second.xml", *NEED_A_CODE)
    assert first == dict.fromkeys(NEED_A_CODE, "passed")
    for reason in second.values():
        assert "needs a fresh authorization code" in reason
        assert "younger than 600 s (oauth.code_max_age)" in reason
        assert "stet-conformance login --codes N --persona LEA --scope aisp" in reason


@pytest.mark.parametrize(
    ("fault", "caught_by"),
    [
        ("code-reusable", "OAU-CODE-REUSED"),
        ("redirect-uri-unchecked", "OAU-REDIRECT-URI-MISMATCH"),
    ],
)
def test_a_bank_breaking_a_code_rule_fails_its_scenario_on_stored_codes(
    sandbox: SandboxServer, tmp_path: Path, edit: Edit, fault: str, caught_by: str
) -> None:
    with bank(sandbox, tmp_path / "bank", [fault]) as profile:
        edit(profile, _store)
        _codes(profile, 2)
        outcomes = run(profile, tmp_path / "junit.xml", "OAU-CODE-FLOW", caught_by)
    assert outcomes == {"OAU-CODE-FLOW": "passed", caught_by: "failed"}


def test_a_code_older_than_code_max_age_is_dropped_not_sent(
    sandbox: SandboxServer, tmp_path: Path, edit: Edit
) -> None:
    def short_lived(data: dict[str, Any]) -> None:
        _store(data)
        data["oauth"]["code_max_age"] = 60

    with bank(sandbox, tmp_path / "bank") as profile:
        edit(profile, short_lived)
        _codes(profile, 1)
        path = profile.parent / "tokens.json"
        store = TokenStore.load(path)
        entry = store.data["codes"][load_profile(profile).base_url]["LEA"]["aisp"][0]
        old = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=61)
        entry["obtained_at"] = old.isoformat(timespec="seconds")
        store.save()
        outcomes = run(profile, tmp_path / "junit.xml", "OAU-CODE-FLOW")
        assert "younger than 60 s (oauth.code_max_age)" in outcomes["OAU-CODE-FLOW"]
        assert list(TokenStore.load(path).codes(load_profile(profile).base_url)) == []


def test_processes_never_take_the_same_code(copy: Path, edit: Edit) -> None:
    edit(copy, _store)
    profile = load_profile(copy)
    store = TokenStore(copy.parent / "tokens.json")
    now = dt.datetime.now(dt.UTC)
    for value in ("code-one", "code-two"):
        store.add_code(profile.base_url, "LEA", "aisp", AuthorizationCode(value, "x", None, now))
    store.save()
    first, second = RunTokens(profile, Worker(0, 2)), RunTokens(profile, Worker(1, 2))
    taken = {first.take_code("LEA", "aisp").code, second.take_code("LEA", "aisp").code}
    assert taken == {"code-one", "code-two"}
    with pytest.raises(NoAuthorizationCode, match="younger than 600 s"):
        first.take_code("LEA", "aisp")


def test_the_oldest_fresh_code_is_taken_and_stale_ones_leave_the_store(tmp_path: Path) -> None:
    now = dt.datetime.now(dt.UTC)
    store = TokenStore(tmp_path / "tokens.json")
    ages = {"stale": 700, "older": 300, "newer": 10, "future": -120}  # seconds before now
    for value, age in ages.items():
        code = AuthorizationCode(value, "x", "v", now - dt.timedelta(seconds=age))
        store.add_code("https://bank", "LEA", "aisp", code)
    store.add_code("https://bank", "LEA", "pisp", AuthorizationCode("other", "x", None, now))
    minutes = dt.timedelta(minutes=10)
    taken = store.take_code("https://bank", "LEA", "aisp", minutes, now)
    assert taken is not None and taken.code == "older"
    left = {(scope, code.code) for _, scope, code in store.codes("https://bank")}
    assert left == {("aisp", "newer"), ("pisp", "other")}  # a code from the future is no use
    assert store.take_code("https://bank", "GEORGES", "aisp", minutes, now) is None
