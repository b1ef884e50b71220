"""The token lifecycle on tokens a bank can give: refresh scenarios on the persona's refresh
token, revocation scenarios on disposable ones, no browserless authorize (issue 15).

Each run is a real ``run`` against a bundled sandbox whose profile is derived as a bank's would
be: no ``oauth.authorize_url``, so only the code scenarios are skipped.
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

from stet_conformance.cli import main
from stet_conformance.config.profile import load_profile
from stet_conformance.config.run_tokens import NoDisposableToken, RunTokens, Worker
from stet_conformance.config.token_store import StoredToken, TokenStore, fingerprint
from stet_conformance.onboarding.oauth import OAuthClient, OAuthError
from stet_conformance.sandbox.server import SandboxServer
from stet_conformance.scenario.loader import load_file
from stet_conformance.scenario.runner import plan_scenario
from stet_conformance.shared.resources import scenarios_dir

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
    """A sandbox (its faults, its variants) and its profile as a bank's: no authorize_url."""
    shutil.copytree(session.pki.directory, directory / "pki")
    with SandboxServer(directory, faults, variants=variants) as server:
        profile = Path(server.profile_path)
        data = yaml.safe_load(profile.read_text(encoding="utf-8"))
        del data["oauth"]["authorize_url"]
        profile.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        yield profile


def run(profile: Path, junit: Path, *ids: str) -> dict[str, str]:
    """``run --id ...`` (default: -k OAU) and each scenario's outcome: passed, failed or the
    skip reason."""
    selection = [arg for scenario_id in ids for arg in ("--id", scenario_id)] or ["-k", "OAU"]
    code = main(["run", "--target", str(profile), *selection, "--junitxml", str(junit)])
    assert code in (0, 1)
    outcomes = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        skipped = case.find("skipped")
        failed = case.find("failure") is not None or case.find("error") is not None
        outcome = "failed" if failed else "passed"
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
        assert "stet-conformance login" in outcomes[name]


def test_a_bank_that_rotates_refresh_tokens_passes_and_the_next_run_too(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    """Variant choices rotates on every refresh: the persona's refresh token is followed."""
    with bank(sandbox, tmp_path / "bank", variants=["choices"]) as profile:
        first = run(profile, tmp_path / "first.xml", *LIFECYCLE)
        second = run(profile, tmp_path / "second.xml", *LIFECYCLE)
    assert first == second == dict.fromkeys(LIFECYCLE, "passed")


@pytest.mark.parametrize(
    ("fault", "caught_by"),
    [
        ("revoke-ignored", {"OAU-REVOKE-REFRESH", "OAU-REVOKE-ACCESS"}),
        ("revoke-access-keeps-refresh", {"OAU-REVOKE-ACCESS"}),
        ("revoke-keeps-access-tokens", {"OAU-REVOKE-REFRESH"}),
        ("revoked-token-no-invalid-token", {"OAU-REVOKE-REFRESH", "OAU-REVOKE-ACCESS"}),
        ("refresh-token-unusable", {"OAU-REFRESH", "OAU-EXPIRED-REFRESH"}),
        ("refresh-token-rotated", {"OAU-REFRESH-ROTATION"}),
        ("token-not-bound-to-tpp", {"OAU-TOKEN-OTHER-TPP"}),
    ],
)
def test_each_lifecycle_fault_fails_its_scenarios_at_a_bank(
    sandbox: SandboxServer, tmp_path: Path, fault: str, caught_by: set[str]
) -> None:
    with bank(sandbox, tmp_path / "bank", [fault]) as profile:
        outcomes = run(profile, tmp_path / "junit.xml", *LIFECYCLE)
    assert caught_by <= {name for name, outcome in outcomes.items() if outcome == "failed"}


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
    assert load_profile(copy).credentials["LEA"].disposable_refresh_tokens == {}
    second = run(copy, tmp_path / "second.xml", *revocations)
    assert all(POOL in reason for reason in second.values())  # skipped: none left


def test_without_a_store_the_workers_take_disjoint_halves(copy: Path) -> None:
    profile = load_profile(copy)
    pool = profile.credentials["LEA"].disposable_refresh_tokens["aisp"]
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
    assert taken == set(profile.credentials["LEA"].disposable_refresh_tokens["aisp"])
    with pytest.raises(NoDisposableToken):
        first.take_disposable("LEA", "aisp")


def test_a_rotated_refresh_token_is_written_back_to_the_store(
    sandbox: SandboxServer, tmp_path: Path, edit: Edit
) -> None:
    """The persona's refresh token comes from the store; the bank rotates it on every refresh."""
    with bank(sandbox, tmp_path / "bank", variants=["choices"]) as profile:
        loaded = load_profile(profile)
        original = loaded.credentials["LEA"].refresh_tokens["aisp"]
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


def test_a_dry_run_takes_no_disposable_token(copy: Path, edit: Edit) -> None:
    _pool_of_two(copy, edit, store=True)
    profile = load_profile(copy)
    scenarios = [s for s in load_file(scenarios_dir() / "oauth.yaml") if "revocation" in s.tags]
    lines = [line for scenario in scenarios for line in plan_scenario(scenario, profile)]
    assert len(lines) == 9 and not any("would be skipped" in line for line in lines)
    assert not (copy.parent / "tokens.json").exists()  # nothing marked used
