"""The self-test counts a warning as catching a fault that breaks only a recommendation, and
wants the conformant sandbox free of warnings (unit level: the matrix itself is e2e)."""

from __future__ import annotations

import io
from pathlib import Path

from stet_conformance.selftest import MatrixRow, print_matrix, read_junit
from stet_conformance.verdict import WARNING_PROPERTY

JUNIT = f"""<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest">
  <testcase name="ACC-1"/>
  <testcase name="CON-1"><properties>
    <property name="stet_exchange" value="('PUT /consents', 201)"/>
    <property name="{WARNING_PROPERTY}" value="[body_empty] expected no body (recommendation: x)"/>
  </properties></testcase>
  <testcase name="BAL-1"><failure message="x"/></testcase>
  <testcase name="TRX-1"><skipped message="x"/></testcase>
</testsuite></testsuites>
"""


def test_a_junit_file_gives_failures_warnings_and_passes(tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    path.write_text(JUNIT, encoding="utf-8")
    row = read_junit("fault", path)
    assert (row.failed, row.warned, row.passed) == (("BAL-1",), ("CON-1",), 2)
    assert row.caught == "BAL-1"


def test_a_warning_catches_a_fault_and_spoils_the_conformant_run() -> None:
    out = io.StringIO()
    rows = [MatrixRow(None, (), 40), MatrixRow("digest-unchecked", (), 40, warned=("SEC-1",))]
    assert print_matrix(rows, out) is True
    assert "digest-unchecked  SEC-1 (warning)" in out.getvalue()
    out = io.StringIO()
    rows[0] = MatrixRow(None, (), 40, warned=("CON-1",))
    assert print_matrix(rows, out) is False
    assert "conformant sandbox: 40 scenarios passed, FAILED CON-1 (warning)" in out.getvalue()
