"""Running one scenario against a target: render, send, check, capture, clean up.

The runner knows nothing about pytest: it returns ``StepResult`` records and raises
``ScenarioSkipped`` when the profile lacks what the scenario needs (a persona's token, or state an
earlier run used up: ``skip_when``), so the same engine can back the pytest plugin, the self-test
and future reporters.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from stet_conformance.checks import CheckContext, Failure, run_checks
from stet_conformance.checks.paths import MISSING, PathSyntaxError, resolve
from stet_conformance.checks.schemas import SchemaStore
from stet_conformance.config.live import UndeclaredOrigin
from stet_conformance.config.profile import Override, Profile
from stet_conformance.config.secret_repr import SecretHolder
from stet_conformance.errors import ScenarioError
from stet_conformance.http.budget import BudgetExhausted, Charge, RequestBudget
from stet_conformance.http.client import Exchange, StetClient
from stet_conformance.http.redact import Redactor
from stet_conformance.http.signing import RequestOptions
from stet_conformance.scenario.model import Scenario, Step
from stet_conformance.scenario.templating import UnknownVariable, lookup, render


class ScenarioSkipped(Exception):
    """The target profile does not provide what this scenario needs."""


@dataclass
class StepResult:
    step: Step
    exchange: Exchange | None
    failures: list[Failure] = field(default_factory=list)
    override: Override | None = None
    cleanup: bool = False


@dataclass(repr=False)
class RunContext(SecretHolder):
    """Everything a run shares: the profile, one client, compiled schemas, the request budget."""

    profile: Profile
    client: StetClient
    schemas: SchemaStore
    budget: RequestBudget | None = None

    def __repr__(self) -> str:  # suites get it as a fixture: Hypothesis prints it
        return f"<RunContext {self.profile!r}>"


LIVE_BUDGET = {"requests": 1000, "per_persona": 300, "unattended": 4}


def budget_for(profile: Profile) -> RequestBudget | None:
    """The profile's budget; live targets get ``LIVE_BUDGET`` unless the profile sets one."""
    limits = profile.limits.budget or (LIVE_BUDGET if profile.environment == "live" else None)
    if limits is None:
        return None
    return RequestBudget(
        per_run=limits.get("requests", LIVE_BUDGET["requests"]),
        per_persona=limits.get("per_persona", LIVE_BUDGET["per_persona"]),
        unattended_per_persona=limits.get("unattended", LIVE_BUDGET["unattended"]),
        hint="budget.requests, budget.per_persona, budget.unattended in the target profile",
    )


Listener = Callable[[StepResult], None]


def override_for(scenario: Scenario, profile: Profile) -> Override | None:
    return profile.overrides.get(scenario.id)


def _applies(override: Override | None, step: Step, index: int, last: int) -> bool:
    if override is None or not override.expect:
        return False
    if override.step is None:
        return index == last
    if isinstance(override.step, int):
        return index == override.step - 1
    return override.step == step.name


def _token(step: Step, profile: Profile, kind: str) -> str | None:
    if kind == "none":
        return None
    if kind == "unknown":
        return f"unknown-{uuid.uuid4().hex}"
    persona, scope = step.persona, step.scope or "aisp"
    if persona is None:
        raise ScenarioError(f"{step.name}: a request with a token needs a persona")
    creds = profile.credentials.get(persona)
    table = {"valid": "tokens", "expired": "expired_tokens"}[kind]
    value = getattr(creds, table).get(scope) if creds else None
    if not value:
        raise ScenarioSkipped(
            f"the profile has no {table[:-1].replace('_', ' ')} for "
            f"{persona}/{scope} (personas.{persona}.{table}.{scope})"
        )
    return str(value)


def _context(profile: Profile, step: Step, saved: dict[str, Any]) -> dict[str, Any]:
    context: dict[str, Any] = dict(profile.variables)
    context.update(profile.personas)
    if step.persona:
        context["persona"] = profile.personas.get(step.persona, {})
    context["saved"] = saved
    target = {
        "name": profile.name,
        "base_url": profile.base_url,
        "api_prefix": profile.api_prefix,
        "key_id": profile.signing.key_id,
        "client_id": profile.oauth.client_id,
        "token_url": profile.oauth.token_url,
        "authorize_url": profile.oauth.authorize_url,
        "revoke_url": profile.oauth.revoke_url,
        "other_client_id": profile.other_tpp.client_id if profile.other_tpp else None,
        "rotates_refresh_token": profile.oauth.rotates_refresh_token,
        "replay_protection": profile.replay_protection,
    }
    # An unset setting is absent, so a scenario using it is skipped ("does not set target.X").
    context["target"] = {k: v for k, v in target.items() if v is not None}
    context["credentials"] = {
        name: {"tokens": c.tokens, "refresh_tokens": c.refresh_tokens}
        for name, c in profile.credentials.items()
    }
    return context


REPLAY_PREVIOUS = "previous"


def _replay(step: Step, previous: Exchange | None, run: RunContext) -> Exchange:
    """``request: {replay: previous}``: the previous exchange's request, sent again as it is."""
    if previous is None:
        raise ScenarioError(f"{step.name}: replay: previous, but no request was sent before it")
    sent = previous.request
    unattended = "psu-ip-address" not in sent.headers
    charge = _charge(run, step, unattended, f"{sent.method} {sent.url.path}")
    with _refusals(step):
        return run.client.resend(sent, charge)


def _charge(run: RunContext, step: Step, unattended: bool, endpoint: str) -> Charge | None:
    """What a step's request costs: one request of its persona (unattended: per endpoint)."""
    if run.budget is None:
        return None
    persona = step.persona or "-"
    return Charge(run.budget, persona, unattended, f"{persona} {endpoint}")


@contextmanager
def _refusals(step: Step) -> Iterator[None]:
    """What the client refused to send: a skip (budget, dry run) or a usage error (origin)."""
    try:
        yield
    except BudgetExhausted as exc:
        raise ScenarioSkipped(str(exc)) from None
    except UndeclaredOrigin as exc:
        raise ScenarioError(f"step {step.name!r} (line {step.line}): {exc}") from None


def _send(
    step: Step, request: dict[str, Any], run: RunContext, previous: Exchange | None = None
) -> Exchange:
    if request.get("replay") == REPLAY_PREVIOUS:
        return _replay(step, previous, run)
    profile = run.profile
    headers = {str(k): str(v) for k, v in (request.get("headers") or {}).items()}
    content: bytes | None = None
    if "json" in request:
        content = json.dumps(request["json"]).encode("utf-8")
        headers.setdefault("Content-Type", "application/json")
    elif "form" in request:
        content = urlencode({k: str(v) for k, v in request["form"].items()}).encode("ascii")
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    elif "body" in request:
        content = str(request["body"]).encode("utf-8")
    if "bearer" in request:
        token: str | None = str(request["bearer"])
        run.client.redactor.add(str(token))
    else:
        token = _token(step, profile, request.get("token", "valid"))
    options = RequestOptions(
        token=token,
        sign=request.get("sign", True),
        digest=request.get("digest", True),
        request_id=request.get("request_id", True),
        psu_ip_address=request.get("psu_ip_address", True),
    )
    query = {str(k): str(v) for k, v in (request.get("query") or {}).items()}
    unattended = not (options.psu_ip_address and profile.psu_ip_address)
    charge = _charge(run, step, unattended, f"{request['method']} {request.get('path', '')}")
    url = request.get("url") or profile.api_prefix + request["path"]
    with ExitStack() as stack, _refusals(step):
        other = request.get("tpp", "own") == "other"
        client = stack.enter_context(_other_tpp_client(run)) if other else run.client
        return client.send(
            request["method"],
            url,
            params=query or None,
            headers=headers,
            content=content,
            options=options,
            charge=charge,
        )


@contextmanager
def _other_tpp_client(run: RunContext) -> Iterator[StetClient]:
    """A short-lived client presenting the second TPP's QWAC (request ``tpp: other``)."""
    other = run.profile.other_tpp
    if other is None:
        raise ScenarioSkipped(
            "the profile has no second TPP certificate (tls.other_client_cert, "
            "tls.other_client_key)"
        )
    client = run.client.with_tls(other.tls)
    try:
        yield client
    finally:
        client.close()


_SECRET_NAMES = ("token", "code", "secret", "password", "assertion")


def _capture_one(exchange: Exchange, path: str) -> list[Any]:
    """The values a capture path yields: ``header:NAME[?PARAM]`` or a body path."""
    if not path.startswith("header:"):
        return [v for v in resolve(exchange.body, path) if v is not MISSING]
    name, _, param = path[len("header:") :].partition("?")
    value = exchange.response.headers.get(name.strip())
    if value is None or not param:
        return [] if value is None else [value]
    return parse_qs(urlsplit(value).query).get(param, [])[:1]


def _register_secrets(step: Step, exchange: Exchange, redactor: Redactor) -> None:
    """Captures named like secrets are redacted as soon as the response is read, before any
    check: a failing step prints its exchange (a code or a JWT in ``Location``) too."""
    for name, path in step.save.items():
        if not any(s in name.lower() for s in _SECRET_NAMES):
            continue
        try:
            values = _capture_one(exchange, path)
        except (ValueError, PathSyntaxError):
            continue  # the capture itself reports it, if the checks pass
        if values:
            redactor.add(str(values[0]))


def _capture(step: Step, exchange: Exchange, saved: dict[str, Any]) -> list[Failure]:
    failures = []
    for name, path in step.save.items():
        try:
            values = _capture_one(exchange, path)
        except (ValueError, PathSyntaxError) as exc:
            failures.append(Failure("save", f"cannot save {name!r} from {path}: {exc}"))
            continue
        if not values:
            failures.append(Failure("save", f"cannot save {name!r}: nothing at {path}"))
        else:
            saved[name] = values[0]
    return failures


def _run_step(
    step: Step,
    run: RunContext,
    saved: dict[str, Any],
    override: Override | None,
    applies: bool,
    previous: Exchange | None = None,
) -> StepResult:
    context = _context(run.profile, step, saved)
    try:
        request = render(step.request, context)
        expect = render(step.expect, context)
    except UnknownVariable as exc:
        if str(exc.args[0]).startswith("credentials."):
            raise ScenarioSkipped(f"the profile does not provide {exc.args[0]}") from None
        if str(exc.args[0]).startswith("target."):
            raise ScenarioSkipped(f"the profile does not set {exc.args[0]}") from None
        raise ScenarioError(
            f"{step.name}: unknown variable {exc.args[0]!r} (not in fixtures, profile vars or "
            "saved values)"
        ) from None
    if applies and override is not None:
        expect = {**expect, **render(override.expect, context)}
    exchange = _send(step, request, run, previous)
    _register_secrets(step, exchange, run.client.redactor)
    failures = run_checks(CheckContext(exchange, expect, run.schemas))
    if not failures:
        failures = _capture(step, exchange, saved)
    return StepResult(step, exchange, failures, override if applies else None)


class _Placeholders(dict[str, Any]):
    """Saved values in a dry run: every name exists and reads as ``<saved.NAME>``."""

    def __contains__(self, key: object) -> bool:
        return True

    def __getitem__(self, key: str) -> str:
        return f"<saved.{key}>"


def plan_scenario(scenario: Scenario, profile: Profile) -> list[str]:
    """The requests a scenario would send, one line each, without sending anything."""
    lines = []
    for step in (*scenario.steps, *scenario.cleanup):
        try:
            request = render(step.request, _context(profile, step, _Placeholders()))
        except UnknownVariable as exc:
            lines.append(f"{scenario.id} [{step.name}] (would be skipped: no {exc.args[0]})")
            continue
        if request.get("replay") == REPLAY_PREVIOUS:
            lines.append(
                f"{scenario.id} [{step.name}] the previous request again, byte for byte "
                "(same X-Request-ID, Digest and Signature)"
            )
            continue
        url = request.get("url") or profile.base_url + profile.api_prefix + request["path"]
        query = "&".join(f"{k}={v}" for k, v in (request.get("query") or {}).items())
        token = request.get("token", "valid")
        who = f"{step.persona}/{step.scope}" if token != "none" else "no token"
        if "bearer" in request:
            who, token = f"bearer {request['bearer']}", "none"
        if request.get("tpp") == "other":
            who += ", other TPP's QWAC"
        body = next((k for k in ("json", "form", "body") if k in request), None)
        lines.append(
            f"{scenario.id} [{step.name}] {request['method']} {url}{'?' + query if query else ''}"
            f"  ({who}{', ' + token + ' token' if token not in ('valid', 'none') else ''}"
            f"{', ' + body + ' body' if body else ''})"
        )
    return lines


def _unmet(when: tuple[tuple[str, Any], ...], profile: Profile) -> str | None:
    """Why ``when`` conditions are not met by the profile, or ``None`` when they are."""
    if not when:
        return None
    context = _context(profile, Step("when", 0, None, None, {}, {}), {})
    for name, wanted in when:
        try:
            actual = lookup(context, name)
        except UnknownVariable:
            actual = None
        if actual != wanted:
            return (
                f"runs only when {name} is {json.dumps(wanted)} (the profile gives "
                f"{json.dumps(actual)})"
            )
    return None


def _check_when(scenario: Scenario, profile: Profile) -> None:
    """Skip a scenario whose ``when`` conditions the profile does not meet."""
    reason = _unmet(scenario.when, profile)
    if reason is not None:
        raise ScenarioSkipped(reason)


def _used_up(result: StepResult, profile: Profile) -> str | None:
    """Why the scenario is skipped after this step (``skip_when``), or ``None``.

    At a bank, an answer such as 409 to a first confirmation means an earlier run consumed the
    payment request; the harness cannot renew it, so the scenario is skipped with the values to
    renew. A target the harness resets at each run's start (``sandbox.reset_path``: the bundled
    sandbox) has fresh state, so there the answer is checked as usual and a wrong 409 fails.
    """
    rule, exchange = result.step.skip_when, result.exchange
    if rule is None or exchange is None or profile.sandbox_reset_path is not None:
        return None
    statuses = rule["status"] if isinstance(rule["status"], list) else [rule["status"]]
    if exchange.status not in statuses:
        return None
    return f"step {result.step.name!r} answered {exchange.status}: {rule['reason']}"


def run_scenario(
    scenario: Scenario, run: RunContext, listener: Listener | None = None
) -> list[StepResult]:
    """Run the steps until one fails, then always the cleanup steps."""
    override = override_for(scenario, run.profile)
    if override is not None and override.skip:
        raise ScenarioSkipped(f"skipped by the target profile: {override.reason}")
    _check_when(scenario, run.profile)
    saved: dict[str, Any] = {}
    results: list[StepResult] = []
    last = len(scenario.steps) - 1

    def previous() -> Exchange | None:  # what ``replay: previous`` sends again
        return next((r.exchange for r in reversed(results) if r.exchange is not None), None)

    try:
        for index, step in enumerate(scenario.steps):
            if _unmet(step.when, run.profile) is not None:
                continue  # a step for another profile setting (step-level ``when``)
            applies = _applies(override, step, index, last)
            result = _run_step(step, run, saved, override, applies, previous())
            results.append(result)
            if listener:
                listener(result)
            reason = _used_up(result, run.profile)
            if reason is not None:
                raise ScenarioSkipped(reason)
            if result.failures:
                break
    finally:
        for step in scenario.cleanup:
            result = _run_step(step, run, saved, None, False, previous())
            result.cleanup = True
            results.append(result)
            if listener:
                listener(result)
    return results
