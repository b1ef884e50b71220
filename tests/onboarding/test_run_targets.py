"""``run --target A --target B``: one session per target, results per target, a matrix."""

from __future__ import annotations

import json
import shutil
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from stet_conformance.cli import main
from stet_conformance.cli.run import matrix_lines
from stet_conformance.report.results import REPORTS_ENV

Edit = Callable[[Path, Callable[[dict[str, Any]], None]], None]


def _second(copy: Path, edit: Edit, name: str) -> Path:
    other = copy.parent / f"{name}.yaml"
    shutil.copy(copy, other)
    edit(other, lambda d: d.update(name=name))
    return other


def test_two_targets_results_per_target_and_a_matrix(
    copy: Path, edit: Edit, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    edit(copy, lambda d: d.update(name="bank a"))
    other = _second(copy, edit, "bank-b")
    results = tmp_path / "results"
    code = main(
        [
            "run",
            "--target",
            str(copy),
            "--target",
            str(other),
            "-k",
            "ACC-1 or BAL-4",
            "--results",
            str(results),
            "--",
            "-q",
        ]
    )
    out, err = capfd.readouterr()
    assert code == 0, out + err
    assert "target 1/2: bank-a" in err and "target 2/2: bank-b" in err
    for name in ("bank-a", "bank-b"):
        run = json.loads((results / name / "run.json").read_text(encoding="utf-8"))
        assert run["counts"]["passed"] == 2
        assert (results / name / "junit.xml").is_file()
    matrix = out[out.index("STET per-target matrix") :].splitlines()
    assert matrix[1].split() == ["scenario", "bank-a", "bank-b"]
    assert matrix[2].split() == ["ACC-1", "pass", "pass"]
    assert matrix[3].split() == ["BAL-4", "pass", "pass"]
    assert matrix[-1].split() == ["passed", "2/2", "2/2"]
    assert json.loads((results / "matrix.json").read_text())["bank-a"]["ACC-1"] == "passed"


def test_a_broken_target_fails_the_run_and_shows_in_the_matrix(
    copy: Path, edit: Edit, capfd: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    down = _second(copy, edit, "down")
    edit(down, lambda d: d.update(base_url=f"https://127.0.0.1:{port}"))
    code = main(["run", "--target", str(copy), "--target", str(down), "-k", "ACC-1", "--", "-q"])
    out, _ = capfd.readouterr()
    assert code == 1
    row = [text for text in out.splitlines() if text.startswith("ACC-1 ")]
    assert row[-1].split() == ["ACC-1", "pass", "broken"]


def test_a_bad_profile_stops_before_any_request(
    copy: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    code = main(["run", "--target", str(copy), "--target", str(tmp_path / "nope.yaml")])
    _out, err = capfd.readouterr()
    assert code == 2 and "not found" in err and "target 1/2" not in err


def test_matrix_cells() -> None:
    lines = matrix_lines(
        {"a": {"X-1": "passed", "X-2": "failed"}, "b": {"X-1": "skipped", "X-3": "broken"}}
    )
    assert [line.split() for line in lines[1:]] == [
        ["scenario", "a", "b"],
        ["X-1", "pass", "skip"],
        ["X-2", "FAIL", "-"],
        ["X-3", "-", "broken"],
        ["passed", "1/2", "0/2"],
    ]


def test_several_targets_share_one_default_results_directory(
    copy: Path,
    edit: Edit,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(REPORTS_ENV, str(tmp_path / "reports"))
    edit(copy, lambda d: d.update(name="bank-a"))
    other = _second(copy, edit, "bank-b")
    code = main(["run", "--target", str(copy), "--target", str(other), "-k", "ACC-1", "--", "-q"])
    _out, err = capfd.readouterr()
    assert code == 0, err
    (root,) = (tmp_path / "reports").iterdir()
    assert {p.name for p in root.iterdir()} == {"bank-a", "bank-b", "matrix.txt", "matrix.json"}
    assert (root / "bank-b" / "run.json").is_file()
    assert err.splitlines()[-1].endswith(
        f"{root.name} (targets: bank-a, bank-b); report: stet-conformance report "
        f"{root.resolve()}/<target>"
    )
