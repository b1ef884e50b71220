"""One request budget per run, whatever the number of processes: ``-n 2`` shares the purses.

Counted where it matters, at the target: a sandbox of its own that notes every request it gets
(not its reset, which is the harness's, not a scenario's), with and without PSU-IP-Address.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_run import cli

from stet_conformance.sandbox import server as sandbox_server
from stet_conformance.sandbox.app import RESET_PATH
from stet_conformance.sandbox.server import SandboxServer

BALANCES = "/accounts/{{ account('EDME', 'balances').resource_id }}/balances"


class Counting:
    """The sandbox's app behind a counter of the requests it receives (unattended or not)."""

    def __init__(self) -> None:
        self.unattended: list[bool] = []

    def wrap(self, app: object) -> object:
        async def counted(scope: dict[str, object], receive: object, send: object) -> None:
            if scope["type"] == "http" and scope["path"] != RESET_PATH:
                names = {name for name, _ in scope["headers"]}  # type: ignore[attr-defined]
                self.unattended.append(b"psu-ip-address" not in names)
            await app(scope, receive, send)  # type: ignore[operator]

        return counted


@pytest.fixture
def counted(sandbox: SandboxServer, tmp_path: Path) -> Iterator[tuple[SandboxServer, Counting]]:
    """A sandbox of its own (the session's PKI) whose requests are counted."""
    shutil.copytree(sandbox.pki.directory, tmp_path / "sb" / "pki")
    counting = Counting()
    build = sandbox_server.build_app
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sandbox_server, "build_app", lambda state: counting.wrap(build(state)))
        server = SandboxServer(tmp_path / "sb")
    with server:
        yield server, counting


def scenarios(tmp_path: Path, count: int, request: str) -> Path:
    """``count`` one-request scenarios of EDME (several per worker with ``-n 2``)."""
    folder = tmp_path / "scenarios"
    folder.mkdir()
    lines = []
    for n in range(1, count + 1):
        lines += [
            f"- id: SHARED-{n}",
            f"  title: shared budget {n}",
            "  persona: EDME",
            f"  request: {request}",
            "  expect: {status: [200, 429]}",
        ]
    (folder / "shared.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def run(server: SandboxServer, tmp_path: Path, budget: str, *args: str) -> str:
    """``run -n 2`` against the counted sandbox with ``budget`` in its profile."""
    profile = server.profile_path.with_name("budgeted.yaml")  # beside its relative PKI paths
    profile.write_text(server.profile_path.read_text(encoding="utf-8") + f"budget: {budget}\n")
    done = cli(
        "run", "--target", str(profile), "-n", "2", "--results", str(tmp_path / "results"),
        *args, "--", "-rs",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    return done.stdout


def test_two_workers_share_the_run_budget(
    counted: tuple[SandboxServer, Counting], tmp_path: Path
) -> None:
    """``budget.requests: 5`` with ``-n 2``: five requests reach the bank, not ten."""
    server, counting = counted
    folder = scenarios(tmp_path, 10, f'{{method: GET, path: "{BALANCES}"}}')
    out = run(server, tmp_path, "{requests: 5}", "--scenarios", str(folder))
    assert len(counting.unattended) == 5
    assert "5 passed, 5 skipped" in out
    assert "request budget exhausted: 5 requests this run (budget.requests" in out


def test_two_workers_share_the_unattended_quota(
    counted: tuple[SandboxServer, Counting], tmp_path: Path
) -> None:
    """The bank's 4 calls a day without PSU-IP-Address are 4 for the run, not 4 per worker."""
    server, counting = counted
    request = f'{{method: GET, path: "{BALANCES}", psu_ip_address: false}}'
    folder = scenarios(tmp_path, 8, request)
    out = run(server, tmp_path, "{unattended: 4}", "--scenarios", str(folder))
    assert counting.unattended.count(True) == 4
    assert "4 passed, 4 skipped" in out
    assert "unattended budget exhausted for EDME GET /accounts/" in out


def test_the_suites_spend_the_profile_budget_too(
    counted: tuple[SandboxServer, Counting], tmp_path: Path
) -> None:
    """A suite's requests count against ``budget.requests``, not only the suites' own budget."""
    server, counting = counted
    selection = ("--mode", "regression", "--id", "test_unknown_token_is_refused")
    out = run(server, tmp_path, "{requests: 3}", *selection)
    assert len(counting.unattended) == 3
    assert "request budget exhausted: 3 requests this run (budget.requests" in out
