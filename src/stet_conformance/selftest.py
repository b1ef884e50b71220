"""The mutation matrix: does every deliberate fault of the sandbox make some scenario fail,
and does every legitimate variant of the bank pass everything?

One conformant run (must be all green, without a warning) and one run per fault (each must fail
at least one scenario or property-based suite, or, for a fault that breaks only a recommendation,
make one warn), each a ``stet-conformance run --mode regression`` in its own process against its
own sandbox; then one run per legitimate variant, in certification mode, which must pass every
scenario and suite (warnings allowed: a variant may take a choice the sources only discourage).
Two runs at a time. A fault nothing catches is a missing check: add the check, not an
exception. A variant that fails is a check stricter than the portal and STET: widen it to what
they allow.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from stet_conformance.verdict import WARNING_PROPERTY

SHOWN_CATCHERS = 3  # a row names this many catching tests, then "+N more": rows stay short


@dataclass(frozen=True)
class MatrixRow:
    fault: str | None  # None: the conformant sandbox, or a variant
    failed: tuple[str, ...]
    passed: int
    error: str | None = None
    warned: tuple[str, ...] = ()  # passed with a warning (a recommendation not met)
    variant: str | None = None  # a legitimate variant: every test must pass

    @property
    def caught(self) -> str | None:
        """Which tests noticed the fault (failures first), or None."""
        if self.failed:
            return _catchers(self.failed)
        return f"{_catchers(self.warned)} (warning)" if self.warned else None


def _command(fault: str | None, variant: str | None, junit: Path) -> list[str]:
    # One process per run: the matrix runs its runs side by side (--jobs), not their tests.
    command = [sys.executable, "-m", "stet_conformance.cli", "run", "-n", "0"]
    command += ["--junitxml", str(junit)]
    if variant:  # a variant is certified: every suite, at its full number of examples
        command += ["--mode", "certification", "--variant", variant]
    else:  # the property-based suites take part in the matrix
        command += ["--mode", "regression"]
    if fault:
        command += ["--fault", fault]
    return [*command, "--", "-q", "--no-header", "-p", "no:randomly"]


def _run_one(fault: str | None, workdir: Path, variant: str | None = None) -> MatrixRow:
    junit = workdir / (f"variant-{variant}.xml" if variant else f"{fault or 'conformant'}.xml")
    command = _command(fault, variant, junit)
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 1) or not junit.exists():
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        return MatrixRow(fault, (), 0, f"exit {done.returncode}: {tail[0]}", variant=variant)
    return read_junit(fault, junit, variant)


def read_junit(fault: str | None, junit: Path, variant: str | None = None) -> MatrixRow:
    """One run's row: the tests that failed, those that passed with a warning, the passes."""
    failed, warned, passed = [], [], 0
    for case in ET.parse(junit).getroot().iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed.append(case.get("name", "?"))
        elif case.find("skipped") is None:
            passed += 1
            if any(p.get("name") == WARNING_PROPERTY for p in case.iter("property")):
                warned.append(case.get("name", "?"))
    return MatrixRow(
        fault, tuple(sorted(failed)), passed, warned=tuple(sorted(warned)), variant=variant
    )


def run_matrix(
    faults: Sequence[str],
    workers: int = 2,
    progress: TextIO | None = None,
    variants: Sequence[str] = (),
) -> list[MatrixRow]:
    """The conformant run first in the list, then one row per fault, in ``faults`` order, then
    one row per variant, in ``variants`` order.

    With ``progress``, one short line per finished run (count, verdict, time left), so a
    six-minute matrix is never silent.
    """
    runs: list[tuple[str | None, str | None]] = [(None, None)]
    runs += [(fault, None) for fault in faults] + [(None, variant) for variant in variants]
    rows: dict[tuple[str | None, str | None], MatrixRow] = {}
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="stet-selftest-") as tmp,
        ThreadPoolExecutor(max_workers=workers) as pool,
    ):
        futures = [pool.submit(_run_one, fault, Path(tmp), variant) for fault, variant in runs]
        for done, future in enumerate(as_completed(futures), 1):
            row = future.result()
            rows[row.fault, row.variant] = row
            if progress is not None:
                elapsed = time.monotonic() - started
                left = elapsed / done * (len(runs) - done)
                progress.write(f"[{done}/{len(runs)}] {_verdict(row)}  ({_duration(left)} left)\n")
                progress.flush()
    return [rows[run] for run in runs]


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 90 else f"{seconds:.0f} s"


def _catchers(failed: Sequence[str]) -> str:
    shown = ", ".join(failed[:SHOWN_CATCHERS])
    more = len(failed) - SHOWN_CATCHERS
    return f"{shown} (+{more} more)" if more > 0 else shown


def _verdict(row: MatrixRow) -> str:
    """One short line for a finished run."""
    if row.variant is not None:
        return f"variant {row.variant}: {_variant_result(row)}"
    if row.fault is None:
        return f"conformant sandbox: {'ok' if _green(row) else 'FAILED'}"
    if row.error:
        return f"{row.fault}: ERROR {row.error}"
    if row.caught is None:
        return f"{row.fault}: NOT DETECTED"
    return f"{row.fault}: caught by {row.caught}"


def _green(conformant: MatrixRow) -> bool:
    """The conformant sandbox follows every recommendation too: a warning there would hide the
    faults that only warnings reveal."""
    return conformant.error is None and not conformant.failed and not conformant.warned


def _variant_result(row: MatrixRow) -> str:
    if row.error:
        return f"ERROR {row.error}"
    if row.failed:
        return f"FAILED {_catchers(row.failed)}"
    return f"ok ({row.passed} passed)"


def _print_variants(variants: Sequence[MatrixRow], out: TextIO) -> bool:
    """The variants' table, ending with the summary line; True when every variant passed."""
    width = max([len(r.variant or "") for r in variants] + [7])
    out.write(f"\n{'variant':{width}}  result (certification mode)\n")
    for row in variants:
        out.write(f"{row.variant:{width}}  {_variant_result(row)}\n")
    passed = sum(1 for row in variants if not row.failed and not row.error)
    out.write(f"\nlegitimate variants passed: {passed}/{len(variants)}\n")
    return passed == len(variants)


def print_matrix(rows: Sequence[MatrixRow], out: TextIO) -> bool:
    """Print the tables and the summary lines, the variants' last; True when the harness
    passes its self-test (every fault detected, every variant passed)."""
    variants = [row for row in rows if row.variant is not None]
    conformant, faulty = rows[0], [row for row in rows[1:] if row.variant is None]
    ok = _green(conformant)
    why = conformant.failed or tuple(f"{name} (warning)" for name in conformant.warned)
    verdict = "ok" if ok else f"FAILED {', '.join(why) or conformant.error}"
    out.write(f"conformant sandbox: {conformant.passed} scenarios passed, {verdict}\n\n")
    width = max([len(r.fault or "") for r in faulty] + [5])
    out.write(f"{'fault':{width}}  caught by\n")
    detected = 0
    for row in faulty:
        if row.error:
            caught = f"ERROR {row.error}"
        elif row.caught is not None:
            detected += 1
            caught = row.caught
        else:
            caught = "NOT DETECTED"
        out.write(f"{row.fault:{width}}  {caught}\n")
    out.write(f"\nfaults detected: {detected}/{len(faulty)}\n")
    legitimate = _print_variants(variants, out)
    return ok and detected == len(faulty) and legitimate
