"""The mutation matrix: every sandbox fault is caught by at least one scenario (issue: sandbox),
and every legitimate variant passes every scenario and suite in certification mode (issue 14)."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from cli_run import cli_command

from stet_conformance import selftest
from stet_conformance.sandbox.faults import FAULTS
from stet_conformance.sandbox.variants import VARIANTS
from stet_conformance.selftest import MatrixRow, print_matrix


def test_every_fault_is_detected_and_the_conformant_run_is_green(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Minutes long: its progress lines go to the terminal as they come, past pytest's capture."""
    with subprocess.Popen(
        cli_command("selftest"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stderr is not None and proc.stdout is not None
        watchdog = threading.Timer(900, proc.kill)  # a hung matrix must not hang CI
        watchdog.start()
        errors = []
        with capsys.disabled():
            sys.stderr.write("\n")
            for line in proc.stderr:
                errors.append(line)
                sys.stderr.write(f"  selftest {line}")
        stdout = proc.stdout.read()
        watchdog.cancel()
    done = subprocess.CompletedProcess(proc.args, proc.wait(), stdout, "".join(errors))
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert len(FAULTS) >= 30
    assert f"faults detected: {len(FAULTS)}/{len(FAULTS)}" in done.stdout
    assert re.search(r"conformant sandbox: \d+ scenarios passed, ok", done.stdout)
    for name in FAULTS:
        row = re.search(rf"^{re.escape(name)} +(\S.*)$", done.stdout, re.MULTILINE)
        assert row is not None, name
        assert not row.group(1).startswith(("NOT DETECTED", "ERROR")), row.group(0)
    assert len(VARIANTS) >= 2
    last = done.stdout.strip().splitlines()[-1]
    assert last == f"legitimate variants passed: {len(VARIANTS)}/{len(VARIANTS)}"


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


def test_progress_is_one_short_line_per_finished_run(monkeypatch: pytest.MonkeyPatch) -> None:
    many = tuple(f"SCN-{i}" for i in range(40))

    def fake_run(fault: str | None, workdir: Path, variant: str | None = None) -> MatrixRow:
        return MatrixRow(fault, many if fault == "wide" else (), 40, variant=variant)

    monkeypatch.setattr(selftest, "_run_one", fake_run)
    progress = io.StringIO()
    rows = selftest.run_matrix(["wide", "missed"], 1, progress, variants=["choices"])
    assert [(row.fault, row.variant) for row in rows] == [
        (None, None),
        ("wide", None),
        ("missed", None),
        (None, "choices"),
    ]
    lines = progress.getvalue().splitlines()
    assert len(lines) == 4
    assert lines[0].startswith("[1/4] conformant sandbox: ok  (")
    assert lines[3].startswith("[4/4] variant choices: ok (40 passed)  (")
    assert any(
        re.fullmatch(
            r"\[\d/4\] wide: caught by SCN-0, SCN-1, SCN-2 \(\+37 more\)  \(\d+ s left\)", line
        )
        for line in lines
    )
    assert any("missed: NOT DETECTED" in line for line in lines)
    assert all(len(line) < 100 for line in lines)
    table = io.StringIO()
    selftest.print_matrix(rows, table)
    assert max(len(line) for line in table.getvalue().splitlines()) < 100


def test_variants_are_run_in_certification_mode_and_must_all_pass() -> None:
    assert "--mode certification" in " ".join(selftest._command(None, "data", Path("x.xml")))
    assert "--variant data" in " ".join(selftest._command(None, "data", Path("x.xml")))
    assert "--mode regression" in " ".join(selftest._command("cap-ignored", None, Path("x.xml")))
    out = io.StringIO()
    rows = [
        MatrixRow(None, (), 44),
        MatrixRow("a", ("X-1",), 43),
        MatrixRow(None, (), 102, variant="choices"),
        MatrixRow(None, ("TRX-7", "CBP-5"), 100, variant="data"),
    ]
    assert print_matrix(rows, out) is False
    text = out.getvalue()
    assert "faults detected: 1/1" in text
    assert re.search(r"^choices +ok \(102 passed\)$", text, re.MULTILINE)
    assert re.search(r"^data +FAILED TRX-7, CBP-5$", text, re.MULTILINE)
    assert text.strip().splitlines()[-1] == "legitimate variants passed: 1/2"
    assert print_matrix(rows[:3], io.StringIO()) is True
