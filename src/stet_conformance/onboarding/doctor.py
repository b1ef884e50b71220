"""``doctor``: every check a profile needs before a first run, each on its own line.

``load_profile`` stops at the first problem, which is right for a run but slow for onboarding:
a QA engineer with three wrong settings would need three tries. Here each setting is checked on
its own, expiry gets a 30-day warning, and the keyId and token store are inspected too. Nothing
is sent to the bank unless ``connect`` is asked for, and then only one cheap request.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import os
import re
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from stet_conformance.config.material import check_ca_bundle, loose_permissions
from stet_conformance.config.profile import (
    DEFAULT_API_PREFIX,
    ProfileDocument,
    add_stored_tokens,
    check_urls,
    env_password,
    interpolate,
    load_certificate,
    load_limits,
    load_oauth,
    load_personas,
    load_private_key,
    load_profile,
    not_a_file,
    read_document,
    unset_variables,
    validate_schema,
)
from stet_conformance.config.token_store import (
    REFRESH_LIFETIME,
    REFRESH_WARNING,
    TokenStore,
    TokenStoreError,
)
from stet_conformance.errors import UsageError
from stet_conformance.http.bounded import Bounds, TransportError, bounded_client, send_bounded
from stet_conformance.http.tls import client_context
from stet_conformance.scenario.loader import load_all
from stet_conformance.scenario.templating import taken
from stet_conformance.shared import cavage
from stet_conformance.shared.certs import organization_identifier
from stet_conformance.shared.resources import scenarios_dir

Status = Literal["ok", "warn", "FAIL"]
EXPIRY_WARNING = dt.timedelta(days=30)
_URL_FINGERPRINT = re.compile(r"_([0-9A-Fa-f]{64})$")
_SERIAL_KEY_ID = re.compile(r"SN=([0-9A-Fa-f]+)\s*,\s*CA=(.+)")


@dataclass(frozen=True)
class Check:
    status: Status
    name: str
    detail: str

    def line(self) -> str:
        return f"{self.status:<4}  {self.name}: {self.detail}"


@dataclass
class Doctor:
    """Collects checks; ``failed`` decides the exit code."""

    path: Path
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    checks: list[Check] = field(default_factory=list)

    def add(self, status: Status, name: str, detail: str) -> None:
        self.checks.append(Check(status, name, detail))

    @property
    def failed(self) -> bool:
        return any(c.status == "FAIL" for c in self.checks)


def diagnose(path: Path, connect: bool = False, now: dt.datetime | None = None) -> list[Check]:
    """All checks of one profile; a missing profile file is a ``UsageError`` (exit 2)."""
    if not path.is_file():
        raise UsageError(f"target profile not found: {path}")
    doc = Doctor(path, now or dt.datetime.now(dt.UTC))
    document = _read(doc)
    if document is None:
        return doc.checks
    data = document.data
    doc.add("ok", "profile", f"{path} parses ({data['name']}, {data['base_url']})")
    files = _files(doc, document)
    qwac, _ = _qwac(doc, data, files)
    qseal = _qseal(doc, data, files)
    _key_id(doc, data["signing"]["key_id"], qseal)
    for setting in ("tls.client_key", "signing.key"):
        if setting in files:
            warning = loose_permissions(files[setting])
            doc.add("warn" if warning else "ok", f"permissions {setting}", warning or "0600")
    if not doc.failed:
        try:
            load_profile(path)
            doc.add("ok", "profile loads", "as a run would load it")
        except UsageError as exc:
            doc.add("FAIL", "profile loads", str(exc))
    _tokens(doc, document)
    _consumables(doc, document)
    if connect:
        _connect(doc, document, files, qwac is not None)
    return doc.checks


def _read(doc: Doctor) -> ProfileDocument | None:
    """The first steps of ``load_profile``; every unset variable is listed, not only the first."""
    try:
        document = read_document(doc.path)
        missing = list(unset_variables(document))
        for name, where in missing:
            doc.add("FAIL", "environment", f"{name} is not set ({where})")
        if missing:
            return None
        document = interpolate(document)
        validate_schema(document)
        check_urls(document)
    except UsageError as exc:
        doc.add("FAIL", "profile", str(exc))
        return None
    return document


FILE_SETTINGS = (
    "tls.ca_bundle",
    "tls.client_cert",
    "tls.client_key",
    "signing.key",
    "signing.certificate",
)


def _files(doc: Doctor, document: ProfileDocument) -> dict[str, Path]:
    """Each configured file exists; returns setting -> resolved path of those that do."""
    found: dict[str, Path] = {}
    for setting in FILE_SETTINGS:
        path = document.path_of(setting)
        if path is None:
            continue
        if path.is_file():
            found[setting] = path
            doc.add("ok", f"file {setting}", str(path))
        else:
            doc.add("FAIL", f"file {setting}", not_a_file(doc.path.parent))
    if document.path_of("tls.client_cert") is None:
        doc.add("warn", "file tls.client_cert", "no QWAC configured: the bank will refuse mTLS")
    return found


def _validity(doc: Doctor, name: str, cert: x509.Certificate) -> None:
    start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
    if start > doc.now:
        doc.add("FAIL", name, f"not valid yet (from {start:%Y-%m-%d})")
    elif end < doc.now:
        doc.add("FAIL", name, f"expired on {end:%Y-%m-%d}")
    elif end - doc.now < EXPIRY_WARNING:
        doc.add("warn", name, f"expires on {end:%Y-%m-%d} ({(end - doc.now).days} days): renew it")
    else:
        doc.add("ok", name, f"valid until {end:%Y-%m-%d}")


def _load_key(
    doc: Doctor, setting: str, path: Path, password_env: str | None
) -> rsa.RSAPrivateKey | None:
    try:
        password = env_password(password_env)
    except ValueError as exc:
        doc.add("FAIL", setting, f"{setting}_password_env: {exc}")
        return None
    try:
        return load_private_key(path, password, setting)
    except UsageError as exc:
        doc.add("FAIL", setting, str(exc).removeprefix(f"{setting}: "))
        return None


def _load_cert(doc: Doctor, setting: str, path: Path) -> x509.Certificate | None:
    try:
        return load_certificate(path, setting)
    except UsageError as exc:
        doc.add("FAIL", setting, str(exc).removeprefix(f"{setting}: "))
        return None


def _qwac(
    doc: Doctor, data: dict[str, Any], files: dict[str, Path]
) -> tuple[x509.Certificate | None, rsa.RSAPrivateKey | None]:
    tls = data.get("tls") or {}
    cert = (
        _load_cert(doc, "tls.client_cert", files["tls.client_cert"])
        if ("tls.client_cert" in files)
        else None
    )
    key = (
        _load_key(
            doc, "tls.client_key", files["tls.client_key"], tls.get("client_key_password_env")
        )
        if "tls.client_key" in files
        else None
    )
    if cert is None:
        return None, key
    if key is not None:
        _key_pair(doc, "QWAC key pair", cert, key, "tls.client_key")
    _validity(doc, "QWAC validity", cert)
    org_id = organization_identifier(cert)
    oauth = data.get("oauth") or {}
    client_id = oauth.get("client_id")
    if org_id is None:
        doc.add("FAIL", "QWAC organizationIdentifier", "missing (OID 2.5.4.97): not a PSD2 QWAC")
    elif not client_id:
        doc.add("warn", "oauth.client_id", f"not set; the QWAC's identifier is {org_id}")
    elif client_id == org_id:
        doc.add("ok", "oauth.client_id", f"{client_id} equals the QWAC's organizationIdentifier")
    elif oauth.get("check_client_id", True) is False:
        doc.add("warn", "oauth.client_id", f"{client_id} is not {org_id} (check_client_id: false)")
    else:
        doc.add("FAIL", "oauth.client_id", f"{client_id} is not the QWAC's identifier {org_id}")
    return cert, key


def _key_pair(
    doc: Doctor, label: str, cert: x509.Certificate, key: rsa.RSAPrivateKey, setting: str
) -> None:
    if cert.public_key() == key.public_key():
        doc.add("ok", label, f"certificate matches {setting}")
    else:
        doc.add("FAIL", label, f"the certificate does not match the key in {setting}")


def _qseal(doc: Doctor, data: dict[str, Any], files: dict[str, Path]) -> x509.Certificate | None:
    signing = data["signing"]
    key = (
        _load_key(doc, "signing.key", files["signing.key"], signing.get("key_password_env"))
        if "signing.key" in files
        else None
    )
    if key is not None:
        doc.add("ok", "QSEAL key", f"RSA {key.key_size} bits")
    if "signing.certificate" not in files:
        if not signing.get("certificate"):
            doc.add("warn", "QSEAL certificate", "signing.certificate not set: keyId not checked")
        return None
    cert = _load_cert(doc, "signing.certificate", files["signing.certificate"])
    if cert is None:
        return None
    if key is not None:
        _key_pair(doc, "QSEAL key pair", cert, key, "signing.key")
    _validity(doc, "QSEAL validity", cert)
    return cert


def _key_id(doc: Doctor, key_id: str, cert: x509.Certificate | None) -> None:
    """The keyId designates the QSEAL certificate (the bank resolves the key from it)."""
    name = "signing.key_id"
    url = _URL_FINGERPRINT.search(key_id.split("?", 1)[0])
    serial = _SERIAL_KEY_ID.fullmatch(key_id.strip())
    if url is None and serial is None:
        doc.add("warn", name, "neither a URL ending in _<sha256> nor SN=..,CA=..: not checked")
        return
    if cert is None:
        return
    if url is not None:
        expected = cavage.fingerprint(cert)
        if url.group(1).lower() == expected:
            doc.add("ok", name, "fingerprint equals the QSEAL certificate's SHA-256")
        else:
            doc.add("FAIL", name, f"fingerprint is not the QSEAL certificate's ({expected})")
        return
    assert serial is not None
    problems = []
    if int(serial.group(1), 16) != cert.serial_number:
        problems.append(f"SN is not the certificate's serial {cert.serial_number:x}")
    if serial.group(2).strip() != cert.issuer.rfc4514_string():
        problems.append(f"CA is not the issuer {cert.issuer.rfc4514_string()}")
    if problems:
        doc.add("FAIL", name, "; ".join(problems))
    else:
        doc.add("ok", name, "SN and CA designate the QSEAL certificate")


def jwt_expiry(token: str) -> dt.datetime | None:
    """``exp`` of a JWT, decoded without verification (only to warn); None if not a JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return None
    exp = payload.get("exp") if isinstance(payload, dict) else None
    return dt.datetime.fromtimestamp(exp, dt.UTC) if isinstance(exp, int | float) else None


def _tokens(doc: Doctor, document: ProfileDocument) -> None:
    configured: dict[tuple[str, str], str] = {}
    listed: set[tuple[str, str]] = set()
    for persona, entry in document.section("personas").items():
        for scope, value in ((entry or {}).get("tokens") or {}).items():
            listed.add((persona, scope))
            if value:
                configured[(persona, scope)] = value
    refreshable: set[tuple[str, str]] = set()
    store_path = document.path_of("token_store")
    if store_path is not None:
        _store(doc, store_path, document.data["base_url"], configured, refreshable)
    if not configured:
        doc.add("warn", "tokens", "none configured: run stet-conformance login (or set them)")
    for persona, scope in sorted(listed - set(configured)):
        doc.add("warn", f"token {persona}/{scope}", "empty: scenarios needing it are skipped")
    for (persona, scope), value in sorted(configured.items()):
        name = f"token {persona}/{scope}"
        exp = jwt_expiry(value)
        if exp is None:
            doc.add("ok", name, "present (opaque: expiry not readable)")
        elif exp > doc.now:
            doc.add("ok", name, f"present (JWT, expires {exp:%Y-%m-%d %H:%M} UTC)")
        elif (persona, scope) in refreshable:
            doc.add("warn", name, f"JWT expired {exp:%Y-%m-%d %H:%M} UTC; run refreshes it")
        else:
            doc.add("FAIL", name, f"JWT expired {exp:%Y-%m-%d %H:%M} UTC")


def _store(
    doc: Doctor,
    path: Path,
    target: str,
    configured: dict[tuple[str, str], str],
    refreshable: set[tuple[str, str]],
) -> None:
    if not path.exists():
        doc.add("warn", "token store", "the file does not exist yet: run stet-conformance login")
        return
    try:
        store = TokenStore.load(path)
    except TokenStoreError as exc:
        doc.add("FAIL", "token store", str(exc))
        return
    entries = list(store.entries(target))
    warning = loose_permissions(path)
    doc.add("warn" if warning else "ok", "token store", warning or f"{path}, {len(entries)} tokens")
    for persona, scope, token in entries:
        name = f"store {persona}/{scope}"
        if token.refresh_token:
            refreshable.add((persona, scope))
            age = token.refresh_age(doc.now)
            if age >= REFRESH_LIFETIME:
                doc.add("FAIL", name, f"refresh token {age.days} days old (180-day life): login")
            elif age >= REFRESH_WARNING:
                left = (REFRESH_LIFETIME - age).days
                doc.add("warn", name, f"refresh token expires in {left} days: plan a login")
            else:
                doc.add("ok", name, f"refresh token {age.days} days old (180-day life)")
        elif token.expires_within(dt.timedelta(0), doc.now):
            doc.add("FAIL", name, "access token expired and no refresh token: login again")
        configured.setdefault((persona, scope), token.access_token)


Pair = tuple[str, str]  # persona, scope


def _consumed() -> dict[tuple[str, str, str], int]:
    """How many scenarios take a disposable refresh token or a code, per persona and scope."""
    counts: dict[tuple[str, str, str], int] = {}
    for scenario in load_all(sorted(scenarios_dir().glob("*.yaml"))):
        steps = (*scenario.steps, *scenario.cleanup)
        for key in taken([step.request.templates() for step in steps]):
            counts[key] = counts.get(key, 0) + 1
    return counts


def _consumables(doc: Doctor, document: ProfileDocument) -> None:
    """The supply of what scenarios consume: disposable refresh tokens and authorization codes,
    per persona and scope (counts only, never a value)."""
    try:
        credentials, _ = add_stored_tokens(document, load_personas(document)[1])
    except UsageError:
        return  # the token store's line says what is wrong
    path = document.path_of("token_store")
    store = TokenStore.load(path) if path is not None else None
    consumed = _consumed()
    unused = {
        (persona, scope): len(pool)
        for persona, entry in credentials.items()
        for scope, pool in entry.disposable_refresh_tokens.items()
    }
    used = store.used_counts(document.data["base_url"]) if store is not None else {}
    needed = {(p, s) for (f, p, s) in consumed if f == "disposable_refresh_token"}
    for pair in sorted(needed | set(unused) | set(used)):
        _pool(doc, pair, unused.get(pair, 0), used.get(pair), store is not None)
    codes = {(p, s): n for (f, p, s), n in consumed.items() if f == "authorization_code"}
    for pair, count in sorted(codes.items()):
        _codes(doc, document, store, pair, count)


def _hint(doc: Doctor, pair: Pair, option: str) -> str:
    persona, scope = pair
    return (
        f"stet-conformance login --target {doc.path} --persona {persona} --scope {scope} {option}"
    )


def _pool(doc: Doctor, pair: Pair, unused: int, used: int | None, stored: bool) -> None:
    name = f"disposable refresh tokens {'/'.join(pair)}"
    taken_before = f", {used or 0} used by runs" if stored else ""
    if unused:
        memory = "" if stored else " (no token_store: runs do not remember the ones they took)"
        doc.add("ok", name, f"{unused} unused{taken_before}{memory}")
    else:
        what = f"none unused{taken_before}: the revocation scenarios are skipped"
        doc.add("warn", name, f"{what}; {_hint(doc, pair, '--disposable N')} adds N")


def _codes(
    doc: Doctor, document: ProfileDocument, store: TokenStore | None, pair: Pair, count: int
) -> None:
    name = f"authorization codes {'/'.join(pair)}"
    max_age = dt.timedelta(seconds=load_oauth(document).code_max_age)
    stored = (
        [c for p, s, c in store.codes(document.data["base_url"]) if (p, s) == pair] if store else []
    )
    fresh = [c for c in stored if c.fresh(max_age, doc.now)]
    setting = f"oauth.code_max_age {max_age.total_seconds():.0f} s"
    if fresh:
        left = (min(c.obtained_at for c in fresh) + max_age - doc.now).total_seconds()
        stale = f", {len(stored) - len(fresh)} stale" if len(stored) > len(fresh) else ""
        doc.add(
            "ok", name, f"{len(fresh)} fresh, the oldest for {int(left)} s more ({setting}){stale}"
        )
    elif document.section("sandbox").get("authorize_without_browser"):
        doc.add("ok", name, "obtained at run time (sandbox.authorize_without_browser)")
    else:
        hint = _hint(doc, pair, f"--codes {count}")
        doc.add(
            "warn",
            name,
            f"none fresh ({setting}): the code scenarios are skipped; {hint} just before a run",
        )


def _connect(
    doc: Doctor, document: ProfileDocument, files: dict[str, Path], has_qwac: bool
) -> None:
    """One TLS connection and one unsigned GET of the API prefix: trust and mTLS acceptance."""
    base_url = document.data["base_url"]
    prefix = document.data.get("api_prefix", DEFAULT_API_PREFIX)
    env = document.value("tls.client_key_password_env")
    try:
        check_ca_bundle(files.get("tls.ca_bundle"), "tls.ca_bundle")
    except UsageError as exc:  # not the QWAC's fault: say which file
        doc.add("FAIL", "connect", str(exc))
        return
    try:
        context = client_context(
            files.get("tls.ca_bundle"),
            files.get("tls.client_cert"),
            files.get("tls.client_key"),
            os.environ.get(env) if env else None,
        )
    except (ssl.SSLError, OSError) as exc:
        doc.add("FAIL", "connect", f"cannot use the QWAC certificate and key: {exc}")
        return
    limits = load_limits(document)
    try:
        with bounded_client(context, limits) as client:
            request = client.build_request("GET", base_url + prefix)
            response = send_bounded(client, request, Bounds.of(limits, base_url))
    except TransportError as exc:
        doc.add("FAIL", "connect", str(exc))
        return
    if not has_qwac:
        doc.add("warn", "connect", f"TLS ok without a QWAC (HTTP {response.status_code})")
        return
    doc.add(
        "ok",
        "connect",
        f"server certificate trusted, QWAC accepted (GET {prefix}: HTTP {response.status_code})",
    )
