"""Allure labels, steps and attachments for scenarios (the only module that imports allure).

Labels: epic = STET area, feature = endpoint, story = seed id and title, severity, the
target's name; links to the STET section and the scenario's YAML source. One Allure step per HTTP
exchange with the request and response attached, secrets redacted. ``categories.json`` separates
bank defects from a broken target, a target state not restored and harness configuration errors.
A test with warnings (recommendations not met) passes, tagged ``warning``, with the warnings
attached. A run-wide text (the traceability matrix) is a global attachment, which Allure 3 reads
from ``*-globals.json`` (allure-pytest writes none).
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import allure
from allure_commons.model2 import Status, StatusDetails

from stet_conformance.http.redact import Redactor
from stet_conformance.scenario.model import Scenario
from stet_conformance.scenario.runner import StepResult
from stet_conformance.verdict import ALLURE_CATEGORIES, CheckFailed, recommendation

STET_URL = "https://www.stet.eu/en/psd2/"
WARNING_TAG = "warning"


def label_scenario(scenario: Scenario, target: str) -> None:
    allure.dynamic.title(f"{scenario.id}: {scenario.title}")
    allure.dynamic.epic(scenario.area)
    allure.dynamic.feature(scenario.endpoint or "other")
    allure.dynamic.story(f"{scenario.id} {scenario.title}")
    allure.dynamic.severity(getattr(allure.severity_level, scenario.severity.upper()))
    # Tags: allure-pytest already turns the item's marks (the scenario's tags) into tags.
    allure.dynamic.label("target", target)
    allure.dynamic.label("seed_id", scenario.id)
    description = "\n\n".join(
        part
        for part in (
            f"Portal (seed): {scenario.seed}" if scenario.seed else "",
            f"STET: {scenario.stet}" if scenario.stet else "",
            scenario.description,
            f"Source: {scenario.location}",
        )
        if part
    )
    allure.dynamic.description(description)
    if scenario.stet:
        allure.dynamic.link(STET_URL, name=f"STET: {scenario.stet}")


def record_step(result: StepResult, redactor: Redactor) -> None:
    """One Allure step per exchange, with the request and response attached (redacted)."""
    exchange = result.exchange
    prefix = "cleanup: " if result.cleanup else ""
    if exchange is None:
        if result.refused:  # client_cert: refused at the TLS layer, which the step tests
            title = f"{prefix}{result.step.name}: refused at the TLS layer ({result.refused})"
            with allure.step(redactor.text(title)):
                pass
        return
    title = (
        f"{prefix}{result.step.name}: {exchange.request.method} "
        f"{exchange.request.url.path} -> {exchange.status}"
    )
    try:
        with allure.step(redactor.text(title)):
            request_text, response_text = exchange.render_parts(redactor)
            allure.attach(request_text, "request", allure.attachment_type.TEXT)
            allure.attach(response_text, "response", allure.attachment_type.TEXT)
            if result.override is not None:
                override = (
                    f"Expectation overridden by the target profile: {result.override.reason}\n"
                    f"{json.dumps(result.override.expect, indent=2)}"
                )
                allure.attach(redactor.text(override), "override", allure.attachment_type.TEXT)
            if result.warnings:
                text = "\n".join(recommendation(str(w), w.authority) for w in result.warnings)
                allure.attach(redactor.text(text), "warnings", allure.attachment_type.TEXT)
            if result.failures:
                # raised inside the step so Allure shows it failed, caught right after
                raise CheckFailed(redactor.text("\n".join(str(f) for f in result.failures)))
    except CheckFailed:
        pass


def mark_warnings(warnings: list[str]) -> None:
    """A test with recommendations not met: the tag ``warning`` and the list, attached."""
    allure.dynamic.tag(WARNING_TAG)
    allure.attach("\n".join(warnings), "warnings", allure.attachment_type.TEXT)


INTERRUPTED = "interrupted (Ctrl-C) before it finished: no verdict"


def mark_interrupted(listener: Any) -> None:
    """Give the running test's Allure result the status 'unknown' and say it was interrupted.

    On Ctrl-C pytest makes no report of the test's call, so allure-pytest would write the
    'passed' its setup left. ``listener`` is allure-pytest's plugin (``None`` without Allure).
    """
    reporter = getattr(listener, "allure_logger", None)
    test = reporter.get_test(None) if reporter is not None else None
    if test is not None:
        test.status = Status.UNKNOWN
        test.statusDetails = StatusDetails(message=INTERRUPTED)


def write_environment(directory: Path, properties: dict[str, str]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    lines = [f"{key}={value}" for key, value in properties.items()]
    (directory / "environment.properties").write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_categories(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    text = json.dumps(ALLURE_CATEGORIES, indent=2)
    (directory / "categories.json").write_text(text, encoding="utf-8")


def write_global_attachment(directory: Path, name: str, text: str) -> None:
    """A text the report shows under "Global Attachments", not tied to a test."""
    directory.mkdir(parents=True, exist_ok=True)
    source = f"{uuid.uuid4()}-attachment.txt"
    (directory / source).write_text(text, encoding="utf-8")
    attachment = {
        "name": name,
        "source": source,
        "type": "text/plain",
        "timestamp": int(time.time() * 1000),
    }
    globals_file = directory / f"{uuid.uuid4()}-globals.json"
    globals_file.write_text(json.dumps({"attachments": [attachment]}), encoding="utf-8")
