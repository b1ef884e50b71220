"""Concurrency: the profile's ``concurrency`` sets run's workers, a live target refuses more, and
tests that share target state (``shares``, ``stet_shares``) never run at the same time."""

from __future__ import annotations

import argparse
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from stet_conformance.cli.run import workers
from stet_conformance.config.profile import load_profile
from stet_conformance.config.run_tokens import NoDisposableToken, Refreshed, RunTokens, Worker
from stet_conformance.errors import UsageError
from stet_conformance.sandbox import CONCURRENCY
from stet_conformance.sandbox.server import SandboxServer

pytest_plugins = ["pytester"]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    with SandboxServer(tmp_path_factory.mktemp("concurrency-sandbox")) as server:
        yield server


def _profile(sandbox: SandboxServer, name: str, extra: str = "", base_url: str = "") -> Path:
    """The sandbox's profile with ``extra`` lines (and another ``base_url``), beside its PKI."""
    text = sandbox.profile_path.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^concurrency: .*$\n", "", text)
    if base_url:
        text = text.replace(sandbox.base_url, base_url)
    path = sandbox.directory / name
    path.write_text(text + extra, encoding="utf-8")
    return path


def _args(
    n: str | None = None, *after: str, mode: str | None = "certification"
) -> argparse.Namespace:
    return argparse.Namespace(n=n, pytest_args=list(after), mode=mode, id=[], k=None, m=None)


def test_the_bundled_sandbox_declares_its_concurrency(sandbox: SandboxServer) -> None:
    assert load_profile(sandbox.profile_path).limits.concurrency == CONCURRENCY > 1


def test_a_profile_without_concurrency_allows_one_request_at_a_time(
    sandbox: SandboxServer,
) -> None:
    profile = load_profile(_profile(sandbox, "one.yaml"))
    assert profile.limits.concurrency == 1
    assert workers(_args(), profile.limits.concurrency, profile) is None  # no xdist at all


def test_without_n_a_run_of_the_suites_takes_the_targets_concurrency(
    sandbox: SandboxServer,
) -> None:
    profile = load_profile(_profile(sandbox, "three.yaml", "concurrency: 3\n"))
    assert workers(_args(), profile.limits.concurrency, profile) == "3"
    assert workers(_args("2"), profile.limits.concurrency, profile) == "2"


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("id", ["test_unknown_token_is_refused"]),
        ("k", "windows"),
        ("m", "seed"),
        (
            "pytest_args",
            ["suites/test_fuzz_dates.py::test_valid_dates_are_served_inside_their_window"],
        ),
    ],
)
def test_a_narrow_selection_runs_in_one_process(option: str, value: object) -> None:
    """A pointed check of a few tests: workers would cost more to start than they save, unless
    -n asks for them."""
    narrowed = _args()
    setattr(narrowed, option, value)
    assert workers(narrowed, 4) is None
    narrowed.n = "2"
    assert workers(narrowed, 4) == "2"


def test_the_scenarios_alone_run_in_one_process() -> None:
    """About 150 requests: workers would cost more to start than they save."""
    assert workers(_args(mode=None), 4) is None
    assert workers(_args("2", mode=None), 4) == "2"


def test_a_concurrency_below_one_is_a_profile_error(sandbox: SandboxServer) -> None:
    path = _profile(sandbox, "zero.yaml", "concurrency: 0\n")
    with pytest.raises(UsageError, match=r"zero.yaml:\d+: concurrency"):
        load_profile(path)


LIVE = "environment: live\nconcurrency: 2\n"


@pytest.mark.parametrize(
    "args",
    [
        _args("3"),
        _args("auto"),
        _args(None, "-n", "3"),
        _args(None, "-n3"),
        _args(None, "--numprocesses=4"),
    ],
    ids=["-n 3", "-n auto", "after -- -n 3", "after -- -n3", "after -- --numprocesses"],
)
def test_more_workers_than_a_live_targets_concurrency_are_refused(
    sandbox: SandboxServer, args: argparse.Namespace
) -> None:
    profile = load_profile(_profile(sandbox, "live.yaml", LIVE))
    with pytest.raises(UsageError) as refused:
        workers(args, profile.limits.concurrency, profile)
    message = str(refused.value)
    assert "live.yaml allows 2 request(s) in flight at once (concurrency: 2)" in message
    assert "\n" not in message


def test_a_live_target_takes_up_to_its_concurrency(sandbox: SandboxServer) -> None:
    profile = load_profile(_profile(sandbox, "live-ok.yaml", LIVE))
    assert workers(_args("2"), 2, profile) == "2"
    assert workers(_args(None, "-n", "1"), 2, profile) is None  # pytest reads it after --


def test_a_loopback_target_may_take_more_workers(sandbox: SandboxServer) -> None:
    """Not a bank (the live-safety rule): its budget is shared by the workers anyway."""
    profile = load_profile(_profile(sandbox, "loop.yaml"))
    assert workers(_args("4"), 1, profile) == "4"


HOLDS = """
import fcntl
import os

import pytest

from stet_conformance.plugin.ledger import run_folder
from stet_conformance.plugin.sharing import lock_path


def _held(config, name):
    fd = os.open(lock_path(run_folder(config), name), os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


@pytest.mark.stet_shares("consent LEA")
def test_sharing(request):
    assert _held(request.config, "consent LEA")
    assert not _held(request.config, "consent MARC")


def test_not_sharing(request):
    assert not _held(request.config, "consent LEA")
"""


# loadfile: both tests on one worker, so test_not_sharing never meets test_sharing's lock held by
# the other worker (which would be right, and a race in this test).
ONE_WORKER_PER_FILE = ["-n", "2", "--dist", "loadfile"]


@pytest.mark.parametrize("workers", [[], ONE_WORKER_PER_FILE], ids=["serial", "xdist"])
def test_a_test_sharing_state_holds_its_lock_while_it_runs(
    pytester: pytest.Pytester, sandbox: SandboxServer, workers: list[str]
) -> None:
    """Another process of the run reaching a test of the same state waits for the lock."""
    pytester.makepyfile(test_holds=HOLDS)
    result = pytester.runpytest_subprocess(
        f"--stet-target={sandbox.profile_path}", "-p", "no:cacheprovider", *workers
    )
    result.assert_outcomes(passed=2)


def test_the_scenarios_that_change_state_share_it_with_their_readers() -> None:
    """CON-REPLACE changes MARC's consent, IDN-1 reads MARC's identity (consented)..."""
    from stet_conformance.scenario.loader import load_all
    from stet_conformance.shared.resources import scenarios_dir

    shares = {s.id: s.shares for s in load_all(sorted(scenarios_dir().glob("*.yaml")))}
    assert shares["CON-REPLACE"] == shares["IDN-1"] == "consent MARC"
    assert shares["CON-REVOKE"] == shares["IDN-2"] == "consent TECHNCO"
    assert {shares[f"PIS-{n}"] for n in (1, 2, 4, 6)} == {"payment requests"}
    assert {shares[i] for i in ("OAU-REFRESH", "OAU-REFRESH-ROTATION", "OAU-REVOKE-ACCESS")} == {
        "refresh tokens LEA"
    }
    assert shares["ACC-1"] is None


def test_plain_pytest_with_more_workers_than_a_live_target_allows_sends_nothing(
    pytester: pytest.Pytester, sandbox: SandboxServer
) -> None:
    """The rule is the engine's too: ``pytest -n 2`` against a live profile of concurrency 1."""
    profile = _profile(sandbox, "live-pytest.yaml", "environment: live\n")
    directory = pytester.path / "scenarios"
    directory.mkdir()
    (directory / "x.yaml").write_text(
        "- id: ONE\n  title: one\n  persona: LEA\n"
        "  request: {method: GET, path: /accounts}\n  expect: {status: 200}\n",
        encoding="utf-8",
    )
    result = pytester.runpytest_subprocess(
        f"--stet-target={profile}", "-p", "no:cacheprovider", "-n", "2", "-rA"
    )
    assert result.ret != 0
    result.stdout.fnmatch_lines(
        ["*-n 2: *live-pytest.yaml allows 1 request(s) in flight at once (concurrency: 1)*"]
    )
    assert "passed" not in result.stdout.str().splitlines()[-1]


ROTATING = "".join(
    f"""
- id: ROT-{n}
  title: LEA's refresh token, refreshed at a bank that rotates it
  shares: refresh tokens LEA
  persona: LEA
  request:
    method: POST
    url: "{{{{ target.token_url }}}}"
    token: none
    form:
      grant_type: refresh_token
      refresh_token: "{{{{ credentials.LEA.refresh_tokens.aisp }}}}"
      client_id: "{{{{ target.client_id }}}}"
  expect: {{status: 200, request_id_echo: false}}
"""
    for n in range(1, 7)
)


def test_a_rotated_refresh_token_is_followed_by_every_worker(
    pytester: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory, sandbox: SandboxServer
) -> None:
    """A bank that rotates: each refresh revokes the token refreshed, so the worker that runs
    the next refresh must send the token another worker received."""
    directory = tmp_path_factory.mktemp("rotating")
    shutil.copytree(sandbox.pki.directory, directory / "pki")
    (pytester.path / "scenarios").mkdir()
    (pytester.path / "scenarios" / "x.yaml").write_text(ROTATING, encoding="utf-8")
    with SandboxServer(directory, variants=["choices"]) as rotating:
        result = pytester.runpytest_subprocess(
            f"--stet-target={rotating.profile_path}", "-p", "no:cacheprovider", "-n", "2", "-v"
        )
    result.assert_outcomes(passed=6)
    assert len(set(re.findall(r"\[(gw\d)\] \[ *\d+%\] PASSED", result.stdout.str()))) == 2


def test_two_processes_share_one_rotation(sandbox: SandboxServer, tmp_path: Path) -> None:
    profile = load_profile(sandbox.profile_path)
    first = profile.personas.credentials["LEA"].refresh_tokens["aisp"]
    shared = tmp_path / "refresh-tokens.json"
    one, two = RunTokens(profile, Worker(0, 2), shared), RunTokens(profile, Worker(1, 2), shared)
    assert two.refresh_tokens()["LEA"]["aisp"] == first
    one.rotated(first, Refreshed("access", "rotated-once", 60.0))
    assert two.refresh_tokens()["LEA"]["aisp"] == "rotated-once"
    assert oct(shared.stat().st_mode & 0o777) == "0o600"


def test_the_self_test_runs_each_run_in_one_process() -> None:
    """The matrix runs its runs side by side (``--jobs``): workers inside each would multiply."""
    from stet_conformance.selftest import _command

    for command in (_command(None, "data", Path("x.xml")), _command("f", None, Path("x.xml"))):
        assert command[4:6] == ["-n", "0"]


def test_workers_take_disposable_tokens_from_one_pool(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    """A bank's few disposable tokens serve whichever worker runs a revocation, each once."""
    profile = load_profile(sandbox.profile_path)
    pool = profile.personas.credentials["LEA"].disposable_refresh_tokens["aisp"]
    shared = tmp_path / "refresh-tokens.json"
    one, two = RunTokens(profile, Worker(0, 2), shared), RunTokens(profile, Worker(1, 2), shared)
    taken = [two.take_disposable("LEA", "aisp") for _ in pool]
    assert sorted(taken) == sorted(pool)
    with pytest.raises(NoDisposableToken):
        one.take_disposable("LEA", "aisp")
