"""Error answers STET 1.4.0.47 gives no body format (the portal's 409 and 501) as a user runs the
bundled sandbox: a text/plain body there only warns, while the fault that breaks the error bodies
of the codes STET defines the ErrorModel for still fails."""

from __future__ import annotations

from pathlib import Path

from cli_run import cli

EXTRAPOLATED = "extrapolated from STET 1.4.0.47"


def test_text_bodies_on_409_and_501_pass_with_warnings(tmp_path: Path) -> None:
    """Variant data (error-409-501-text): PIS-2's 409, TBN-1's and IDN-2's 501 are text/plain."""
    ids = ("--id", "PIS-2", "--id", "TBN-1", "--id", "IDN-2", "--id", "BAL-4")
    done = cli("run", "--variant", "data", *ids, "--results", str(tmp_path))
    assert done.returncode == 0, done.stdout[-3000:]
    assert "4 passed" in done.stdout
    warnings = done.stdout.split("STET warnings", 1)[1]
    for scenario in ("PIS-2", "TBN-1", "IDN-2"):
        assert f"::{scenario}" in warnings
    assert "[content_type] body is not JSON" in warnings and EXTRAPOLATED in warnings
    assert "::BAL-4" not in warnings


def test_html_error_bodies_fail_only_on_the_codes_stet_defines(tmp_path: Path) -> None:
    """Fault error-body-html: BAL-4's 404 fails; PIS-2's 409 in the same form only warns."""
    ids = ("--id", "BAL-4", "--id", "PIS-2")
    done = cli("run", "--fault", "error-body-html", *ids, "--results", str(tmp_path))
    assert done.returncode == 1, done.stdout[-3000:]
    assert "1 failed, 1 passed" in done.stdout
    assert "FAILED scenarios/balances.yaml::BAL-4 " in done.stdout
    assert EXTRAPOLATED in done.stdout.split("STET warnings", 1)[1]
