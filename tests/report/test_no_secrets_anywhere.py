"""Plant known secrets in a profile; prove none reaches any file a run, report or pack writes.

The profile carries the sandbox's real tokens (literal and through ``${VAR}``), a planted token
the bank does not know (so scenarios fail and their exchanges are recorded), and both private
keys encrypted with passphrases read from the environment, and a token store holding an
authorization code as ``login --codes`` keeps it (with its PKCE verifier). Its overrides fail the
step that exchanges that code, the one capturing a fallback token, and a check that quotes a
token response's tokens; a sandbox fault fails a property-based suite (Hypothesis prints its
arguments). Every secret the sandbox hands out during the run is remembered and searched for
too. Every byte is searched: the files of the results directory, the Allure history, the HTML
report *including its base64-embedded data*, the evidence zip as stored and every member
inflated, and everything the commands printed.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import yaml
from cli_run import cli
from cryptography.hazmat.primitives import serialization

from stet_conformance.config.token_store import AuthorizationCode, TokenStore
from stet_conformance.errors import UsageError
from stet_conformance.http.tls import client_context
from stet_conformance.report.html import allure_command
from stet_conformance.sandbox.server import SandboxServer
from stet_conformance.shared.pkce import pkce_pair

PLANTED_TOKEN = "planted-pisp-token-3e7d1c9b55aa"
QWAC_PASSPHRASE = "planted-qwac-passphrase-8c41f2"
QSEAL_PASSPHRASE = "planted-qseal-passphrase-5b07e9"
_EMBEDDED = re.compile(rb'd\("([^"]+)","([A-Za-z0-9+/=]*)"\)')
SUITE_FAULT = "ipv6-psu-ip-500"  # fails test_psu_ip_address_served_or_garbage_refused
FAILING_SUITE = "test_psu_ip_address_served_or_garbage_refused"
# The steps that send a stored code and its verifier, read a fallback token and a token
# response, or send a disposable refresh token, made to fail.
OVERRIDES = {
    "OAU-CODE-FLOW": {
        "reason": "planted: the step exchanging the stored code fails",
        "step": 1,
        "expect": {"status": 201},
    },
    "FBK-1": {
        "reason": "planted: the fallback token's step fails",
        "step": 1,
        "expect": {"status": 200},
    },
    "OAU-REVOKE-REFRESH": {
        "reason": "planted: the step sending a disposable refresh token fails",
        "step": 1,
        "expect": {"status": 201},
    },
    "OAU-REFRESH": {
        "reason": "planted: a check quotes the token response's tokens",
        "step": "refresh",
        "expect": {  # the override itself is attached to the step in Allure
            "data": [
                {"path": "access_token", "equals": "planted"},
                {"path": "refresh_token", "equals": PLANTED_TOKEN},
            ]
        },
    },
}


class _Remembering(dict[str, Any]):
    """A sandbox state table that remembers every key it was given (issued secrets)."""

    def __init__(self, table: dict[str, Any], issued: set[str]) -> None:
        super().__init__(table)
        self.issued = issued

    def __setitem__(self, key: str, value: Any) -> None:
        self.issued.add(key)
        super().__setitem__(key, value)


def _remember_issued(server: SandboxServer) -> set[str]:
    """Every code, fallback token, access and refresh token the sandbox issues from now on."""
    issued: set[str] = set()
    state = server.state
    for name in ("codes", "fallback", "access", "refresh"):
        setattr(state, name, _Remembering(getattr(state, name), issued))
    return issued


def _login_code(profile: dict[str, Any], directory: Path) -> AuthorizationCode:
    """A code as ``login --codes`` stores it, from the sandbox's authorize page."""
    verifier, challenge = pkce_pair()
    redirect_uri = "http://127.0.0.1:9/callback"
    pki = directory / "pki"
    context = client_context(pki / "ca.pem", pki / "qwac.pem", pki / "qwac.key")
    query = {
        "response_type": "code",
        "client_id": profile["oauth"]["client_id"],
        "redirect_uri": redirect_uri,
        "scope": "aisp",
        "psu": "LEA",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    with httpx.Client(verify=context, timeout=10) as client:
        answer = client.get(profile["oauth"]["authorize_url"], params=query)
    code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
    return AuthorizationCode(code, redirect_uri, verifier, dt.datetime.now(dt.UTC))


def _encrypt_key(source: Path, target: Path, passphrase: str) -> None:
    key = serialization.load_pem_private_key(source.read_bytes(), None)
    target.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(passphrase.encode()),
        )
    )


def _key_material(path: Path) -> list[str]:
    """Lines of a PEM key's body long enough to be unmistakable."""
    return [line for line in path.read_text().splitlines() if len(line) > 40]


def expand(name: str, blob: bytes) -> Iterator[tuple[str, bytes]]:
    """The blob, the data a single-file HTML report embeds in base64, a zip's members."""
    yield name, blob
    if name.endswith(".html"):
        for data_name, value in _EMBEDDED.findall(blob):
            yield f"{name}#{data_name.decode()}", base64.b64decode(value)
    if name.endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(blob)) as archive:
            for info in archive.infolist():
                yield from expand(f"{name}!{info.filename}", archive.read(info))


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("planted")
    with SandboxServer(root / "sandbox", [SUITE_FAULT]) as server:
        issued = _remember_issued(server)
        directory = Path(server.profile_path).parent
        profile: dict[str, Any] = yaml.safe_load(Path(server.profile_path).read_text())
        tokens = [
            token
            for persona in profile["personas"].values()
            for table in persona.values()
            for value in table.values()
            for token in (value if isinstance(value, list) else [value])  # disposable ones
        ]
        env = {
            "QWAC_PASSPHRASE": QWAC_PASSPHRASE,
            "QSEAL_PASSPHRASE": QSEAL_PASSPHRASE,
            "CLAIRE_AISP_TOKEN": profile["personas"]["CLAIRE"]["tokens"]["aisp"],
        }
        profile["personas"]["CLAIRE"]["tokens"]["aisp"] = "${CLAIRE_AISP_TOKEN}"
        profile["personas"]["LEA"]["tokens"]["pisp"] = PLANTED_TOKEN
        _encrypt_key(
            directory / "pki" / "qwac.key", directory / "pki" / "qwac-enc.key", QWAC_PASSPHRASE
        )
        _encrypt_key(
            directory / "pki" / "qseal.key", directory / "pki" / "qseal-enc.key", QSEAL_PASSPHRASE
        )
        profile["tls"].update(
            client_key="pki/qwac-enc.key", client_key_password_env="QWAC_PASSPHRASE"
        )
        profile["signing"].update(key="pki/qseal-enc.key", key_password_env="QSEAL_PASSPHRASE")
        profile["overrides"] = OVERRIDES
        stored = _login_code(profile, directory)
        store = TokenStore(directory / "tokens.json")
        store.add_code(profile["base_url"], "LEA", "aisp", stored)
        store.save()
        profile["token_store"] = "tokens.json"
        planted_profile = directory / "planted.yaml"
        planted_profile.write_text(yaml.safe_dump(profile, sort_keys=False))

        results = root / "nightly" / "run"
        outputs = []
        done = cli(
            "run",
            "--target",
            str(planted_profile),
            "--results",
            str(results),
            "--mode",
            "regression",
            env=env,
        )
        outputs.append(done.stdout + done.stderr)
        assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-2000:]
        try:
            allure_command()
            done = cli("report", str(results), env=env)
            assert done.returncode == 0, done.stderr
            outputs.append(done.stdout + done.stderr)
        except UsageError:
            pass  # no Allure here; CI installs it (.ci/run)
        pack = root / "pack.zip"
        done = cli(
            "evidence",
            "build",
            str(results),
            "--target",
            str(planted_profile),
            "-o",
            str(pack),
            env=env,
        )
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout + done.stderr)
        done = cli("evidence", "verify", str(pack))
        assert done.returncode == 0, done.stdout
        outputs.append(done.stdout + done.stderr)

        assert len(issued) > 10  # codes, fallback tokens, access and refresh tokens
        secrets = {
            *tokens,
            *issued,
            *stored.secrets(),
            PLANTED_TOKEN,
            QWAC_PASSPHRASE,
            QSEAL_PASSPHRASE,
            *(
                line
                for name in ("qwac.key", "qseal.key", "qwac-enc.key", "qseal-enc.key")
                for line in _key_material(directory / "pki" / name)
            ),
        }
        yield {
            "results": results,
            "history": results.parent / "allure-history.jsonl",
            "pack": pack,
            "secrets": secrets,
            "issued": issued,
            "outputs": outputs,
            "store": TokenStore.load(directory / "tokens.json"),
            "target": profile["base_url"],
        }


def _everything(planted: dict[str, Any]) -> list[tuple[str, bytes]]:
    blobs: list[tuple[str, bytes]] = []
    files = [p for p in planted["results"].rglob("*") if p.is_file()]
    if planted["history"].is_file():
        files.append(planted["history"])
    files.append(planted["pack"])
    for path in files:
        blobs.extend(expand(str(path), path.read_bytes()))
    blobs.extend((f"output #{i}", text.encode()) for i, text in enumerate(planted["outputs"]))
    return blobs


def test_the_planted_token_was_really_sent_and_recorded(planted: dict[str, Any]) -> None:
    """Not vacuous: a scenario failed on the planted token, and its exchange was recorded."""
    junit = (planted["results"] / "junit.xml").read_text()
    assert "TRX-3" in junit and "<failure" in junit
    attachments = [p.read_text() for p in (planted["results"] / "allure").glob("*-attachment.*")]
    assert any("authorization: [REDACTED]" in a for a in attachments)


def test_the_capturing_steps_and_a_suite_really_failed(planted: dict[str, Any]) -> None:
    """Not vacuous: the stored code and its verifier (taken from the store), the fallback
    token and the token response were shown redacted, and Hypothesis printed a failing example
    with its arguments."""
    cases = ET.parse(planted["results"] / "junit.xml").getroot().iter("testcase")
    failed = {case.get("name") for case in cases if case.find("failure") is not None}
    assert {*OVERRIDES, FAILING_SUITE} <= failed
    output = planted["outputs"][0]
    assert f"Failing explicit example: {FAILING_SUITE}(" in output
    assert list(planted["store"].codes(planted["target"])) == []
    for shown in (
        "code=[REDACTED]&redirect_uri=",
        "code_verifier=[REDACTED]",
        "?token=[REDACTED]",
        "access_token equals: #0: '[REDACTED]'",
        "refresh_token=[REDACTED]",  # the disposable refresh token OAU-REVOKE-REFRESH sent
    ):
        assert shown in output
    assert any(len(secret) > 100 for secret in planted["issued"])  # a fallback JWT


def test_no_secret_in_any_file_of_the_results_report_or_pack(planted: dict[str, Any]) -> None:
    blobs = _everything(planted)
    names = [name for name, _ in blobs]
    assert any(name.endswith("pack.zip!manifest.json") for name in names)
    assert any("pack.zip!results/allure/" in name for name in names)
    if (planted["results"] / "report.html").is_file():
        embedded = [name for name in names if "report.html#" in name]
        assert len(embedded) > 50  # the report's data really was decoded and searched
        assert any(b"authorization: [REDACTED]" in blob for name, blob in blobs if "#" in name)
    assert len(planted["secrets"]) > 30
    leaks = [
        (name, secret[:8] + "...")
        for secret in planted["secrets"]
        for name, blob in blobs
        if secret.encode() in blob
    ]
    assert not leaks


def test_the_sanitized_profile_in_the_pack_shows_redactions(planted: dict[str, Any]) -> None:
    with zipfile.ZipFile(planted["pack"]) as archive:
        profile = archive.read("results/profile.yaml").decode()
    assert "[REDACTED]" in profile
    pools = yaml.safe_load(profile)["personas"]["LEA"]["disposable_refresh_tokens"]
    assert set(pools["aisp"]) == {"[REDACTED]"}
