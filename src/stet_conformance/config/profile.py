"""Target profiles: which bank, which certificates, which tokens (README, 'Target profile').

A profile is YAML validated by ``schemas/profile.schema.json``. ``${VAR}`` reads the environment
(``${VAR:-default}`` gives a default; an empty value means "not configured", so scenarios needing
it are skipped). Relative paths resolve against the profile's directory. Keys and certificates
are loaded and cross-checked here, once, so a wrong file is reported before any request is sent.
"""

from __future__ import annotations

import copy
import json
import os
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

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
from stet_conformance.config.token_store import TokenStoreError, credentials_from_store
from stet_conformance.config.yamlload import PathKey, Positions, dotted, load_yaml, validate
from stet_conformance.errors import ConfigError
from stet_conformance.shared.resources import fixtures_dir, schemas_dir

DEFAULT_API_PREFIX = "/stet/psd2/v1.4.2"
DEFAULT_PSU_IP = "192.168.0.1"
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True, repr=False)
class PersonaCredentials(SecretHolder):
    """Tokens per scope for one persona; a missing or empty entry means "not configured"."""

    tokens: dict[str, str] = field(default_factory=dict)
    refresh_tokens: dict[str, str] = field(default_factory=dict)
    expired_tokens: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:  # the scopes configured, never the tokens
        tables = ("tokens", "refresh_tokens", "expired_tokens")
        scopes = " ".join(f"{name}={sorted(getattr(self, name))}" for name in tables)
        return f"<PersonaCredentials {scopes}>"


@dataclass(frozen=True)
class RetryPolicy:
    """Which failures to retry (``timeout``, ``connect``, ``reset`` or a status code as text)."""

    count: int = 0
    on: frozenset[str] = frozenset({"timeout", "connect", "502", "503", "504"})
    backoff: float = 0.5


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
    name: str
    source: Path
    base_url: str
    api_prefix: str
    psu_ip_address: str | None
    ca_bundle: Path | None
    client_cert: Path | None
    client_key: Path | None
    client_key_password: str | None
    signing_key_password: str | None
    signing_key: rsa.RSAPrivateKey
    signing_certificate: x509.Certificate | None
    key_id: str
    signed_headers: tuple[str, ...] | None
    client_id: str | None
    token_url: str | None
    authorize_url: str | None
    revoke_url: str | None
    connect_timeout: float
    read_timeout: float
    credentials: dict[str, PersonaCredentials]
    personas: dict[str, Any]
    variables: dict[str, Any]
    overrides: dict[str, Override]
    warnings: tuple[str, ...] = ()
    environment: str | None = None
    budget: dict[str, int] | None = None
    token_store: Path | None = None
    total_timeout: float = 60.0
    max_body_bytes: int = 10 * 1024 * 1024
    retries: RetryPolicy = RetryPolicy()
    other_client_cert: Path | None = None  # a second TPP's QWAC (tokens bound to the TPP)
    other_client_key: Path | None = None
    other_client_key_password: str | None = None
    other_client_id: str | None = None  # that QWAC's organizationIdentifier
    rotates_refresh_token: bool = False  # oauth.rotates_refresh_token
    replay_protection: bool = False  # the bank refuses a replayed signed request (SEC-REPLAY)
    sandbox_reset_path: str | None = None  # the bundled sandbox's reset, called at each run's start

    def __repr__(self) -> str:  # tokens and passphrases stay out of tracebacks and examples
        return f"<Profile {self.name!r} {self.base_url} ({self.source})>"

    def secrets(self) -> set[str]:
        """Every secret value the profile holds, for redaction."""
        values: set[str] = set()
        for creds in self.credentials.values():
            for table in (creds.tokens, creds.refresh_tokens, creds.expired_tokens):
                values.update(v for v in table.values() if v)
        passwords = (
            self.client_key_password,
            self.signing_key_password,
            self.other_client_key_password,
        )
        values.update(p for p in passwords if p)
        return values


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


def _interpolate(value: Any, path: PathKey, positions: Positions) -> Any:
    if isinstance(value, dict):
        return {k: _interpolate(v, (*path, k), positions) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, (*path, i), positions) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        raise ConfigError(
            f"{positions.where(path)}: {dotted(path)}: environment variable {name} is not set "
            f"(write ${{{name}:-}} to make it optional)"
        )

    return _VAR.sub(replace, value)


def not_a_file(base: Path) -> str:
    """Why a path setting is refused, without its value: a token pasted there is not echoed."""
    return (
        "file not found (the value is not a readable file path; a relative path is read from "
        f"{base})"
    )


def _file(base: Path, value: str | None, setting: str, positions: Positions) -> Path | None:
    path = _path(base, value)
    if path is None:
        return None
    if not path.is_file():
        raise ConfigError(f"{_where(setting, positions)}: {not_a_file(base)}")
    return path


def _path(base: Path, value: str | None) -> Path | None:
    """A setting's path: ``~`` expanded, relative paths against the profile's directory."""
    if not value:
        return None
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


def _check_urls(data: dict[str, Any], positions: Positions) -> None:
    """Refuse a URL the harness would contact but cannot read safely (userinfo, unparsable)."""
    for setting in URL_SETTINGS:
        section, _, key = setting.rpartition(".")
        url = (data.get(section) or {}).get(key) if section else data.get(key)
        problem = url_problem(url) if isinstance(url, str) and url else None
        if problem:
            raise ConfigError(f"{_where(setting, positions)}: {problem}")


def _where(setting: str, positions: Positions) -> str:
    return f"{positions.where(setting.split('.'))}: {setting}"


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


def _password(env_name: str | None, setting: str, positions: Positions) -> str | None:
    try:
        return env_password(env_name)
    except ValueError as exc:
        raise ConfigError(f"{_where(setting, positions)}: {exc}") from None


def load_private_key(path: Path, password: str | None, setting: str) -> rsa.RSAPrivateKey:
    """Load an RSA private key in PEM; every failure names the setting, never the key.

    ``setting`` is how the message names where the key was configured (profile file:line and
    key path, or a command-line option).
    """
    try:
        key = serialization.load_pem_private_key(
            path.read_bytes(), password.encode() if password else None
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


def _merge(base: Any, extra: Any) -> Any:
    if isinstance(base, dict) and isinstance(extra, dict):
        merged = dict(base)
        for key, value in extra.items():
            merged[key] = _merge(base.get(key), value)
        return merged
    return copy.deepcopy(extra)


def load_profile(path: Path) -> Profile:
    """Read, validate and resolve a target profile; ``ConfigError`` names file and line."""
    raw, positions = load_yaml(path, "target profile")
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}:1: a target profile must be a mapping of settings")
    # Interpolate first: a ${VAR} must satisfy the schema once it is replaced.
    data: dict[str, Any] = _interpolate(raw, (), positions)
    validate(data, _profile_schema(), positions)
    _check_urls(data, positions)
    base = path.parent
    tls = data.get("tls", {})
    signing = data["signing"]
    oauth = data.get("oauth", {})
    timeouts = data.get("timeouts", {})

    key_file = _file(base, signing["key"], "signing.key", positions)
    assert key_file is not None
    signing_password = _password(
        signing.get("key_password_env"), "signing.key_password_env", positions
    )
    signing_key = load_private_key(key_file, signing_password, _where("signing.key", positions))
    cert_file = _file(base, signing.get("certificate"), "signing.certificate", positions)
    signing_cert = (
        load_certificate(cert_file, _where("signing.certificate", positions)) if cert_file else None
    )
    if signing_cert is not None:
        where = _where("signing.certificate", positions)
        check_pair(signing_cert, signing_key, where, "signing.key")
        check_validity(signing_cert, where)
    client_cert = _file(base, tls.get("client_cert"), "tls.client_cert", positions)
    client_key = _file(base, tls.get("client_key"), "tls.client_key", positions)
    key_password = _password(
        tls.get("client_key_password_env"), "tls.client_key_password_env", positions
    )
    if client_cert and client_key:
        where = _where("tls.client_cert", positions)
        qwac = load_certificate(client_cert, where)
        qwac_key = load_private_key(client_key, key_password, _where("tls.client_key", positions))
        check_pair(qwac, qwac_key, where, "tls.client_key")
        check_validity(qwac, where)
        check_client_id = oauth.get("check_client_id", True)
        check_tpp_identity(qwac, oauth.get("client_id") if check_client_id else None, where)
    other_cert = _file(base, tls.get("other_client_cert"), "tls.other_client_cert", positions)
    other_key = _file(base, tls.get("other_client_key"), "tls.other_client_key", positions)
    other_password = _password(
        tls.get("other_client_key_password_env"), "tls.other_client_key_password_env", positions
    )
    other_client_id = None
    if other_cert and other_key:
        where = _where("tls.other_client_cert", positions)
        other_qwac = load_certificate(other_cert, where)
        other_qwac_key = load_private_key(
            other_key, other_password, _where("tls.other_client_key", positions)
        )
        check_pair(other_qwac, other_qwac_key, where, "tls.other_client_key")
        check_validity(other_qwac, where)
        other_client_id = check_tpp_identity(other_qwac, None, where)
    warnings = [w for w in (loose_permissions(p) for p in (key_file, client_key) if p) if w]

    fixtures = fixture_personas()
    personas = copy.deepcopy(fixtures["personas"])
    credentials: dict[str, PersonaCredentials] = {}
    for name, entry in (data.get("personas") or {}).items():
        credentials[name] = PersonaCredentials(
            tokens={k: v for k, v in (entry.get("tokens") or {}).items() if v},
            refresh_tokens={k: v for k, v in (entry.get("refresh_tokens") or {}).items() if v},
            expired_tokens={k: v for k, v in (entry.get("expired_tokens") or {}).items() if v},
        )
        if "data" in entry:
            personas[name] = _merge(personas.get(name, {}), entry["data"])
    token_store = _path(base, data.get("token_store"))  # need not exist before the first login
    if token_store is not None:
        # Tokens from `stet-conformance login` fill what the profile leaves empty.
        try:
            stored, store_warnings = credentials_from_store(token_store, data["base_url"])
        except TokenStoreError as exc:
            raise ConfigError(f"{_where('token_store', positions)}: {exc}") from None
        warnings += store_warnings
        for name, tables in stored.items():
            current = credentials.get(name, PersonaCredentials())
            credentials[name] = PersonaCredentials(
                tokens={**tables["tokens"], **current.tokens},
                refresh_tokens={**tables["refresh_tokens"], **current.refresh_tokens},
                expired_tokens=current.expired_tokens,
            )
    variables = {k: v for k, v in fixtures.items() if k != "personas"}
    variables.update(fixture_payment_requests())
    variables.update(data.get("vars") or {})
    overrides = {
        scenario_id: Override(
            scenario_id,
            entry["reason"],
            bool(entry.get("skip", False)),
            entry.get("step"),
            dict(entry.get("expect") or {}),
        )
        for scenario_id, entry in (data.get("overrides") or {}).items()
    }
    headers = signing.get("headers")
    return Profile(
        name=data["name"],
        source=path,
        base_url=data["base_url"],
        api_prefix=data.get("api_prefix", DEFAULT_API_PREFIX).rstrip("/"),
        psu_ip_address=data.get("psu_ip_address", DEFAULT_PSU_IP),
        ca_bundle=check_ca_bundle(
            _file(base, tls.get("ca_bundle"), "tls.ca_bundle", positions),
            _where("tls.ca_bundle", positions),
        ),
        client_cert=client_cert,
        client_key=client_key,
        client_key_password=key_password,
        signing_key_password=signing_password,
        signing_key=signing_key,
        signing_certificate=signing_cert,
        key_id=signing["key_id"],
        signed_headers=tuple(headers) if headers else None,
        client_id=oauth.get("client_id"),
        token_url=oauth.get("token_url"),
        authorize_url=oauth.get("authorize_url"),
        revoke_url=oauth.get("revoke_url"),
        connect_timeout=float(timeouts.get("connect", 10)),
        read_timeout=float(timeouts.get("read", 30)),
        credentials=credentials,
        personas=personas,
        variables=variables,
        overrides=overrides,
        warnings=tuple(warnings),
        environment=data.get("environment"),
        budget=data.get("budget"),
        token_store=token_store,
        total_timeout=float(timeouts.get("total", 60)),
        max_body_bytes=int((data.get("limits") or {}).get("max_body_bytes", 10 * 1024 * 1024)),
        retries=_retries(data.get("retries")),
        other_client_cert=other_cert,
        other_client_key=other_key,
        other_client_key_password=other_password,
        other_client_id=other_client_id,
        rotates_refresh_token=bool(oauth.get("rotates_refresh_token", False)),
        replay_protection=bool(data.get("replay_protection", False)),
        sandbox_reset_path=(data.get("sandbox") or {}).get("reset_path"),
    )


def _retries(entry: dict[str, Any] | None) -> RetryPolicy:
    if not entry:
        return RetryPolicy()
    default = RetryPolicy()
    return RetryPolicy(
        count=int(entry.get("count", 0)),
        on=frozenset(str(v) for v in entry.get("on", default.on)),
        backoff=float(entry.get("backoff", default.backoff)),
    )
