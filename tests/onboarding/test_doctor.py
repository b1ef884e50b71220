"""``doctor``: one line per check, FAIL on real problems (exit 1), warnings do not fail."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from stet_conformance.cli import main
from stet_conformance.config.profile import load_profile
from stet_conformance.config.token_store import AuthorizationCode, StoredToken, TokenStore
from stet_conformance.onboarding.doctor import diagnose, jwt_expiry
from stet_conformance.shared import cavage

if TYPE_CHECKING:
    from conftest import HostileServers

Edit = Callable[[Path, Callable[[dict[str, Any]], None]], None]
CertWriter = Callable[..., x509.Certificate]
KeyLoader = Callable[[Path], rsa.RSAPrivateKey]
S = dt.timedelta(seconds=1)


def doctor(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    code = main(["doctor", *args])
    out = capsys.readouterr().out
    return code, out.splitlines()


def line(lines: list[str], name: str) -> str:
    found = [text for text in lines if text[6:].startswith(name + ":")]
    assert found, f"no check {name!r} in {lines}"
    return found[0]


def jwt(exp: dt.datetime) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256'})}.{part({'exp': int(exp.timestamp())})}.c2ln"


def test_the_sandbox_profile_is_healthy_and_accepts_the_connection(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines = doctor(capsys, "--target", str(copy), "--connect")
    assert code == 0, lines
    assert lines[-1].endswith("0 failed, 0 warnings")
    for name in ("QWAC key pair", "QWAC validity", "oauth.client_id", "signing.key_id", "connect"):
        assert line(lines, name).startswith("ok    ")
    assert "\033[" not in "".join(lines)  # not a terminal: no colour
    assert "QWAC accepted" in line(lines, "connect")


def test_a_qwac_that_does_not_match_its_key(
    copy: Path, capsys: pytest.CaptureFixture[str], cert_writer: CertWriter
) -> None:
    cert_writer(copy.parent / "pki" / "qwac.pem", rsa.generate_private_key(65537, 2048))
    code, lines = doctor(capsys, "--target", str(copy))
    assert code == 1
    assert line(lines, "QWAC key pair").startswith("FAIL  ")
    assert "does not match the key in tls.client_key" in line(lines, "QWAC key pair")
    assert not any(text[6:].startswith("profile loads") for text in lines)  # earlier FAIL


def test_an_expired_qseal_and_a_qwac_near_expiry(
    copy: Path,
    capsys: pytest.CaptureFixture[str],
    cert_writer: CertWriter,
    key_loader: KeyLoader,
    edit: Edit,
) -> None:
    pki = copy.parent / "pki"
    qseal = cert_writer(pki / "qseal.pem", key_loader(pki / "qseal.key"), days=(-60, -2))
    cert_writer(pki / "qwac.pem", key_loader(pki / "qwac.key"), days=(-60, 10))

    def key_id(data: dict[str, Any]) -> None:
        data["signing"]["key_id"] = f"https://tpp.example/qseal_{cavage.fingerprint(qseal)}"

    edit(copy, key_id)
    code, lines = doctor(capsys, "--target", str(copy))
    assert code == 1
    assert line(lines, "QSEAL validity").startswith("FAIL  ")
    assert "expired on" in line(lines, "QSEAL validity")
    assert line(lines, "QWAC validity").startswith("warn  ")
    assert "renew it" in line(lines, "QWAC validity")
    assert line(lines, "signing.key_id").startswith("ok    ")


def test_client_id_that_is_not_the_qwacs(
    copy: Path, capsys: pytest.CaptureFixture[str], edit: Edit
) -> None:
    edit(copy, lambda d: d["oauth"].update(client_id="PSDFR-ACPR-99999"))
    code, lines = doctor(capsys, "--target", str(copy))
    assert code == 1
    check = line(lines, "oauth.client_id")
    assert check.startswith("FAIL  ") and "PSDFR-ACPR-13807" in check
    edit(copy, lambda d: d["oauth"].update(check_client_id=False))
    code, lines = doctor(capsys, "--target", str(copy))
    assert code == 0 and line(lines, "oauth.client_id").startswith("warn  ")


def test_key_id_fingerprint_and_serial_forms(
    copy: Path, capsys: pytest.CaptureFixture[str], edit: Edit
) -> None:
    edit(copy, lambda d: d["signing"].update(key_id="https://tpp.example/qseal_" + "ab" * 32))
    code, lines = doctor(capsys, "--target", str(copy))
    assert code == 1 and line(lines, "signing.key_id").startswith("FAIL  ")
    qseal = x509.load_pem_x509_certificate((copy.parent / "pki" / "qseal.pem").read_bytes())
    edit(copy, lambda d: d["signing"].update(key_id=cavage.serial_key_id(qseal)))
    code, lines = doctor(capsys, "--target", str(copy))
    assert code == 0 and line(lines, "signing.key_id").startswith("ok    ")
    edit(copy, lambda d: d["signing"].update(key_id="SN=1,CA=CN=nobody"))
    code, lines = doctor(capsys, "--target", str(copy))
    assert code == 1 and "SN is not" in line(lines, "signing.key_id")


def test_every_unset_variable_is_listed(
    copy: Path, capsys: pytest.CaptureFixture[str], edit: Edit, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NOPE_A", raising=False)
    monkeypatch.delenv("NOPE_B", raising=False)

    def unset(data: dict[str, Any]) -> None:
        data["oauth"]["client_id"] = "${NOPE_A}"
        data["personas"]["LEA"]["tokens"]["aisp"] = "${NOPE_B}"

    edit(copy, unset)
    code, lines = doctor(capsys, "--target", str(copy))
    assert code == 1
    assert [text for text in lines if text.startswith("FAIL")] == [
        "FAIL  environment: NOPE_A is not set (oauth.client_id)",
        "FAIL  environment: NOPE_B is not set (personas.LEA.tokens.aisp)",
    ]


def test_jwt_expiry_and_missing_tokens(
    copy: Path, capsys: pytest.CaptureFixture[str], edit: Edit
) -> None:
    now = dt.datetime.now(dt.UTC)

    def tokens(data: dict[str, Any]) -> None:
        data["personas"]["LEA"]["tokens"] = {"aisp": jwt(now - dt.timedelta(hours=1)), "pisp": ""}
        data["personas"]["CLAIRE"]["tokens"] = {"aisp": jwt(now + dt.timedelta(hours=1))}

    edit(copy, tokens)
    code, lines = doctor(capsys, "--target", str(copy))
    assert code == 1
    assert line(lines, "token LEA/aisp").startswith("FAIL  ")
    assert "JWT expired" in line(lines, "token LEA/aisp")
    assert line(lines, "token LEA/pisp").startswith("warn  ")
    assert line(lines, "token CLAIRE/aisp").startswith("ok    ")
    out = "\n".join(lines)
    assert jwt(now - dt.timedelta(hours=1)) not in out  # never a token value
    assert jwt_expiry("opaque") is None


def test_token_store_refresh_token_age(
    copy: Path, capsys: pytest.CaptureFixture[str], edit: Edit
) -> None:
    now = dt.datetime.now(dt.UTC)
    store = TokenStore(copy.parent / "tokens.json")
    base_url = str(yaml.safe_load(copy.read_text(encoding="utf-8"))["base_url"])

    def entry(days: int) -> StoredToken:
        return StoredToken(
            "a" * 20,
            "r" * 20,
            now + dt.timedelta(hours=1),
            now,
            now - dt.timedelta(days=days),
            "aisp",
        )

    store.put(base_url, "LEA", "aisp", entry(10))
    store.put(base_url, "CLAIRE", "aisp", entry(160))
    store.put(base_url, "MARC", "aisp", entry(190))
    store.save()
    assert (store.path.stat().st_mode & 0o777) == 0o600
    edit(copy, lambda d: d.update(token_store="tokens.json"))
    code, lines = doctor(capsys, "--target", str(copy))
    assert code == 1
    assert line(lines, "token store").startswith("ok    ")
    assert line(lines, "store LEA/aisp").startswith("ok    ")
    assert line(lines, "store CLAIRE/aisp").startswith("warn  ")
    assert line(lines, "store MARC/aisp").startswith("FAIL  ")
    edit(copy, lambda d: d.update(token_store="missing.json"))
    code, lines = doctor(capsys, "--target", str(copy))
    assert code == 0 and line(lines, "token store").startswith("warn  ")


def test_connect_failures_are_one_line_each(
    copy: Path, capsys: pytest.CaptureFixture[str], edit: Edit
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    original = copy.read_text(encoding="utf-8")
    edit(copy, lambda d: d.update(base_url=f"https://127.0.0.1:{port}"))
    code, lines = doctor(capsys, "--target", str(copy), "--connect")
    assert code == 1 and "cannot connect" in line(lines, "connect")
    copy.write_text(original, encoding="utf-8")
    edit(copy, lambda d: d.pop("tls"))  # no QWAC: the sandbox refuses the handshake
    checks = diagnose(copy, connect=True)
    connect = next(c for c in checks if c.name == "connect")
    assert connect.status == "FAIL", connect
    assert "certificate" in connect.detail


def test_connect_to_a_server_dripping_its_headers_ends_at_the_total_timeout(
    copy: Path, edit: Edit, hostile: HostileServers
) -> None:
    url = hostile.drip_headers(pki=copy.parent / "pki")
    edit(copy, lambda d: d.update(base_url=url, timeouts={"connect": 5, "read": 30, "total": 1}))
    started = time.monotonic()
    connect = next(c for c in diagnose(copy, connect=True) if c.name == "connect")
    assert time.monotonic() - started < 3
    assert connect.status == "FAIL"
    assert connect.detail == f"{url} took longer than 1 s to send the response (timeouts.total)"


def test_a_missing_profile_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["doctor", "--target", str(tmp_path / "nope.yaml")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "target profile not found" in err


def test_an_invalid_profile_fails_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nbase_url: http://bank.example\nsigning: {key: k, key_id: i}\n")
    code, lines = doctor(capsys, "--target", str(bad))
    assert code == 1
    assert lines[0].startswith("FAIL  profile:") and "base_url" in lines[0]


PASTED_TOKEN = "pasted-access-token-5e0f1b7c9a2d"
PASTED_PASSPHRASE = "pasted-passphrase-c3a81e04"


@pytest.mark.parametrize("command", ["doctor", "run"])
def test_a_token_pasted_where_a_path_or_a_variable_name_belongs_is_not_echoed(
    copy: Path, capsys: pytest.CaptureFixture[str], edit: Edit, command: str
) -> None:
    def paste(data: dict[str, Any]) -> None:
        data["signing"]["key"] = PASTED_TOKEN
        data["tls"]["ca_bundle"] = PASTED_TOKEN + "-ca"
        data["tls"]["client_key_password_env"] = PASTED_PASSPHRASE

    edit(copy, paste)
    code = main([command, "--target", str(copy)])
    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert code == (1 if command == "doctor" else 2)
    assert "signing.key" in output
    assert PASTED_TOKEN not in output
    assert PASTED_PASSPHRASE not in output
    if command == "doctor":
        lines = output.splitlines()
        assert "file not found (the value is not a readable file path" in line(
            lines, "file tls.ca_bundle"
        )
        assert "not an environment variable name" in line(lines, "tls.client_key")


def test_disposable_pools_and_fresh_codes_are_counted_never_shown(
    copy: Path, edit: Edit, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bank's profile: no browserless authorize, a token store, LEA's pool of two."""
    pool = load_profile(copy).personas.credentials["LEA"].disposable_refresh_tokens["aisp"][:2]

    def bank(data: dict[str, Any]) -> None:
        del data["sandbox"]["authorize_without_browser"]
        data["token_store"] = "tokens.json"
        data["personas"]["LEA"]["disposable_refresh_tokens"]["aisp"] = list(pool)

    edit(copy, bank)
    target, now = load_profile(copy).base_url, dt.datetime.now(dt.UTC)
    _, lines = doctor(capsys, "--target", str(copy))
    assert line(lines, "disposable refresh tokens LEA/aisp").endswith(": 2 unused, 0 used by runs")
    hint = f"stet-conformance login --target {copy} --persona LEA --scope aisp"
    assert line(lines, "authorization codes LEA/aisp") == (
        "warn  authorization codes LEA/aisp: none fresh (oauth.code_max_age 600 s): the code "
        f"scenarios are skipped; {hint} --codes 3 just before a run"
    )
    store = TokenStore(copy.parent / "tokens.json")
    store.mark_used(target, pool[0], now, "LEA", "aisp")
    codes = [
        AuthorizationCode("fresh-code-0123456789", "http://127.0.0.1:1/cb", "verifier-0123", now),
        AuthorizationCode("stale-code-0123456789", "http://127.0.0.1:1/cb", None, now - 700 * S),
    ]
    for code in codes:
        store.add_code(target, "LEA", "aisp", code)
    store.save()
    _, lines = doctor(capsys, "--target", str(copy))
    assert line(lines, "disposable refresh tokens LEA/aisp").endswith(": 1 unused, 1 used by runs")
    assert re.search(
        r"ok    authorization codes LEA/aisp: 1 fresh, the oldest for (5\d\d|600) s more "
        r"\(oauth.code_max_age 600 s\), 1 stale$",
        line(lines, "authorization codes LEA/aisp"),
    )
    store.mark_used(target, pool[1], now, "LEA", "aisp")
    store.save()
    code, lines = doctor(capsys, "--target", str(copy))
    assert code == 0  # an empty pool skips scenarios: a warning, not a failure
    assert line(lines, "disposable refresh tokens LEA/aisp") == (
        "warn  disposable refresh tokens LEA/aisp: none unused, 2 used by runs: the revocation "
        f"scenarios are skipped; {hint} --disposable N adds N"
    )
    secrets = [*pool, *(s for c in codes for s in c.secrets())]
    assert not any(secret in "\n".join(lines) for secret in secrets)


def test_the_bundled_sandbox_hands_codes_out_at_run_time(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, lines = doctor(capsys, "--target", str(copy))
    assert line(lines, "authorization codes LEA/aisp").endswith(
        ": obtained at run time (sandbox.authorize_without_browser)"
    )
    assert line(lines, "disposable refresh tokens LEA/aisp").endswith(
        ": 24 unused (no token_store: runs do not remember the ones they took)"
    )
