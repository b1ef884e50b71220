"""A target that hangs, drips, resets, overflows or answers garbage: a completed run, never a crash.

Each case runs the scenarios against the sandbox with one transport-level fault and checks that
the affected scenarios end as broken (target down or misconfigured) or failed (bad body), that
the others still pass, and that the exit code is 1.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_run import cli


@pytest.mark.parametrize(
    ("fault", "selection", "verdicts", "message"),
    [
        (
            "identity-hangs",
            "IDN or ACC-1",
            {"IDN-1": "broken", "ACC-1": "passed"},
            "target broken: timeout talking to",
        ),
        (
            "identity-drips",
            "IDN-1 or ACC-1",
            {"IDN-1": "broken", "ACC-1": "passed"},
            "took longer than 10 s to send the response (timeouts.total)",
        ),
        (
            "balances-reset-mid-body",
            "BAL-1 or ACC-1",
            {"BAL-1": "broken", "ACC-1": "passed"},
            "closed the connection before the response was complete",
        ),
        (
            "accounts-502-html",
            "ACC-1 or BAL-1",
            {"ACC-1": "broken", "BAL-1": "passed"},
            "target broken: server error",
        ),
        (
            "transactions-truncated-json",
            "TRX-1 or BAL-1",
            {"TRX-1": "failed", "BAL-1": "passed"},
            "[schema] the body is not valid JSON",
        ),
        (
            "beneficiaries-huge-body",
            "TBN-1 or BAL-1",
            {"TBN-1": "broken", "BAL-1": "passed"},
            "sent a body larger than 10485760 bytes (limits.max_body_bytes)",
        ),
    ],
)
def test_bad_target_runs_complete_with_the_right_verdicts(
    tmp_path: Path, fault: str, selection: str, verdicts: dict[str, str], message: str
) -> None:
    done = cli("run", "--fault", fault, "-k", selection, "--results", str(tmp_path))
    assert done.returncode == 1, done.stdout[-2000:]
    assert message in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
    outcomes = json.loads((tmp_path / "coverage.json").read_text())["scenarios"]
    assert {k: outcomes[k] for k in verdicts} == verdicts
