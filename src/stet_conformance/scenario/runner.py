"""Running one scenario against a target: render, send, check, capture, clean up.

The runner knows nothing about pytest: it returns ``StepResult`` records and raises
``ScenarioSkipped`` when the profile lacks what the scenario needs (a persona's token, or state an
earlier run used up: ``skip_when``), so the same engine can back the pytest plugin, the self-test
and future reporters. ``stop_when`` ends the steps, with a warning, on an allowed answer that
leaves the later steps nothing to check.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import parse_qs, urlsplit

from stet_conformance.checks import CheckContext, Failure, run_checks
from stet_conformance.checks.expect import statuses
from stet_conformance.checks.paths import MISSING, PathSyntaxError, resolve
from stet_conformance.checks.schemas import SchemaStore
from stet_conformance.config.live import UndeclaredOrigin
from stet_conformance.config.persona_tokens import MissingToken, TokenTable, persona_token
from stet_conformance.config.profile import Override, Profile
from stet_conformance.config.run_tokens import (
    NoAuthorizationCode,
    NoDisposableToken,
    Refreshed,
    RunTokens,
    Worker,
)
from stet_conformance.config.secret_repr import SecretHolder
from stet_conformance.errors import ConfigError, ScenarioError, TargetError
from stet_conformance.http.bounded import TransportError, Unreachable
from stet_conformance.http.budget import BudgetExhausted, Charge, Ledger, RequestBudget
from stet_conformance.http.client import Exchange, StetClient
from stet_conformance.http.redact import Redactor
from stet_conformance.http.signing import RequestOptions
from stet_conformance.scenario.codes import placeholder_code, take_code
from stet_conformance.scenario.model import Expect, Recommendation, Request, Scenario, Step
from stet_conformance.scenario.templating import (
    CODES,
    DISPOSABLE,
    NotDeclared,
    UnknownVariable,
    lookup,
    render,
    saved_placeholder,
)
from stet_conformance.verdict import Level


class ScenarioSkipped(Exception):
    """The target profile does not provide what this scenario needs. ``cleanup``: what the
    cleanup steps found after the skip (a failed one: the target's state is not restored)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.cleanup: list[StepResult] = []


class RefusedAtTls(Exception):
    """A request sent without the QWAC (``client_cert``), or over another TPP's one to a step
    expecting a refusal, was refused below HTTP: what it tests."""


@dataclass
class StepResult:
    """What one step found: failures (MUSTs not met) and warnings (recommendations not met)."""

    step: Step
    exchange: Exchange | None
    failures: list[Failure] = field(default_factory=list)
    override: Override | None = None
    cleanup: bool = False
    warnings: list[Failure] = field(default_factory=list)
    refused: str = ""  # ``client_cert``: how the TLS layer refused it (a pass, no exchange)


@dataclass(repr=False)
class RunContext(SecretHolder):
    """Everything a run shares: the profile, one client, compiled schemas, the request budget
    (its counts in ``ledger``, which every process of the run shares), and the refresh tokens
    as scenarios rotate and consume them (this process is ``worker``)."""

    profile: Profile
    client: StetClient
    schemas: SchemaStore
    budget: RequestBudget | None = None
    worker: Worker = field(default_factory=Worker)
    ledger: Ledger = field(default_factory=Ledger)

    def __repr__(self) -> str:  # suites get it as a fixture: Hypothesis prints it
        return f"<RunContext {self.profile!r}>"

    @cached_property
    def tokens(self) -> RunTokens:
        """Shared with the run's other processes beside the budget ledger, when it is a file."""
        folder = self.ledger.path.parent if self.ledger.path is not None else None
        return RunTokens(self.profile, self.worker, folder and folder / "refresh-tokens.json")


Taker = Callable[[str, str], Any]


@dataclass
class Scene:
    """What one scenario run keeps between its steps: saved values, the personas' refresh
    tokens as it started (a rotation it causes shows in later scenarios), its takers of
    disposable refresh tokens and of authorization codes."""

    saved: dict[str, Any]
    refresh_tokens: dict[str, dict[str, str]]
    take: Taker
    take_code: Taker
    rotated: bool = False  # a refresh answered another refresh token (``unless_rotated``)


def _holding(take: Taker) -> Taker:
    """A taker that takes once per persona and scope in a scenario run, then holds it."""
    held: dict[tuple[str, str], Any] = {}

    def once(persona: str, scope: str) -> Any:
        if (persona, scope) not in held:
            held[persona, scope] = take(persona, scope)
        return held[persona, scope]

    return once


def _takers(run: RunContext) -> tuple[Taker, Taker]:
    """A scenario run's takers: disposable refresh tokens, then authorization codes."""
    return _holding(run.tokens.take_disposable), _holding(
        lambda persona, scope: take_code(run.tokens, run.client, run.profile, persona, scope)
    )


def _placeholder(persona: str, scope: str) -> str:
    """A dry run's disposable token: nothing is taken."""
    return f"<disposable refresh token {persona}/{scope}>"


LIVE_BUDGET = {"requests": 1000, "per_persona": 300, "unattended": 4}


def budget_for(profile: Profile, ledger: Ledger | None = None) -> RequestBudget | None:
    """The profile's budget, counted in ``ledger`` (the run's); live targets get
    ``LIVE_BUDGET`` unless the profile sets one."""
    limits = profile.limits.budget or (LIVE_BUDGET if profile.environment == "live" else None)
    if limits is None:
        return None
    return RequestBudget(
        per_run=limits.get("requests", LIVE_BUDGET["requests"]),
        per_persona=limits.get("per_persona", LIVE_BUDGET["per_persona"]),
        unattended_per_persona=limits.get("unattended", LIVE_BUDGET["unattended"]),
        hint="budget.requests, budget.per_persona, budget.unattended in the target profile",
        name="profile",
        ledger=ledger or Ledger(),
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
    if step.persona is None:
        raise ScenarioError(f"{step.name}: a request with a token needs a persona")
    table: TokenTable = "expired_tokens" if kind == "expired" else "tokens"
    try:
        return persona_token(profile, step.persona, step.scope or "aisp", table)
    except MissingToken as exc:
        raise ScenarioSkipped(str(exc)) from None


def _context(profile: Profile, persona: str | None, scene: Scene) -> dict[str, Any]:
    context: dict[str, Any] = dict(profile.variables)
    context.update(profile.personas.data)
    if persona:
        context["persona"] = profile.personas.data.get(persona, {})
    context["saved"] = scene.saved
    context[DISPOSABLE] = scene.take
    context[CODES] = scene.take_code
    target = {
        "name": profile.name,
        "base_url": profile.base_url,
        "api_prefix": profile.api_prefix,
        "key_id": profile.signing.key_id,
        "client_id": profile.oauth.client_id,
        "token_url": profile.oauth.token_url,
        "authorize_url": profile.oauth.authorize_url,
        "browserless_authorize_url": (
            profile.oauth.authorize_url if profile.browserless_authorize else None
        ),
        "revoke_url": profile.oauth.revoke_url,
        "other_client_id": profile.other_tpp.client_id if profile.other_tpp else None,
        "rotates_refresh_token": profile.oauth.rotates_refresh_token,
        "replay_protection": profile.choices.replay_protection,
        "imputation_timezone": profile.choices.imputation.timezone,
        "identity_available": profile.choices.identity_available,
        "transaction_statuses": list(profile.choices.transaction_statuses),
        "fallback_token_param": profile.choices.fallback_token_param,
        "signature_status": list(profile.choices.signature_status),
    }
    # An unset setting is absent, so a scenario using it is skipped ("does not set target.X").
    context["target"] = {k: v for k, v in target.items() if v is not None}
    context["credentials"] = {
        name: {"tokens": c.tokens, "refresh_tokens": scene.refresh_tokens.get(name, {})}
        for name, c in profile.personas.credentials.items()
    }
    return context


def _scene(profile: Profile, saved: dict[str, Any]) -> Scene:
    """A scene of the profile's tokens as loaded, taking nothing: dry runs, ``when``."""
    tokens = {name: dict(c.refresh_tokens) for name, c in profile.personas.credentials.items()}
    return Scene(saved, tokens, _placeholder, placeholder_code)


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


def _send(step: Step, request: Request, run: RunContext, previous: Exchange | None) -> Exchange:
    if request.replay:
        return _replay(step, previous, run)
    profile = run.profile
    headers = dict(request.headers)
    content: bytes | None = None
    if request.payload is not None:
        content, media_type = request.payload.encode()
        if media_type is not None:
            headers.setdefault("Content-Type", media_type)
    token: str | None = request.bearer
    if token is not None:
        run.client.redactor.add(token)
    else:
        token = _token(step, profile, request.token)
    options = RequestOptions(
        token=token,
        sign=request.sign,
        digest=request.digest,
        request_id=request.request_id,
        psu_ip_address=request.psu_ip_address,
    )
    unattended = not (options.psu_ip_address and profile.psu_ip_address)
    charge = _charge(run, step, unattended, f"{request.method} {request.path or ''}")
    url = request.url or profile.api_prefix + (request.path or "")
    with ExitStack() as stack, _refusals(step):
        client = stack.enter_context(_client_for(request, run))
        try:
            return client.send(
                request.method,
                url,
                params=dict(request.query) or None,
                headers=headers,
                content=content,
                options=options,
                charge=charge,
            )
        except TransportError as exc:
            # A handshake that fails is the refusal the step tests; a connection that cannot
            # be made at all (Unreachable) is not, and stops the run.
            if not _tls_refusal_tested(step, request) or isinstance(exc, Unreachable):
                raise
            if exc.kind not in ("connect", "reset"):
                raise
            raise RefusedAtTls(str(exc)) from None


def _tls_refusal_tested(step: Step, request: Request) -> bool:
    """A request without the QWAC, or over another TPP's QWAC to a step that expects a refusal
    (a bank may refuse a QWAC it did not enrol in the handshake): refusing it there passes."""
    if request.client_cert != "qwac":
        return True
    status = step.expect.status
    return request.tpp == "other" and bool(status) and all(code >= 400 for code in status)


@contextmanager
def _client_for(request: Request, run: RunContext) -> Iterator[StetClient]:
    """The run's client, or a short-lived one: the second TPP's QWAC (``tpp: other``), no
    client certificate or an untrusted one (``client_cert``)."""
    if request.client_cert != "qwac":
        client = run.client.without_qwac(request.client_cert)
    elif request.tpp == "other":
        other = run.profile.other_tpp
        if other is None:
            raise ScenarioSkipped(
                "the profile has no second TPP certificate (tls.other_client_cert, "
                "tls.other_client_key)"
            )
        client = run.client.with_tls(other.tls)
    else:
        yield run.client
        return
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


def _register_secrets(save: Mapping[str, str], exchange: Exchange, redactor: Redactor) -> None:
    """Captures named like secrets are redacted as soon as the response is read, before any
    check: a failing step prints its exchange (a code or a JWT in ``Location``) too."""
    for name, path in save.items():
        if not any(s in name.lower() for s in _SECRET_NAMES):
            continue
        try:
            values = _capture_one(exchange, path)
        except (ValueError, PathSyntaxError):
            continue  # the capture itself reports it, if the checks pass
        if values:
            redactor.add(str(values[0]))


def _capture(save: Mapping[str, str], exchange: Exchange, saved: dict[str, Any]) -> list[Failure]:
    failures = []
    for name, path in save.items():
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
    scene: Scene,
    override: Override | None,
    previous: Exchange | None = None,
) -> StepResult:
    """``override`` is the profile's change of this step's expectation, if any."""
    context = _context(run.profile, step.persona, scene)
    with _rendering(step):
        request = step.request.render(context)
        expect = _declared(step.expect, context).rendered(lambda value: render(value, context))
        if override is not None:
            expect = _overridden(expect, override, context)
        recommend = step.recommend.render(context) if step.recommend is not None else None
        save = {name: str(render(path, context)) for name, path in step.save.items()}
    try:
        exchange = _send(step, request, run, previous)
    except RefusedAtTls as exc:
        return StepResult(step, None, refused=str(exc))
    _register_secrets(save, exchange, run.client.redactor)
    found = run_checks(CheckContext(exchange, expect, run.schemas))
    if _follow_rotation(request, exchange, run.tokens):
        scene.rotated = True
        found += _undeclared_rotation(run.profile)
    failures = [f for f in found if f.level is Level.MUST]
    warnings = [f for f in found if f.level is not Level.MUST]
    if not failures:
        warnings += _recommended(recommend, CheckContext(exchange, expect, run.schemas))
        failures = _capture(save, exchange, scene.saved)
    return StepResult(step, exchange, failures, override, warnings=warnings)


def _follow_rotation(request: Request, exchange: Exchange, tokens: RunTokens) -> bool:
    """A refresh answered with another refresh token (a bank that rotates): if the token sent
    was a persona's, the run (and the token store) go on with the new one. Whether it did."""
    form = request.payload.value if request.payload and request.payload.kind == "form" else None
    if not isinstance(form, Mapping) or form.get("grant_type") != "refresh_token":
        return False
    if request.tpp != "own" or exchange.status != 200:
        return False
    try:
        body = exchange.body
    except ValueError:
        return False  # not JSON: the step's checks say so
    sent = form.get("refresh_token")
    if not isinstance(body, dict) or not isinstance(sent, str):
        return False
    new, access, expires = (body.get(k) for k in ("refresh_token", "access_token", "expires_in"))
    if not (isinstance(new, str) and new and new != sent and isinstance(access, str)):
        return False
    expires_in = float(expires) if isinstance(expires, int | float) else None
    tokens.rotated(sent, Refreshed(access, new, expires_in))
    return True


def _undeclared_rotation(profile: Profile) -> list[Failure]:
    """A rotation the profile does not declare: allowed (RFC 6749 6), but then no scenario
    checks that the old refresh token is refused, so the bank is told to declare it."""
    if profile.oauth.rotates_refresh_token:
        return []
    message = (
        "the refresh answered another refresh token, but the profile declares "
        "oauth.rotates_refresh_token: false: declare true, so that OAU-REFRESH-ROTATION checks "
        "the previous one is refused"
    )
    authority = (
        "RFC 6749 6: the server MAY issue a new refresh token and revoke the previous one; "
        "portal, Refresh your token: a new refresh token that can replace the previous one"
    )
    return [Failure("rotation", message, Level.RECOMMENDATION, authority)]


def _recommended(recommend: Recommendation | None, must: CheckContext) -> list[Failure]:
    """The recommendation's checks, on the step's expectation with its keys replaced."""
    if recommend is None:
        return []
    wanted = dataclasses.replace(must, expect=must.expect.merged(recommend.expect))
    return [
        dataclasses.replace(f, level=Level.RECOMMENDATION, authority=recommend.authority)
        for f in run_checks(wanted, keys=recommend.expect.given)
    ]


# Why a scenario needs a target setting, when its absence alone would not say it.
_NEEDS = {
    "target.browserless_authorize_url": (
        "the authorize endpoint is the PSU's login page in a browser at a bank: stet-conformance "
        "login goes through it (and checks the redirect's state); here only an authorize that "
        "redirects without a browser is tested (the bundled sandbox: "
        "sandbox.authorize_without_browser)"
    ),
}


@contextmanager
def _rendering(step: Step) -> Iterator[None]:
    """A variable the profile does not provide skips the scenario; an unknown one is an error."""
    try:
        yield
    except (NoDisposableToken, NoAuthorizationCode, NotDeclared) as exc:
        raise ScenarioSkipped(str(exc)) from None
    except UnknownVariable as exc:
        name = str(exc.args[0])
        if name.startswith("credentials."):
            raise ScenarioSkipped(f"the profile does not provide {name}") from None
        if name in _NEEDS:
            raise ScenarioSkipped(_NEEDS[name]) from None
        if name.startswith("target."):
            raise ScenarioSkipped(f"the profile does not set {name}") from None
        raise ScenarioError(
            f"{step.name}: unknown variable {name!r} (not in fixtures, profile vars or "
            "saved values)"
        ) from None


def _declared(expect: Expect, context: dict[str, Any]) -> Expect:
    """Without the assertions marked ``if_declared`` whose variables the profile does not
    declare: a value a bank need not give (a payment request's amount) is checked where given."""
    kept = []
    for assertion in expect.data:
        if assertion.get("if_declared"):
            try:
                render(dict(assertion), context)
            except UnknownVariable:
                continue
        kept.append(assertion)
    return dataclasses.replace(expect, data=tuple(kept))


def _overridden(expect: Expect, override: Override, context: dict[str, Any]) -> Expect:
    """The step's expectation with the keys the profile's override replaces."""
    try:
        return expect.merged(Expect.of(render(override.expect, context)))
    except ValueError as exc:
        raise ConfigError(f"overrides.{override.scenario_id}.expect: {exc}") from None


class _Placeholders(dict[str, Any]):
    """Saved values in a dry run: every name exists and reads as ``<saved.NAME>``."""

    def __contains__(self, key: object) -> bool:
        return True

    def __getitem__(self, key: str) -> str:
        return saved_placeholder(key)


def plan_scenario(scenario: Scenario, profile: Profile) -> list[str]:
    """The requests a scenario would send, one line each, without sending anything."""
    lines = []
    scene = _scene(profile, _Placeholders())
    for step in (*scenario.steps, *scenario.cleanup):
        if _unmet(step.when, profile) is not None:
            continue  # a step for another profile setting: never sent
        try:
            request = step.request.render(_context(profile, step.persona, scene))
        except UnknownVariable as exc:
            lines.append(f"{scenario.id} [{step.name}] (would be skipped: no {exc.args[0]})")
            continue
        except NotDeclared as exc:
            lines.append(f"{scenario.id} [{step.name}] (would be skipped: {exc})")
            continue
        lines.append(f"{scenario.id} [{step.name}] {_planned(step, request, profile)}")
    return lines


def _planned(step: Step, request: Request, profile: Profile) -> str:
    """What one rendered request would be: method, URL, whose token, the body's kind."""
    if request.replay:
        return "the previous request again, byte for byte (same X-Request-ID, Digest and Signature)"
    url = request.url or profile.base_url + profile.api_prefix + (request.path or "")
    query = "&".join(f"{k}={v}" for k, v in request.query.items())
    token: str = request.token
    who = f"{step.persona}/{step.scope}" if token != "none" else "no token"
    if request.bearer is not None:
        who, token = f"bearer {request.bearer}", "none"
    if request.tpp == "other":
        who += ", other TPP's QWAC"
    if request.client_cert != "qwac":
        who += f", {_NO_QWAC[request.client_cert]}"
    body = request.payload.kind if request.payload is not None else None
    return (
        f"{request.method} {url}{'?' + query if query else ''}"
        f"  ({who}{', ' + token + ' token' if token not in ('valid', 'none') else ''}"
        f"{', ' + body + ' body' if body else ''})"
    )


_NO_QWAC = {"none": "no client certificate", "untrusted": "an untrusted client certificate"}


def _unmet(when: tuple[tuple[str, Any], ...], profile: Profile) -> str | None:
    """Why ``when`` conditions are not met by the profile, or ``None`` when they are."""
    if not when:
        return None
    context = _context(profile, None, _scene(profile, {}))
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
    if exchange.status not in statuses(rule["status"]):
        return None
    return f"step {result.step.name!r} answered {exchange.status}: {rule['reason']}"


def _stopped(result: StepResult) -> bool:
    """Whether the step's answer ends the steps (``stop_when``): allowed, not recommended, and
    leaving the later steps nothing to check. The reason joins the step's warnings."""
    rule, exchange = result.step.stop_when, result.exchange
    if rule is None or exchange is None or result.failures:
        return False
    if exchange.status not in statuses(rule["status"]):
        return False
    authority = result.step.recommend.authority if result.step.recommend is not None else ""
    note = f"the later steps were not run: {rule['reason']}"
    result.warnings.append(Failure("stop_when", note, Level.RECOMMENDATION, authority))
    return True


def run_scenario(
    scenario: Scenario, run: RunContext, listener: Listener | None = None
) -> list[StepResult]:
    """Run the steps until one fails, then always the cleanup steps."""
    override = override_for(scenario, run.profile)
    if override is not None and override.skip:
        raise ScenarioSkipped(f"skipped by the target profile: {override.reason}")
    _check_when(scenario, run.profile)
    scene = Scene({}, run.tokens.refresh_tokens(), *_takers(run))
    results: list[StepResult] = []
    cleanup: list[StepResult] = []
    last = len(scenario.steps) - 1

    def previous() -> Exchange | None:  # what ``replay: previous`` sends again
        done = [*results, *cleanup]
        return next((r.exchange for r in reversed(done) if r.exchange is not None), None)

    try:
        for index, step in enumerate(scenario.steps):
            if _left_out(step, run.profile, scene):
                continue
            applies = _applies(override, step, index, last)
            result = _run_step(step, run, scene, override if applies else None, previous())
            stopped = _stopped(result)
            results.append(result)
            if listener:
                listener(result)
            reason = _used_up(result, run.profile)
            if reason is not None:
                raise ScenarioSkipped(reason)
            if result.failures or stopped:
                break
    except ScenarioSkipped as skipped:
        skipped.cleanup = cleanup  # filled below, before the skip reaches the caller
        raise
    finally:
        for result in _cleaning(scenario.cleanup, run, scene, previous):
            cleanup.append(result)
            if listener:
                listener(result)
    return results + cleanup


def _left_out(step: Step, profile: Profile, scene: Scene) -> bool:
    """A step for another profile setting (step-level ``when``), or one that would send again a
    refresh token an earlier refresh replaced (``unless_rotated``: it MAY be revoked, RFC 6749
    6)."""
    return _unmet(step.when, profile) is not None or (step.unless_rotated and scene.rotated)


def _cleaning(
    steps: tuple[Step, ...], run: RunContext, scene: Scene, previous: Callable[[], Exchange | None]
) -> Iterator[StepResult]:
    """Every cleanup step, even after one failed, but those left out as any step is (``when``,
    ``unless_rotated``). A step not sent (the budget ran out) or not answered (the target broke)
    fails with why: the state is not restored either way, unless nothing was sent before it (a
    profile without the persona's token: the scenario's skip)."""
    for step in steps:
        if _left_out(step, run.profile, scene):
            continue
        try:
            result = _run_step(step, run, scene, None, previous())
        except ScenarioSkipped as exc:
            if previous() is None:
                continue
            result = StepResult(step, None, [Failure("cleanup", f"not sent: {exc}")])
        except TargetError as exc:
            result = StepResult(step, None, [Failure("cleanup", f"the exchange failed: {exc}")])
        result.cleanup = True
        yield result
