"""Target profiles: which bank, which certificates, which tokens (docs/profile.md).

A profile is YAML validated by ``schemas/profile.schema.json``. ``${VAR}`` reads the environment
(``${VAR:-default}`` gives a default; an empty value means "not configured", so scenarios needing
it are skipped). Relative paths resolve against the profile's directory. Keys and certificates
are loaded and cross-checked here, once per run, so a wrong file is reported before any request
is sent. ``load_profile`` is a sequence of named steps; ``doctor`` runs the same steps.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfoNotFoundError

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from stet_conformance.config.live import URL_SETTINGS, url_problem
from stet_conformance.config.material import (
    check_ca_bundle,
    check_pair,
    check_tpp_identity,
    check_validity,
    loose_permissions,
)
from stet_conformance.config.secret_repr import SecretHolder
from stet_conformance.config.settings import (
    DEFAULT_MAX_BODY_BYTES,
    IMPUTATION_INSTANTS,
    BankChoices,
    Imputation,
    Limits,
    OAuthSettings,
    OtherTpp,
    RetryPolicy,
    SigningSettings,
    TlsSettings,
)
from stet_conformance.config.token_store import (
    StoredToken,
    TokenStore,
    TokenStoreError,
    credentials_from_store,
    disposable_from_store,
    expired_warning,
    fingerprint,
)
from stet_conformance.config.yamlload import PathKey, Positions, dotted, load_yaml, validate
from stet_conformance.errors import ConfigError
from stet_conformance.shared.error_codes import STET_CLIENT_ERRORS
from stet_conformance.shared.resources import fixtures_dir, schemas_dir

DEFAULT_API_PREFIX = "/stet/psd2/v1.4.2"
DEFAULT_PSU_IP = "192.168.0.1"
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TABLES = ("tokens", "refresh_tokens", "expired_tokens")


@dataclass(frozen=True, repr=False)
class PersonaCredentials(SecretHolder):
    """Tokens per scope for one persona; a missing or empty entry means "not configured".

    ``disposable_refresh_tokens`` are the pool the revocation scenarios consume, one token each,
    never the persona's own ``refresh_tokens``.
    """

    tokens: dict[str, str] = field(default_factory=dict)
    refresh_tokens: dict[str, str] = field(default_factory=dict)
    expired_tokens: dict[str, str] = field(default_factory=dict)
    disposable_refresh_tokens: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def __repr__(self) -> str:  # the scopes configured, never the tokens
        scopes = " ".join(f"{name}={sorted(getattr(self, name))}" for name in _TABLES)
        pools = {scope: len(pool) for scope, pool in sorted(self.disposable_refresh_tokens.items())}
        return f"<PersonaCredentials {scopes} disposable_refresh_tokens={pools}>"

    def secrets(self) -> set[str]:
        values = {v for table in _TABLES for v in getattr(self, table).values() if v}
        return values | {v for pool in self.disposable_refresh_tokens.values() for v in pool}


@dataclass(frozen=True, repr=False)
class Personas(SecretHolder):
    """The personas, one part for both views: their ``data`` (IBANs, resource ids, expected
    values; the fixtures' with the profile's merged) and their ``credentials`` (tokens)."""

    data: dict[str, Any] = field(default_factory=dict)
    credentials: dict[str, PersonaCredentials] = field(default_factory=dict)

    def __repr__(self) -> str:  # the names, never the tokens
        return f"<Personas {sorted(self.data)} credentials={sorted(self.credentials)}>"

    def secrets(self) -> set[str]:
        return {value for creds in self.credentials.values() for value in creds.secrets()}


@dataclass(frozen=True)
class Override:
    """A per-target change of a scenario's expectation, always with a written reason."""

    scenario_id: str
    reason: str
    skip: bool
    step: str | int | None
    expect: dict[str, Any]


@dataclass(frozen=True, repr=False)
class Profile(SecretHolder):
    """One target profile, loaded and checked: the parts a client needs, the personas (data and
    tokens), the bank's choices, the scenario variables and overrides."""

    name: str
    source: Path
    base_url: str
    api_prefix: str
    psu_ip_address: str | None
    environment: str | None
    tls: TlsSettings
    signing: SigningSettings
    oauth: OAuthSettings
    limits: Limits
    personas: Personas
    variables: dict[str, Any]
    overrides: dict[str, Override]
    other_tpp: OtherTpp | None = None  # a second TPP's QWAC (tokens are bound to the TPP)
    token_store: Path | None = None
    choices: BankChoices = field(default_factory=BankChoices)  # what the sources leave open
    warnings: tuple[str, ...] = ()
    sandbox_reset_path: str | None = None  # the bundled sandbox's reset, called at each run's start
    # The bundled sandbox's authorize issues a code without a browser (``psu=<persona>``).
    browserless_authorize: bool = False

    def __repr__(self) -> str:  # tokens and passphrases stay out of tracebacks and examples
        return f"<Profile {self.name!r} {self.base_url} ({self.source})>"

    def secrets(self) -> set[str]:
        """Every secret value the profile holds, for redaction."""
        values = self.tls.secrets() | self.signing.secrets()
        if self.other_tpp is not None:
            values |= self.other_tpp.tls.secrets()
        return values | self.personas.secrets()


@dataclass(frozen=True, repr=False)
class ProfileDocument(SecretHolder):
    """A profile file as read: its settings (tokens included), their lines, its directory."""

    path: Path
    data: dict[str, Any]
    positions: Positions

    def __repr__(self) -> str:  # the settings hold tokens
        return f"<ProfileDocument {self.path}>"

    def section(self, name: str) -> dict[str, Any]:
        value = self.data.get(name)
        return value if isinstance(value, dict) else {}

    def value(self, setting: str) -> Any:
        """A setting by its dotted name (``tls.client_cert``); ``None`` when not set."""
        section, _, key = setting.rpartition(".")
        return self.section(section).get(key) if section else self.data.get(key)

    def where(self, setting: str) -> str:
        """``file:line: setting``, to start a message about that setting."""
        return f"{self.positions.where(setting.split('.'))}: {setting}"

    def path_of(self, setting: str) -> Path | None:
        """A path setting: ``~`` expanded, a relative path read from the profile's directory."""
        value = self.value(setting)
        if not value:
            return None
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.path.parent / path

    def file(self, setting: str) -> Path | None:
        """A path setting that must name a file; the message never repeats the value."""
        path = self.path_of(setting)
        if path is not None and not path.is_file():
            raise ConfigError(f"{self.where(setting)}: {not_a_file(self.path.parent)}")
        return path

    def password(self, setting: str) -> str | None:
        """The passphrase a ``*_password_env`` setting names."""
        try:
            return env_password(self.value(setting))
        except ValueError as exc:
            raise ConfigError(f"{self.where(setting)}: {exc}") from None


@cache
def _profile_schema() -> dict[str, Any]:
    result: dict[str, Any] = json.loads(
        (schemas_dir() / "profile.schema.json").read_text(encoding="utf-8")
    )
    return result


@cache
def fixture_personas() -> dict[str, Any]:
    """The persona data of fixtures/personas.yaml (IBANs, resource ids, expected values)."""
    data, _ = load_yaml(fixtures_dir() / "personas.yaml", "persona fixtures")
    result: dict[str, Any] = data
    return result


@cache
def fixture_payment_requests() -> dict[str, Any]:
    """``payment_requests`` of fixtures/payment_requests.yaml (the sandbox's saved requests)."""
    path = fixtures_dir() / "payment_requests.yaml"
    if not path.is_file():
        return {}
    data, _ = load_yaml(path, "payment request fixtures")
    return {"payment_requests": data.get("payment_requests") or {}}


def not_a_file(base: Path) -> str:
    """Why a path setting is refused, without its value: a token pasted there is not echoed."""
    return (
        "file not found (the value is not a readable file path; a relative path is read from "
        f"{base})"
    )


def env_password(env_name: str | None) -> str | None:
    """The passphrase a ``*_password_env`` setting names; ``ValueError`` says why not.

    The messages never quote the setting's value: it may be the passphrase itself, pasted
    where its variable's name belongs.
    """
    if not env_name:
        return None
    if not _ENV_NAME.fullmatch(env_name):
        raise ValueError(
            "not an environment variable name (give the name of the variable that holds the "
            "passphrase, not the passphrase)"
        )
    if env_name not in os.environ:
        raise ValueError("the environment variable it names is not set")
    return os.environ[env_name]


def load_private_key(
    path: Path, password: str | None, setting: str, *, pair_check_only: bool = False
) -> rsa.RSAPrivateKey:
    """Load an RSA private key in PEM; every failure names the setting, never the key.

    ``setting`` is how the message names where the key was configured (profile file:line and
    key path, or a command-line option). ``pair_check_only``: the key object only serves to
    compare its public key with its certificate (``check_pair``) and is then dropped, so
    cryptography's RSA validation (~37 ms a key) is skipped; the TLS stack loads the file
    itself. A key that signs is always validated: OpenSSL may misbehave with an invalid one.
    """
    try:
        key = serialization.load_pem_private_key(
            path.read_bytes(),
            password.encode() if password else None,
            unsafe_skip_rsa_key_validation=pair_check_only,
        )
    except TypeError:
        raise ConfigError(
            f"{setting}: {path} is encrypted; name the environment variable that holds its "
            "passphrase (signing.key_password_env or tls.client_key_password_env)"
        ) from None
    except ValueError:
        raise ConfigError(
            f"{setting}: {path} is not a PEM private key (or the passphrase is wrong)"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigError(f"{setting}: {path} is not an RSA key (rsa-sha256 needs RSA)")
    return key


def load_certificate(path: Path, setting: str) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except ValueError:
        raise ConfigError(f"{setting}: {path} is not a PEM certificate") from None


# --- the steps of load_profile, in order ----------------------------------------------------


def read_document(path: Path) -> ProfileDocument:
    """Step 1: the YAML (with line numbers, duplicate keys refused), a mapping of settings."""
    raw, positions = load_yaml(path, "target profile")
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}:1: a target profile must be a mapping of settings")
    return ProfileDocument(path, raw, positions)


def unset_variables(document: ProfileDocument) -> Iterator[tuple[str, str]]:
    """Every ``${VAR}`` without a default whose variable is unset, with its setting (``doctor``
    lists them all; ``interpolate`` stops at the first)."""

    def walk(value: Any, path: PathKey) -> Iterator[tuple[str, str]]:
        if isinstance(value, dict):
            for key, item in value.items():
                yield from walk(item, (*path, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                yield from walk(item, (*path, index))
        elif isinstance(value, str):
            for match in _VAR.finditer(value):
                if match.group(2) is None and match.group(1) not in os.environ:
                    yield match.group(1), dotted(path)

    return walk(document.data, ())


def interpolate(document: ProfileDocument) -> ProfileDocument:
    """Step 2: ``${VAR}`` replaced, before the schema: a variable must satisfy it once replaced."""
    positions = document.positions

    def walk(value: Any, path: PathKey) -> Any:
        if isinstance(value, dict):
            return {k: walk(v, (*path, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, (*path, i)) for i, v in enumerate(value)]
        if not isinstance(value, str):
            return value

        def replace_var(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in os.environ:
                return os.environ[name]
            if default is not None:
                return default
            raise ConfigError(
                f"{positions.where(path)}: {dotted(path)}: environment variable {name} is not "
                f"set (write ${{{name}:-}} to make it optional)"
            )

        return _VAR.sub(replace_var, value)

    return replace(document, data=walk(document.data, ()))


def validate_schema(document: ProfileDocument) -> None:
    """Step 3: ``schemas/profile.schema.json``; the error names file, line and setting."""
    validate(document.data, _profile_schema(), document.positions)


def check_urls(document: ProfileDocument) -> None:
    """Step 4: refuse a URL the harness would contact but cannot read safely (userinfo...)."""
    for setting in URL_SETTINGS:
        url = document.value(setting)
        problem = url_problem(url) if isinstance(url, str) and url else None
        if problem:
            raise ConfigError(f"{document.where(setting)}: {problem}")


def load_signing(document: ProfileDocument) -> SigningSettings:
    """Step 5: the QSEAL key, and its certificate checked against it when configured."""
    key_file = document.file("signing.key")
    assert key_file is not None  # required by the schema
    password = document.password("signing.key_password_env")
    key = load_private_key(key_file, password, document.where("signing.key"))
    cert_file = document.file("signing.certificate")
    certificate = None
    if cert_file is not None:
        where = document.where("signing.certificate")
        certificate = load_certificate(cert_file, where)
        check_pair(certificate, key, where, "signing.key")
        check_validity(certificate, where)
    headers = document.value("signing.headers")
    return SigningSettings(
        key=key,
        key_id=document.value("signing.key_id"),
        headers=tuple(headers) if headers else None,
        certificate=certificate,
        key_password=password,
    )


def load_tls(document: ProfileDocument) -> TlsSettings:
    """Step 6: the CA bundle and the QWAC, checked against its key and ``oauth.client_id``."""
    tls, qwac = _qwac(document, "tls.client_cert", "tls.client_key", "tls.client_key_password_env")
    if qwac is not None:
        check = document.value("oauth.check_client_id") is not False
        client_id = document.value("oauth.client_id") if check else None
        check_tpp_identity(qwac, client_id, document.where("tls.client_cert"))
    ca_bundle = document.file("tls.ca_bundle")
    return replace(tls, ca_bundle=check_ca_bundle(ca_bundle, document.where("tls.ca_bundle")))


def load_other_tpp(document: ProfileDocument, tls: TlsSettings) -> OtherTpp | None:
    """Step 7: the second TPP's QWAC (``tls.other_client_*``), if both files are configured."""
    other, qwac = _qwac(
        document,
        "tls.other_client_cert",
        "tls.other_client_key",
        "tls.other_client_key_password_env",
    )
    if qwac is None:
        return None
    client_id = check_tpp_identity(qwac, None, document.where("tls.other_client_cert"))
    return OtherTpp(replace(other, ca_bundle=tls.ca_bundle), client_id)


def _qwac(
    document: ProfileDocument, cert: str, key: str, password: str
) -> tuple[TlsSettings, x509.Certificate | None]:
    """A QWAC's files and passphrase; with both files, the certificate, checked against its key
    and for validity."""
    cert_file, key_file = document.file(cert), document.file(key)
    key_password = document.password(password)
    tls = TlsSettings(None, cert_file, key_file, key_password)
    if cert_file is None or key_file is None:
        return tls, None
    where = document.where(cert)
    qwac = load_certificate(cert_file, where)
    qwac_key = load_private_key(key_file, key_password, document.where(key), pair_check_only=True)
    check_pair(qwac, qwac_key, where, key)
    check_validity(qwac, where)
    return tls, qwac


def load_oauth(document: ProfileDocument) -> OAuthSettings:
    """Step 8: the OAuth endpoints and ``client_id``."""
    oauth = document.section("oauth")
    return OAuthSettings(
        client_id=oauth.get("client_id"),
        token_url=oauth.get("token_url"),
        authorize_url=oauth.get("authorize_url"),
        revoke_url=oauth.get("revoke_url"),
        rotates_refresh_token=bool(oauth.get("rotates_refresh_token", False)),
        code_max_age=float(oauth.get("code_max_age", OAuthSettings.code_max_age)),
    )


def load_choices(document: ProfileDocument) -> BankChoices:
    """What the bank declares where the portal and STET leave a choice (defaults: the portal),
    the imputation included (step 12a); the profile's keys for them stay top-level."""
    data, default = document.data, BankChoices()
    return BankChoices(
        identity_available=bool(data.get("identity_available", default.identity_available)),
        transaction_statuses=tuple(data.get("transaction_statuses", default.transaction_statuses)),
        fallback_token_param=str(
            document.section("fallback").get("token_param", default.fallback_token_param)
        ),
        replay_protection=bool(data.get("replay_protection", default.replay_protection)),
        imputation=load_imputation(document),
        signature_status=load_signature_status(document),
    )


def load_signature_status(document: ProfileDocument) -> tuple[int, ...]:
    """``vars.fuzz.signature_status``: the refusal (a 4xx code, or a list) the bank documents
    for a missing or bad signature; the suites and the signature scenarios accept it."""
    fuzz = document.section("vars").get("fuzz")
    value = fuzz.get("signature_status") if isinstance(fuzz, dict) else None
    if value is None:
        return BankChoices.signature_status
    items = value if isinstance(value, list) else [value]
    if not items or not all(type(i) is int and i in STET_CLIENT_ERRORS for i in items):
        codes = ", ".join(map(str, STET_CLIENT_ERRORS))
        raise ConfigError(
            f"{document.where('vars.fuzz.signature_status')}: a 4xx code STET defines an error "
            f"response for ({codes}), or a list of them: the refusal the bank documents for a "
            "bad signature, e.g. [400] or [401]"
        )
    return tuple(dict.fromkeys(items))


def load_limits(document: ProfileDocument) -> Limits:
    """Step 9: timeouts, body cap, retries, request budget, concurrency (defaults for what is
    not set)."""
    timeouts = document.section("timeouts")
    retries = document.section("retries")
    limits = document.section("limits")
    default = RetryPolicy()
    return Limits(
        connect_timeout=float(timeouts.get("connect", 10)),
        read_timeout=float(timeouts.get("read", 30)),
        total_timeout=float(timeouts.get("total", 60)),
        max_body_bytes=int(limits.get("max_body_bytes", DEFAULT_MAX_BODY_BYTES)),
        retries=RetryPolicy(
            count=int(retries.get("count", 0)),
            on=frozenset(str(v) for v in retries.get("on", default.on)),
            backoff=float(retries.get("backoff", default.backoff)),
        ),
        budget=document.data.get("budget"),
        concurrency=int(document.data.get("concurrency", 1)),
    )


def load_personas(
    document: ProfileDocument,
) -> tuple[dict[str, Any], dict[str, PersonaCredentials]]:
    """Step 10: the fixtures' persona data with the profile's ``data`` merged, and the tokens
    the profile sets (empty ones left out)."""
    personas = copy.deepcopy(fixture_personas()["personas"])
    credentials: dict[str, PersonaCredentials] = {}
    for name, entry in document.section("personas").items():
        tables = {t: {k: v for k, v in (entry.get(t) or {}).items() if v} for t in _TABLES}
        pools = {
            scope: tuple(dict.fromkeys(v for v in values or [] if v))
            for scope, values in (entry.get("disposable_refresh_tokens") or {}).items()
        }
        credentials[name] = PersonaCredentials(
            **tables, disposable_refresh_tokens={k: v for k, v in pools.items() if v}
        )
        if "data" in entry:
            personas[name] = _merge(personas.get(name, {}), entry["data"])
    return personas, credentials


def _merge(base: Any, extra: Any) -> Any:
    if isinstance(base, dict) and isinstance(extra, dict):
        merged = dict(base)
        for key, value in extra.items():
            merged[key] = _merge(base.get(key), value)
        return merged
    return copy.deepcopy(extra)


def add_stored_tokens(
    document: ProfileDocument, credentials: dict[str, PersonaCredentials]
) -> tuple[dict[str, PersonaCredentials], list[str]]:
    """Step 11: tokens from `stet-conformance login` fill what the profile leaves empty; its
    disposable refresh tokens join the profile's, and those a run already took leave the pool.

    The store need not exist before the first login.
    """
    path = document.path_of("token_store")
    if path is None:
        return credentials, []
    target = document.data["base_url"]
    try:
        store = TokenStore.load(path)
        stored, warnings = credentials_from_store(store, target)
        pools, pool_warnings = disposable_from_store(store, target)
    except TokenStoreError as exc:
        raise ConfigError(f"{document.where('token_store')}: {exc}") from None
    used = store.used(target)
    merged = dict(credentials)
    for name in dict.fromkeys([*merged, *stored, *pools]):
        current = merged.get(name, PersonaCredentials())
        tables = stored.get(name, {"tokens": {}, "refresh_tokens": {}})
        merged[name] = replace(
            current,
            tokens={**tables["tokens"], **current.tokens},
            refresh_tokens={**tables["refresh_tokens"], **current.refresh_tokens},
            disposable_refresh_tokens=_unused_pools(
                current.disposable_refresh_tokens, pools.get(name, {}), used
            ),
        )
    return merged, warnings + pool_warnings


def _unused_pools(
    profile: dict[str, tuple[str, ...]], stored: dict[str, list[str]], used: set[str]
) -> dict[str, tuple[str, ...]]:
    """Per scope: the profile's disposable tokens, then the store's, minus those runs took."""
    pools = {}
    for scope in dict.fromkeys([*profile, *stored]):
        tokens = dict.fromkeys([*profile.get(scope, ()), *stored.get(scope, [])])
        unused = tuple(t for t in tokens if fingerprint(t) not in used)
        if unused:
            pools[scope] = unused
    return pools


def load_imputation(document: ProfileDocument) -> Imputation:
    """Step 12a: the bank's imputation zone and instant (default: 00:00 UTC of the booking day)."""
    fuzz = document.section("vars").get("fuzz")
    if isinstance(fuzz, dict) and "imputation" in fuzz:
        raise ConfigError(
            f"{document.where('vars.fuzz.imputation')}: moved to imputation.instant "
            f"({' or '.join(IMPUTATION_INSTANTS)}; docs/profile.md)"
        )
    section = document.section("imputation")
    imputation = Imputation(
        str(section.get("timezone", "UTC")), str(section.get("instant", "midnight"))
    )
    try:
        imputation.zone  # noqa: B018 - resolving it is the check
    except (ValueError, ZoneInfoNotFoundError):
        raise ConfigError(
            f"{document.where('imputation.timezone')}: not a known IANA time zone name "
            "(e.g. Europe/Paris, UTC)"
        ) from None
    return imputation


def load_variables(document: ProfileDocument) -> dict[str, Any]:
    """Step 12: the scenario variables: fixtures, saved payment requests, the profile's ``vars``."""
    variables = {k: v for k, v in fixture_personas().items() if k != "personas"}
    variables.update(fixture_payment_requests())
    variables.update(document.section("vars"))
    return variables


def load_overrides(document: ProfileDocument) -> dict[str, Override]:
    """Step 13: per-target expectation changes, each with its reason."""
    return {
        scenario_id: Override(
            scenario_id,
            entry["reason"],
            bool(entry.get("skip", False)),
            entry.get("step"),
            dict(entry.get("expect") or {}),
        )
        for scenario_id, entry in document.section("overrides").items()
    }


def key_warnings(document: ProfileDocument, tls: TlsSettings) -> list[str]:
    """Private key files readable by others (a warning, not an error)."""
    keys = (document.path_of("signing.key"), tls.client_key)
    return [w for w in (loose_permissions(k) for k in keys if k is not None) if w]


def load_profile(path: Path) -> Profile:
    """Read, validate and resolve a target profile; ``ConfigError`` names file and line.

    Runs the steps above in order and stops at the first problem; a run loads its profile once.
    """
    document = interpolate(read_document(path))
    validate_schema(document)
    check_urls(document)
    signing = load_signing(document)
    tls = load_tls(document)
    other_tpp = load_other_tpp(document, tls)
    persona_data, configured = load_personas(document)
    credentials, store_warnings = add_stored_tokens(document, configured)
    data = document.data
    return Profile(
        name=data["name"],
        source=path,
        base_url=data["base_url"],
        api_prefix=data.get("api_prefix", DEFAULT_API_PREFIX).rstrip("/"),
        psu_ip_address=data.get("psu_ip_address", DEFAULT_PSU_IP),
        environment=data.get("environment"),
        tls=tls,
        signing=signing,
        oauth=load_oauth(document),
        limits=load_limits(document),
        personas=Personas(persona_data, credentials),
        variables=load_variables(document),
        overrides=load_overrides(document),
        other_tpp=other_tpp,
        token_store=document.path_of("token_store"),
        choices=load_choices(document),
        warnings=(*key_warnings(document, tls), *store_warnings),
        sandbox_reset_path=(data.get("sandbox") or {}).get("reset_path"),
        browserless_authorize=bool((data.get("sandbox") or {}).get("authorize_without_browser")),
    )


def with_refreshed_token(
    profile: Profile, persona: str, scope: str, old: StoredToken, fresh: StoredToken
) -> Profile:
    """The profile after a refresh of one stored token, as if loaded again from the store.

    A token the profile sets itself still wins; one that came from the store (the stale value,
    or none when the stale one had expired) is replaced, and the "expired" warning goes.
    """
    current = profile.personas.credentials.get(persona, PersonaCredentials())

    def renewed(table: dict[str, str], stale: str | None, new: str | None) -> dict[str, str]:
        if new and table.get(scope) in (None, stale):
            return {**table, scope: new}
        return table

    creds = replace(
        current,
        tokens=renewed(current.tokens, old.access_token, fresh.access_token),
        refresh_tokens=renewed(current.refresh_tokens, old.refresh_token, fresh.refresh_token),
    )
    gone = expired_warning(profile.token_store, persona, scope) if profile.token_store else None
    return replace(
        profile,
        personas=replace(
            profile.personas, credentials={**profile.personas.credentials, persona: creds}
        ),
        warnings=tuple(w for w in profile.warnings if gone is None or not w.startswith(gone)),
    )
