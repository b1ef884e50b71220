"""Reading scenario files: JSON Schema validation and static checks, errors with file:line.

Static checks beyond the schema: a ``schema:`` name must exist in ``schemas/stet/``, a
``{{ saved.X }}`` must be saved by an earlier step, persona data must have the names the
fixture personas have (``scenario/references.py``), functions must exist and take their
arguments (within bounds), ``matches:`` must be a regular expression, ``replay: previous`` needs
an earlier step, ``skip_when`` and ``stop_when`` are not for cleanup steps, ``stop_when`` ends
the steps only on an allowed answer the step's ``recommend`` warns about, YAML aliases may not
expand a file past ``ALIAS_BUDGET`` values. Duplicate ids across files are caught by ``load_all``.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from stet_conformance.checks.expect import DECLARED_REFUSALS, KEYS, statuses
from stet_conformance.config.yamlload import Positions, load_yaml, validate
from stet_conformance.errors import ScenarioError, UsageError
from stet_conformance.scenario.model import Expect, Recommendation, Request, Scenario, Step
from stet_conformance.scenario.references import check_reference
from stet_conformance.scenario.templating import (
    CALL,
    FUNCTIONS,
    call,
    expressions,
    saved_names,
)
from stet_conformance.shared.resources import schemas_dir

# Values YAML aliases may add to a scenario file: plenty for shared headers, far from a bomb.
ALIAS_BUDGET = 10_000


@cache
def _scenario_schema() -> dict[str, Any]:
    result: dict[str, Any] = json.loads(
        (schemas_dir() / "scenario.schema.json").read_text(encoding="utf-8")
    )
    return result


@cache
def known_schemas() -> frozenset[str]:
    return frozenset(p.stem for p in (schemas_dir() / "stet").glob("*.json"))


def _step(raw: dict[str, Any], name: str, path: tuple[str | int, ...], pos: Positions) -> Step:
    return Step(
        name=raw.get("name", name),
        line=pos.line(path),
        persona=raw.get("persona"),
        scope=raw.get("scope"),
        request=Request.of(raw["request"]),
        expect=Expect.of(raw["expect"]),
        save=dict(raw.get("save") or {}),
        when=tuple((raw.get("when") or {}).items()),
        skip_when=raw.get("skip_when"),
        stop_when=raw.get("stop_when"),
        unless_rotated=bool(raw.get("unless_rotated", False)),
        recommend=Recommendation.of(raw["recommend"]) if "recommend" in raw else None,
    )


def _blocks(step: Step) -> dict[str, Expect]:
    """The step's expectations by key: ``expect`` and, if any, ``recommend``."""
    blocks = {"expect": step.expect}
    if step.recommend is not None:
        blocks["recommend"] = step.recommend.expect
    return blocks


def _check_step(
    step: Step, raw: dict[str, Any], saved: set[str], path: tuple[str | int, ...], pos: Positions
) -> None:
    """Static checks of one step; ``raw`` is its YAML mapping (to point at the line of a value)."""
    if step.request.client_cert != "qwac" and step.request.tpp == "other":
        raise ScenarioError(
            f"{pos.where([*path, 'request', 'client_cert'])}: client_cert sends without the QWAC "
            "and tpp: other with the second TPP's: give one of them"
        )
    if step.recommend is not None and not step.recommend.expect.given:
        raise ScenarioError(
            f"{pos.where([*path, 'recommend'])}: recommend: names no expectation besides "
            f"authority (give one of {', '.join(sorted(KEYS))})"
        )
    for block, expect in _blocks(step).items():
        for expression in set(expect.status_expressions) - DECLARED_REFUSALS:
            raise ScenarioError(
                f"{pos.where([*path, block, 'status'])}: status: {expression} is not a declared "
                f"refusal (allowed: {', '.join(sorted(DECLARED_REFUSALS))})"
            )
        if expect.schema is not None and expect.schema not in known_schemas():
            where = pos.where([*path, block, "schema"])
            raise ScenarioError(
                f"{where}: unknown schema {expect.schema!r} "
                f"(known: {', '.join(sorted(known_schemas()))})"
            )
    templates = [*step.request.templates(), list(step.save.values())]
    for expect in _blocks(step).values():
        templates += expect.templates()
    for expression in expressions(templates):
        found = CALL.fullmatch(expression)
        if found is not None:
            _check_call(found.group(1), found.group(2), pos.where(path))
        elif (problem := check_reference(expression)) is not None:
            where = _where_used(raw, expression, path, pos)
            raise ScenarioError(f"{where}: {{{{ {expression} }}}}: {problem}")
        for name in saved_names(expression):
            if name not in saved:
                raise ScenarioError(
                    f"{pos.where(path)}: {{{{ {expression} }}}} is used before any step saves "
                    f"{name!r}"
                )
    _check_patterns(step, path, pos)
    _check_stop(step, path, pos)


def _check_stop(step: Step, path: tuple[str | int, ...], pos: Positions) -> None:
    """``stop_when`` codes are allowed by ``expect`` and not recommended: ending the steps
    early is never silent, the recommendation's warning says why."""
    if step.stop_when is None:
        return
    codes = set(statuses(step.stop_when["status"]))
    where = pos.where([*path, "stop_when"])
    if not codes <= set(step.expect.status):
        raise ScenarioError(f"{where}: stop_when: status must be among expect's status codes")
    recommended = step.recommend.expect if step.recommend is not None else None
    if recommended is None or "status" not in recommended.given or codes & set(recommended.status):
        raise ScenarioError(
            f"{where}: stop_when needs a recommend: with a status that leaves out its codes "
            "(an early end is a warning)"
        )


def _where_used(
    raw: dict[str, Any], expression: str, path: tuple[str | int, ...], pos: Positions
) -> str:
    """file:line of the first request or expect value of the step that uses ``expression``."""
    for key in ("request", "expect", "recommend"):
        for at, text in _strings(raw.get(key), (*path, key)):
            if expression in expressions(text):
                return pos.where(at)
    return pos.where(path)


def _strings(
    value: Any, path: tuple[str | int, ...]
) -> Iterable[tuple[tuple[str | int, ...], str]]:
    """Every string in ``value`` (keys included) with its key path."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key, (*path, key))
            yield from _strings(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, index))
    elif isinstance(value, str):
        yield path, value


def _check_call(name: str, arguments: str, where: str) -> None:
    """A function call with a bad name, argument or bound fails here, not after a request."""
    if name not in FUNCTIONS:
        raise ScenarioError(f"{where}: unknown function {name}()")
    try:
        call(name, arguments)
    except ScenarioError as exc:
        raise ScenarioError(f"{where}: {exc}") from None


def _check_patterns(step: Step, path: tuple[str | int, ...], pos: Positions) -> None:
    """Every literal ``matches:`` of the step's data assertions is a regular expression."""
    for block, expect in _blocks(step).items():
        for index, assertion in enumerate(expect.data):
            pattern = assertion.get("matches")
            if not isinstance(pattern, str) or "{{" in pattern:
                continue
            try:
                re.compile(pattern)
            except re.error as exc:
                where = pos.where([*path, block, "data", index, "matches"])
                raise ScenarioError(f"{where}: matches: not a regular expression ({exc})") from None


def _check_cleanup(
    cleanup: tuple[Step, ...], paths: list[tuple[str | int, ...]], pos: Positions
) -> None:
    """Cleanup always runs to the end: it cannot skip the scenario it restores after."""
    for step, path in zip(cleanup, paths, strict=True):
        for key in ("skip_when", "stop_when"):
            if getattr(step, key) is not None:
                raise ScenarioError(
                    f"{pos.where([*path, key])}: {key} is not allowed in cleanup steps"
                )


Steps = tuple[Step, ...]
Path_ = tuple[str | int, ...]  # a key path in the YAML document


def _read_steps(
    raw: dict[str, Any], base: Path_, positions: Positions
) -> tuple[Steps, Steps, list[dict[str, Any]], list[Path_]]:
    """Steps and cleanup steps of one scenario, with their YAML mappings and paths (same order)."""
    if "steps" in raw:
        steps = tuple(
            _step(s, f"step {i + 1}", (*base, "steps", i), positions)
            for i, s in enumerate(raw["steps"])
        )
        paths: list[Path_] = [(*base, "steps", i) for i in range(len(steps))]
        raws = list(raw["steps"])
    else:
        steps = (_step(raw, "request", (*base, "request"), positions),)
        paths, raws = [base], [raw]
    cleanup = tuple(
        _step(s, f"cleanup {i + 1}", (*base, "cleanup", i), positions)
        for i, s in enumerate(raw.get("cleanup") or [])
    )
    paths += [(*base, "cleanup", i) for i in range(len(cleanup))]
    return steps, cleanup, raws + list(raw.get("cleanup") or []), paths


def load_file(path: Path) -> list[Scenario]:
    try:
        data, positions = load_yaml(path, "scenario file", alias_budget=ALIAS_BUDGET)
    except UsageError as exc:
        raise ScenarioError(str(exc)) from None
    if data is None:
        return []
    try:
        validate(data, _scenario_schema(), positions)
    except UsageError as exc:
        raise ScenarioError(str(exc)) from None
    scenarios = []
    for index, raw in enumerate(data):
        base: tuple[str | int, ...] = (index,)
        steps, cleanup, raw_steps, step_paths = _read_steps(raw, base, positions)
        _check_cleanup(cleanup, step_paths[len(steps) :], positions)
        if steps[0].request.replay:
            where = positions.where([*step_paths[0], "request", "replay"])
            raise ScenarioError(f"{where}: replay: previous needs an earlier step to replay")
        saved: set[str] = set()
        for step, raw_step, step_path in zip(
            (*steps, *cleanup), raw_steps, step_paths, strict=True
        ):
            _check_step(step, raw_step, saved, step_path, positions)
            saved.update(step.save)
        defaults = {"persona": raw.get("persona"), "scope": raw.get("scope", "aisp")}
        scenarios.append(
            Scenario(
                id=raw["id"],
                title=raw["title"],
                file=path,
                line=positions.line(base),
                steps=tuple(_inherit(s, defaults) for s in steps),
                cleanup=tuple(_inherit(s, defaults) for s in cleanup),
                description=raw.get("description", ""),
                seed=raw.get("seed", ""),
                stet=raw.get("stet", ""),
                area=raw.get("area", "AIS"),
                endpoint=raw.get("endpoint", ""),
                covers=tuple(raw.get("covers") or ()),
                shares=raw.get("shares"),
                severity=raw.get("severity", "normal"),
                tags=tuple(raw.get("tags") or ()),
                when=tuple((raw.get("when") or {}).items()),
            )
        )
    return scenarios


def _inherit(step: Step, defaults: dict[str, Any]) -> Step:
    return dataclasses.replace(
        step,
        persona=step.persona or defaults["persona"],
        scope=step.scope or defaults["scope"],
    )


def load_all(files: Iterable[Path]) -> list[Scenario]:
    """Load several files; a scenario id used twice is an error naming both places."""
    seen: dict[str, Scenario] = {}
    result = []
    for path in files:
        for scenario in load_file(path):
            if scenario.id in seen:
                raise ScenarioError(
                    f"{scenario.location}: duplicate scenario id {scenario.id} "
                    f"(first defined at {seen[scenario.id].location})"
                )
            seen[scenario.id] = scenario
            result.append(scenario)
    return result
