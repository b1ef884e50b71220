"""Issue 14 in the suites: a bank that refuses a negative offset (the portal writes only +HHMM
and +HH:MM) and one whose WAF refuses an injection with 403 pass, with the warnings citing why."""

from __future__ import annotations

from pathlib import Path

from cli_run import cli

from stet_conformance.report.results import REPORTS_ENV


def test_the_choices_bank_passes_the_date_suites_with_warnings(tmp_path: Path) -> None:
    selected = "valid_dates or near_miss"
    done = cli(
        *("run", "--variant", "choices", "--mode", "regression"),
        *("--", "-q", "-p", "no:randomly", "-k", selected),
        cwd=tmp_path,
        env={REPORTS_ENV: str(tmp_path / "reports")},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    assert "2 passed" in done.stdout
    assert "answered 400, not 200 or 204 (recommendation: ISO 8601" in done.stdout
    assert "answered 403, not 400 (recommendation: Banque BCP portal" in done.stdout
