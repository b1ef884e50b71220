"""The bundled sandbox's reset: every run against it starts from the state it started with.

A long-running sandbox (``stet-conformance sandbox``) keeps what earlier runs changed: PIS-1 and
PIS-2 would get 409 for the payment requests a first run confirmed. Its profile declares
``sandbox.reset_path``; the plugin POSTs the run's id to that path at ``base_url`` once, when it
creates the run context, before the first scenario. The scenarios never call it, so they need
nothing a bank lacks; a bank's profile has no reset_path and nothing is sent. The xdist workers
of one run send the same id (xdist's testrunuid) and the sandbox resets only for a new one, so a
worker starting late cannot undo what another one has done. A dry run sends nothing.
"""

from __future__ import annotations

import json
import uuid

import pytest

from stet_conformance.errors import TargetError
from stet_conformance.http.signing import RequestOptions
from stet_conformance.scenario.runner import RunContext


def run_id(config: pytest.Config) -> str:
    """The id shared by every process of this run: xdist's testrunuid, else a fresh one."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        return str(workerinput["testrunuid"])
    return uuid.uuid4().hex


def reset_target(config: pytest.Config, run: RunContext) -> None:
    """POST ``sandbox.reset_path`` once for this run; anything but 204 leaves the run broken."""
    path = run.profile.sandbox_reset_path
    if path is None or config.getoption("--stet-dry-run"):
        return
    exchange = run.client.send(
        "POST",
        path,
        headers={"Content-Type": "application/json"},
        content=json.dumps({"run": run_id(config)}).encode("utf-8"),
        options=RequestOptions(token=None),
    )
    if exchange.status != 204:
        raise TargetError(
            f"sandbox.reset_path {path} answered {exchange.status}, not 204: is the target the "
            "bundled sandbox? (a bank's profile has no sandbox.reset_path)"
        )
