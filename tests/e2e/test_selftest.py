"""The mutation matrix: every sandbox fault is caught by at least one scenario (issue: sandbox)."""

from __future__ import annotations

import io
import re
import subprocess
import sys

from stet_conformance.sandbox.faults import FAULTS
from stet_conformance.selftest import MatrixRow, print_matrix


def test_every_fault_is_detected_and_the_conformant_run_is_green() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "stet_conformance.cli", "selftest"],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert len(FAULTS) >= 30
    assert f"faults detected: {len(FAULTS)}/{len(FAULTS)}" in done.stdout
    assert re.search(r"conformant sandbox: \d+ scenarios passed, ok", done.stdout)
    for name in FAULTS:
        row = re.search(rf"^{re.escape(name)} +(\S.*)$", done.stdout, re.MULTILINE)
        assert row is not None, name
        assert not row.group(1).startswith(("NOT DETECTED", "ERROR")), row.group(0)


def test_matrix_reports_undetected_faults_and_a_red_conformant_run() -> None:
    out = io.StringIO()
    rows = [
        MatrixRow(None, ("BAL-1",), 40),
        MatrixRow("caught", ("ACC-1",), 40),
        MatrixRow("missed", (), 41),
        MatrixRow("crashed", (), 0, "exit 2: boom"),
    ]
    assert print_matrix(rows, out) is False
    text = out.getvalue()
    assert "conformant sandbox: 40 scenarios passed, FAILED BAL-1" in text
    assert re.search(r"^missed +NOT DETECTED$", text, re.MULTILINE)
    assert re.search(r"^crashed +ERROR exit 2: boom$", text, re.MULTILINE)
    assert "faults detected: 1/3" in text


def test_matrix_passes_only_when_all_detected() -> None:
    rows = [MatrixRow(None, (), 44), MatrixRow("a", ("X-1",), 43)]
    assert print_matrix(rows, io.StringIO()) is True
