"""Target profiles: a sandbox-written profile loads; broken ones fail with file, line, setting.

No error message may contain a secret (a token or a passphrase).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from stet_conformance.config.live import refuse_live
from stet_conformance.config.profile import DEFAULT_API_PREFIX, load_profile
from stet_conformance.config.settings import Imputation, RetryPolicy
from stet_conformance.errors import ConfigError, UsageError
from stet_conformance.http.redact import Redactor
from stet_conformance.plugin.recorder import sanitized_profile
from stet_conformance.sandbox.server import SandboxServer

PROFILE_DOC = Path(__file__).resolve().parents[2] / "docs" / "profile.md"
SECRET = "sEcReT-t0ken-Value-91f3a7"
PASSPHRASE = "correct-horse-battery-staple-42"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    """A sandbox that writes its profile and PKI; never started (no network needed)."""
    server = SandboxServer(tmp_path_factory.mktemp("profile-sandbox"))
    try:
        yield server
    finally:
        server.stop()


# --- the valid, sandbox-written profile ---------------------------------------------------------


def test_sandbox_profile_loads(sandbox: SandboxServer) -> None:
    raw = yaml.safe_load(sandbox.profile_path.read_text(encoding="utf-8"))
    profile = load_profile(sandbox.profile_path)
    pki = sandbox.directory / "pki"

    assert profile.name == "reference-sandbox"
    assert profile.source == sandbox.profile_path
    assert profile.base_url == sandbox.base_url
    assert profile.api_prefix == DEFAULT_API_PREFIX
    assert profile.psu_ip_address == "192.168.0.1"
    assert profile.tls.ca_bundle == pki / "ca.pem"
    assert profile.tls.client_cert == pki / "qwac.pem"
    assert profile.tls.client_key == pki / "qwac.key"
    assert profile.tls.client_key_password is None
    assert profile.other_tpp is not None
    assert profile.other_tpp.tls.client_cert == pki / "qwac-other.pem"
    assert profile.other_tpp.tls.ca_bundle == pki / "ca.pem"
    assert profile.signing.certificate is not None
    assert profile.signing.key_id == raw["signing"]["key_id"]
    assert profile.signing.headers is None
    assert profile.oauth.client_id == raw["oauth"]["client_id"]
    assert profile.oauth.token_url == raw["oauth"]["token_url"]
    limits = profile.limits
    assert (limits.connect_timeout, limits.read_timeout, limits.total_timeout) == (5, 5, 10)
    assert profile.overrides == {}
    for name, entry in raw["personas"].items():
        creds = profile.personas.credentials[name]
        assert creds.tokens == entry["tokens"]
        assert creds.refresh_tokens == entry["refresh_tokens"]
        assert creds.expired_tokens == entry["expired_tokens"]
    lea_token = raw["personas"]["LEA"]["tokens"]["aisp"]
    assert lea_token in profile.secrets()
    assert raw["personas"]["LEA"]["refresh_tokens"]["aisp"] in profile.secrets()
    # persona fixture data and variables come from fixtures/personas.yaml
    assert profile.personas.data["LEA"]["accounts"][0]["iban"] == "FR7612579000920400430518020"
    assert profile.variables["unknown_account"] == "CPT30014684067"
    assert profile.sandbox_reset_path == "/sandbox/reset"
    assert profile.browserless_authorize is True
    pool = raw["personas"]["LEA"]["disposable_refresh_tokens"]["aisp"]
    assert profile.personas.credentials["LEA"].disposable_refresh_tokens == {"aisp": tuple(pool)}
    assert len(pool) == len(set(pool)) > 2 and set(pool) <= profile.secrets()
    assert not any(token in repr(profile.personas.credentials["LEA"]) for token in pool)


def test_profile_extras_are_parsed(sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_TEST_TOKEN", SECRET)
    text = sandbox.profile_path.read_text(encoding="utf-8").split("personas:")[0]
    text = text.replace("api_prefix: /stet/psd2/v1.4.2", "api_prefix: /psd2/")
    text = text.replace("timeouts: {connect: 5, read: 5, total: 10}\n", "")
    text += (
        "psu_ip_address: null\n"
        "timeouts: {connect: 2, read: 7.5}\n"
        "vars: {unknown_account: NOPE1, extra: 3}\n"
        "personas:\n"
        "  LEA:\n"
        "    tokens: {aisp: '${HARNESS_TEST_TOKEN}', pisp: '', cbpii: null}\n"
        "    data: {name: OTHER NAME, accounts: [{iban: FR00}]}\n"
        "overrides:\n"
        "  BAL-1: {reason: 'bank rounds balances', step: 1, expect: {status: 404}}\n"
        "  ACC-3: {reason: 'no 405 here', skip: true}\n"
    )
    text = text.replace("key_id:", "headers: ['(request-target)', digest], key_id:")
    path = sandbox.directory / "extras.yaml"
    path.write_text(text, encoding="utf-8")

    profile = load_profile(path)
    assert profile.api_prefix == "/psd2"
    assert profile.psu_ip_address is None
    assert (profile.limits.connect_timeout, profile.limits.read_timeout) == (2.0, 7.5)
    assert profile.variables["unknown_account"] == "NOPE1"
    assert profile.variables["extra"] == 3
    assert profile.personas.credentials["LEA"].tokens == {"aisp": SECRET}
    assert profile.personas.data["LEA"]["name"] == "OTHER NAME"
    assert profile.personas.data["LEA"]["accounts"] == [{"iban": "FR00"}]  # lists are replaced
    assert profile.personas.data["LEA"]["segment"] == "PART"  # other keys are kept
    assert profile.personas.data["CLAIRE"]["name"] == "CLAIRE SANDBOXC"
    assert profile.signing.headers == ("(request-target)", "digest")
    bal = profile.overrides["BAL-1"]
    assert (bal.reason, bal.skip, bal.step, bal.expect) == (
        "bank rounds balances",
        False,
        1,
        {"status": 404},
    )
    assert profile.overrides["ACC-3"].skip is True
    assert SECRET in profile.secrets()


def test_disposable_refresh_tokens_read_the_environment_and_leave_empty_ones_out(
    broken: Broken, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARNESS_DISPOSABLE", SECRET + "-d")
    monkeypatch.delenv("HARNESS_UNSET", raising=False)
    pool = "['${HARNESS_DISPOSABLE}', '${HARNESS_UNSET:-}', null, d2, d2]"
    path = broken.write([*broken.lines(), f"    disposable_refresh_tokens: {{aisp: {pool}}}"])
    profile = load_profile(path)
    lea = profile.personas.credentials["LEA"]
    assert lea.disposable_refresh_tokens == {"aisp": (SECRET + "-d", "d2")}
    assert {SECRET + "-d", "d2"} <= profile.secrets()
    assert not profile.browserless_authorize  # a bank's profile: the PSU logs in in a browser


def test_a_disposable_token_given_as_text_is_refused_without_its_value(broken: Broken) -> None:
    message = broken.error(
        broken.write([*broken.lines(), f"    disposable_refresh_tokens: {{aisp: {SECRET}}}"])
    )
    assert message.startswith(broken.at(15)) and "disposable_refresh_tokens.aisp" in message


def test_fixture_personas_are_not_mutated_by_persona_data(sandbox: SandboxServer) -> None:
    text = sandbox.profile_path.read_text(encoding="utf-8").split("personas:")[0]
    path = sandbox.directory / "data.yaml"
    path.write_text(text + "personas:\n  MARC: {data: {name: CHANGED}}\n", encoding="utf-8")
    assert load_profile(path).personas.data["MARC"]["name"] == "CHANGED"
    assert load_profile(sandbox.profile_path).personas.data["MARC"]["name"] == "MARC SANDBOXM"


# --- broken profiles ----------------------------------------------------------------------------


class Broken:
    """Writes a profile that is valid except where a test breaks it."""

    def __init__(self, directory: Path, pki: Path) -> None:
        self.directory = directory
        self.pki = pki
        self.path = directory / "bank.yaml"

    def lines(self) -> list[str]:
        return [
            "# a bank's profile",  # 1
            "name: broken-bank",  # 2
            "base_url: https://bank.example:8443",  # 3
            "tls:",  # 4
            f"  ca_bundle: {self.pki / 'ca.pem'}",  # 5
            f"  client_cert: {self.pki / 'qwac.pem'}",  # 6
            f"  client_key: {self.pki / 'qwac.key'}",  # 7
            "signing:",  # 8
            f"  key: {self.pki / 'qseal.key'}",  # 9
            f"  certificate: {self.pki / 'qseal.pem'}",  # 10
            '  key_id: "https://bank.example/certs/qseal_1"',  # 11
            "personas:",  # 12
            "  LEA:",  # 13
            f"    tokens: {{aisp: {SECRET}, pisp: null}}",  # 14
        ]

    def write(self, lines: list[str]) -> Path:
        self.path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return self.path

    def replace(self, old: str, new: str) -> Path:
        lines = self.lines()
        index = next(i for i, line in enumerate(lines) if old in line)
        lines[index] = lines[index].replace(old, new)
        return self.write(lines)

    def error(self, path: Path | None = None, kind: type[UsageError] = UsageError) -> str:
        with pytest.raises(kind) as info:
            load_profile(path or self.path)
        message = str(info.value)
        assert SECRET not in message
        assert PASSPHRASE not in message
        assert "\n" not in message
        return message

    def at(self, line: int) -> str:
        return f"{self.path}:{line}: "


@pytest.fixture
def broken(sandbox: SandboxServer, tmp_path: Path) -> Broken:
    return Broken(tmp_path, sandbox.directory / "pki")


def test_the_unbroken_template_loads(broken: Broken) -> None:
    profile = load_profile(broken.write(broken.lines()))
    assert profile.personas.credentials["LEA"].tokens == {"aisp": SECRET}
    assert profile.base_url == "https://bank.example:8443"
    assert profile.sandbox_reset_path is None  # a bank's profile: nothing to reset


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(UsageError, match=re.escape(f"target profile not found: {path}")):
        load_profile(path)


def test_invalid_yaml_names_the_line(broken: Broken) -> None:
    lines = broken.lines()
    lines.insert(3, "api_prefix: [unclosed")  # line 4; the parser notices on line 5
    message = broken.error(broken.write(lines))
    assert message.startswith(f"{broken.path}:5: invalid YAML:")


def test_yaml_aliases_are_refused_in_a_profile(broken: Broken) -> None:
    """A profile needs no aliases; refusing them all rules out an alias bomb."""
    lines = broken.lines()
    lines[12] = "  LEA: &lea"
    lines.append("  CLAIRE: *lea")  # line 15
    message = broken.error(broken.write(lines))
    assert message == f"{broken.path}:15: YAML aliases (*name) are not allowed in a target profile"


def test_tab_indentation_names_the_line(broken: Broken) -> None:
    lines = broken.lines()
    lines[9] = "\tcertificate: x"  # line 10
    message = broken.error(broken.write(lines))
    assert message.startswith(f"{broken.path}:10: invalid YAML:")


@pytest.mark.parametrize("text", ["- a\n- b\n", "just text\n", "", "# only a comment\n"])
def test_not_a_mapping(broken: Broken, text: str) -> None:
    broken.path.write_text(text, encoding="utf-8")
    message = broken.error(kind=ConfigError)
    assert message == f"{broken.path}:1: a target profile must be a mapping of settings"


def test_unknown_top_level_key_is_named(broken: Broken) -> None:
    message = broken.error(broken.write([*broken.lines(), "retry: 3"]))
    assert message.startswith(f"{broken.path}:")
    assert message.endswith("retry: unknown key; did you mean 'retries'?")


def test_missing_signing(broken: Broken) -> None:
    lines = broken.lines()
    message = broken.error(broken.write(lines[:7] + lines[11:]))
    assert message.startswith(f"{broken.path}:")
    assert "(top level): missing key: 'signing'" in message


def test_missing_key_id(broken: Broken) -> None:
    lines = broken.lines()
    message = broken.error(broken.write(lines[:10] + lines[11:]))
    assert message.startswith(broken.at(8) + "signing: missing key: 'key_id'")


def test_http_base_url(broken: Broken) -> None:
    message = broken.error(broken.replace("https://bank", "http://bank"))
    assert message.startswith(broken.at(3) + "base_url: ")
    assert "^https://" in message


def test_base_url_with_a_path(broken: Broken) -> None:
    message = broken.error(broken.replace(":8443", ":8443/api"))
    assert message.startswith(broken.at(3) + "base_url: ")


@pytest.mark.parametrize("userinfo", ["127.0.0.1:1@", "user:pa55word@"])
def test_user_information_in_base_url_is_refused(broken: Broken, userinfo: str) -> None:
    """``https://127.0.0.1:1@bank.invalid`` goes to bank.invalid: it must not pass as loopback."""
    message = broken.error(
        broken.replace("https://bank.example:8443", f"https://{userinfo}bank.invalid"), ConfigError
    )
    assert message.startswith(broken.at(3) + "base_url: user information before the host")
    assert userinfo not in message  # the URL may hold a password: never repeated


@pytest.mark.parametrize("setting", ["token_url", "authorize_url", "revoke_url"])
def test_user_information_in_an_oauth_url_is_refused(broken: Broken, setting: str) -> None:
    lines = [
        *broken.lines(),
        "oauth:",  # 15
        "  client_id: PSDFR-ACPR-00000",  # 16
        f"  {setting}: https://127.0.0.1:1@bank.invalid/oauth",  # 17
    ]
    message = broken.error(broken.write(lines), ConfigError)
    assert message.startswith(broken.at(17) + f"oauth.{setting}: user information")
    assert "bank.invalid" not in message


def test_wrong_type(broken: Broken) -> None:
    lines = broken.lines()
    lines[3:3] = ["timeouts:", "  connect: 5", '  read: "x"']  # read on line 6
    message = broken.error(broken.write(lines))
    assert message == broken.at(6) + "timeouts.read: must be of type number"


def test_zero_timeout(broken: Broken) -> None:
    lines = broken.lines()
    lines[3:3] = ["timeouts: {connect: 0}"]
    message = broken.error(broken.write(lines))
    assert message == broken.at(4) + "timeouts.connect: must be > 0"


def test_unknown_persona_name(broken: Broken) -> None:
    lines = [*broken.lines(), "  BOB:", "    tokens: {aisp: x}"]
    message = broken.error(broken.write(lines))
    assert message.startswith(f"{broken.path}:")
    assert (
        "personas.BOB: unknown name (known: LEA, CLAIRE, GEORGES, MARC, TECHNCO, EDME)" in message
    )


def test_unknown_scope(broken: Broken) -> None:
    message = broken.error(broken.replace("pisp: null", "aisq: null"))
    assert message.startswith(
        broken.at(14) + "personas.LEA.tokens.aisq: unknown name (known: aisp,"
    )


def test_unknown_persona_setting(broken: Broken) -> None:
    message = broken.error(broken.replace("tokens:", "token:"))
    assert message.startswith(f"{broken.path}:")
    assert "personas.LEA.token: unknown key; did you mean 'tokens'?" in message


def test_unset_variable(broken: Broken, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HARNESS_UNSET_VAR", raising=False)
    message = broken.error(broken.replace(SECRET, '"${HARNESS_UNSET_VAR}"'), ConfigError)
    assert message == (
        broken.at(14) + "personas.LEA.tokens.aisp: environment variable HARNESS_UNSET_VAR is not "
        "set (write ${HARNESS_UNSET_VAR:-} to make it optional)"
    )


def test_variable_with_empty_default_means_not_configured(
    broken: Broken, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HARNESS_UNSET_VAR", raising=False)
    profile = load_profile(broken.replace(SECRET, '"${HARNESS_UNSET_VAR:-}"'))
    assert profile.personas.credentials["LEA"].tokens == {}
    assert profile.secrets() == set()


def test_variables_inside_values_and_defaults(
    broken: Broken, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARNESS_TOKEN_PREFIX", "pre")
    monkeypatch.delenv("HARNESS_UNSET_VAR", raising=False)
    path = broken.replace(SECRET, '"${HARNESS_TOKEN_PREFIX}-${HARNESS_UNSET_VAR:-dflt}"')
    assert load_profile(path).personas.credentials["LEA"].tokens == {"aisp": "pre-dflt"}


def test_variable_in_base_url(broken: Broken, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_BANK_URL", "https://bank.example:9443")
    profile = load_profile(broken.replace("https://bank.example:8443", "${HARNESS_BANK_URL}"))
    assert profile.base_url == "https://bank.example:9443"


def test_signing_key_not_pem(broken: Broken) -> None:
    junk = broken.directory / "junk.key"
    junk.write_text("not a key\n", encoding="utf-8")
    message = broken.error(broken.replace(str(broken.pki / "qseal.key"), str(junk)), ConfigError)
    assert "signing.key" in message
    assert f"{junk} is not a PEM private key" in message


def test_signing_key_is_a_certificate(broken: Broken) -> None:
    path = broken.replace(str(broken.pki / "qseal.key"), str(broken.pki / "qseal.pem"))
    message = broken.error(path, ConfigError)
    assert "signing.key" in message
    assert "is not a PEM private key" in message


def _encrypted_key(broken: Broken) -> Path:
    key = serialization.load_pem_private_key((broken.pki / "qseal.key").read_bytes(), None)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(PASSPHRASE.encode()),
    )
    path = broken.directory / "encrypted.key"
    path.write_bytes(pem)
    return path


def test_encrypted_key_without_password_env(broken: Broken) -> None:
    encrypted = _encrypted_key(broken)
    message = broken.error(broken.replace(str(broken.pki / "qseal.key"), str(encrypted)))
    assert "signing.key" in message
    assert f"{encrypted} is encrypted" in message
    assert "password_env" in message


def test_encrypted_key_with_unset_password_variable(
    broken: Broken, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HARNESS_QSEAL_PASS", raising=False)
    encrypted = _encrypted_key(broken)
    lines = broken.lines()
    lines[8] = f"  key: {encrypted}"
    lines.insert(9, "  key_password_env: HARNESS_QSEAL_PASS")  # line 10
    message = broken.error(broken.write(lines), ConfigError)
    # The setting, not its value: a passphrase pasted there looks like a variable name too.
    assert message == (
        broken.at(10) + "signing.key_password_env: the environment variable it names is not set"
    )


def test_encrypted_key_with_wrong_and_right_passphrase(
    broken: Broken, monkeypatch: pytest.MonkeyPatch
) -> None:
    encrypted = _encrypted_key(broken)
    lines = broken.lines()
    lines[8] = f"  key: {encrypted}"
    lines.insert(9, "  key_password_env: HARNESS_QSEAL_PASS")
    path = broken.write(lines)
    monkeypatch.setenv("HARNESS_QSEAL_PASS", "wrong-" + PASSPHRASE)
    message = broken.error(path, ConfigError)
    assert "passphrase is wrong" in message
    assert "wrong-" not in message
    monkeypatch.setenv("HARNESS_QSEAL_PASS", PASSPHRASE)
    assert load_profile(path).signing.key_id == "https://bank.example/certs/qseal_1"


def test_signing_key_is_ec_not_rsa(broken: Broken) -> None:
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    ec_key = broken.directory / "ec.key"
    ec_key.write_bytes(pem)
    message = broken.error(broken.replace(str(broken.pki / "qseal.key"), str(ec_key)))
    assert "signing.key" in message
    assert "is not an RSA key" in message


def test_client_cert_without_client_key(broken: Broken) -> None:
    lines = broken.lines()
    message = broken.error(broken.write(lines[:6] + lines[7:]))
    assert message.startswith(broken.at(4) + "tls: ")
    assert "tls: missing a key that another one requires (client_cert needs client_key)" in message


def test_missing_client_cert_file(broken: Broken) -> None:
    missing = broken.directory / "gone.pem"
    message = broken.error(broken.replace(str(broken.pki / "qwac.pem"), str(missing)))
    assert message == broken.at(6) + "tls.client_cert: " + _not_a_file(broken)


def test_missing_signing_key_file_relative_to_the_profile(broken: Broken) -> None:
    message = broken.error(broken.replace(str(broken.pki / "qseal.key"), "keys/qseal.key"))
    assert message == broken.at(9) + "signing.key: " + _not_a_file(broken)


def _not_a_file(broken: Broken) -> str:
    return (
        "file not found (the value is not a readable file path; a relative path is read from "
        f"{broken.directory})"
    )


@pytest.mark.parametrize(
    ("path", "setting", "line"),
    [
        ("qseal.key", "signing.key", 9),
        ("ca.pem", "tls.ca_bundle", 5),
        ("qwac.key", "tls.client_key", 7),
        ("qseal.pem", "signing.certificate", 10),
    ],
)
def test_a_token_pasted_as_a_path_is_not_echoed(
    broken: Broken, path: str, setting: str, line: int
) -> None:
    message = broken.error(broken.replace(str(broken.pki / path), SECRET))
    assert message == broken.at(line) + f"{setting}: " + _not_a_file(broken)


@pytest.mark.parametrize("value", [PASSPHRASE, "Tr0ub4dor3xyzzy", "'${HARNESS_PASSPHRASE_VALUE}'"])
@pytest.mark.parametrize(
    ("after", "setting"),
    [
        ("  key_id:", "signing.key_password_env"),
        ("  client_key:", "tls.client_key_password_env"),
        ("  client_key:", "tls.other_client_key_password_env"),
    ],
)
def test_a_passphrase_pasted_as_password_env_is_not_echoed(
    broken: Broken, monkeypatch: pytest.MonkeyPatch, value: str, after: str, setting: str
) -> None:
    monkeypatch.setenv("HARNESS_PASSPHRASE_VALUE", PASSPHRASE)
    lines = broken.lines()
    index = next(i for i, line in enumerate(lines) if line.startswith(after)) + 1
    lines.insert(index, f"  {setting.split('.')[1]}: {value}")
    message = broken.error(broken.write(lines), ConfigError)
    assert message.startswith(broken.at(index + 1) + f"{setting}: ")
    assert "Tr0ub4dor3xyzzy" not in message


def test_client_cert_not_pem(broken: Broken) -> None:
    message = broken.error(
        broken.replace(str(broken.pki / "qwac.pem"), str(broken.pki / "qwac.key"))
    )
    assert "tls.client_cert" in message
    assert "is not a PEM certificate" in message


def test_duplicate_yaml_key(broken: Broken) -> None:
    lines = broken.lines()
    lines.insert(11, '  key_id: "second"')  # line 12
    message = broken.error(broken.write(lines))
    assert message == broken.at(12) + "invalid YAML: duplicate key 'key_id'"


def test_duplicate_persona(broken: Broken) -> None:
    lines = [*broken.lines(), "  LEA: {tokens: {aisp: other-value}}"]  # line 15
    message = broken.error(broken.write(lines))
    assert message == broken.at(15) + "invalid YAML: duplicate key 'LEA'"


def test_override_without_reason(broken: Broken) -> None:
    lines = [*broken.lines(), "overrides:", "  BAL-1:", "    skip: true"]  # BAL-1 on line 16
    message = broken.error(broken.write(lines))
    assert message == broken.at(16) + "overrides.BAL-1: missing key: 'reason'"


def test_override_with_empty_reason(broken: Broken) -> None:
    lines = [*broken.lines(), "overrides:", "  BAL-1: {reason: '', skip: true}"]
    message = broken.error(broken.write(lines))
    assert message.startswith(broken.at(16) + "overrides.BAL-1.reason: ")


def test_a_reset_path_is_a_path_at_base_url(broken: Broken) -> None:
    line = "sandbox: {reset_path: https://elsewhere.example/reset}"
    message = broken.error(broken.write([*broken.lines(), line]))
    assert message.startswith(broken.at(15) + "sandbox.reset_path: ")
    assert message.endswith("does not have the expected form (pattern ^/)")


def test_oauth_without_client_id(broken: Broken) -> None:
    lines = [*broken.lines(), "oauth:", "  token_url: https://bank.example/token"]
    message = broken.error(broken.write(lines))
    assert message.startswith(broken.at(15) + "oauth: missing key: 'client_id'")


def test_signing_headers_pattern(broken: Broken) -> None:
    lines = broken.lines()
    lines.insert(11, "  headers: [Digest]")
    message = broken.error(broken.write(lines))
    assert message.startswith(broken.at(12) + "signing.headers[0]: does not have the expected form")


# --- known defects ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "line"),
    [
        (["retries: 3"], 15),  # unknown top-level key
        (["  BOB:", "    tokens: {aisp: x}"], 15),  # unknown persona name
    ],
    ids=["top-level-key", "persona-name"],
)
def test_unknown_names_point_at_their_own_line(broken: Broken, extra: list[str], line: int) -> None:
    message = broken.error(broken.write([*broken.lines(), *extra]))
    assert message.startswith(broken.at(line))


def test_the_documented_retries_example_loads_and_survives_sanitizing(broken: Broken) -> None:
    """YAML 1.1 read the key ``on`` as true: the documented form was refused (retries.True)."""
    doc = PROFILE_DOC.read_text(encoding="utf-8").splitlines()
    example = next(line for line in doc if line.startswith("retries: {"))
    expected = RetryPolicy(2, frozenset({"timeout", "connect", "503"}), 0.5)
    path = broken.write([*broken.lines(), example])
    assert load_profile(path).limits.retries == expected
    sanitized = broken.directory / "sanitized.yaml"  # what a results directory keeps
    sanitized.write_text(sanitized_profile(path, Redactor()), encoding="utf-8")
    assert load_profile(sanitized).limits.retries == expected


def test_key_errors_name_the_profile_line(broken: Broken) -> None:
    junk = broken.directory / "junk.key"
    junk.write_text("not a key\n", encoding="utf-8")
    message = broken.error(broken.replace(str(broken.pki / "qseal.key"), str(junk)))
    assert message.startswith(broken.at(9) + "signing.key: ")


@pytest.mark.parametrize(
    "tokens",
    [f"tokens: {SECRET}", f"tokens: {{aisp: [{SECRET}]}}"],
    ids=["scalar-instead-of-mapping", "list-instead-of-string"],
)
def test_wrongly_shaped_tokens_do_not_leak(broken: Broken, tokens: str) -> None:
    broken.error(broken.replace(f"tokens: {{aisp: {SECRET}, pisp: null}}", tokens))


def test_home_relative_paths(
    broken: Broken, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    home = tmp_path_factory.mktemp("home")
    (home / "qseal.key").write_bytes((broken.pki / "qseal.key").read_bytes())
    monkeypatch.setenv("HOME", str(home))
    load_profile(broken.replace(str(broken.pki / "qseal.key"), "~/qseal.key"))


# --- live safety: every origin the profile declares ----------------------------------------------


def _with_urls(broken: Broken, base_url: str, token_url: str | None = None) -> Path:
    lines = [line.replace("https://bank.example:8443", base_url) for line in broken.lines()]
    if token_url:
        lines += [
            "oauth:",
            "  client_id: x",
            "  check_client_id: false",
            f"  token_url: {token_url}",
        ]
    return broken.write(lines)


@pytest.mark.parametrize(
    "base_url",
    ["https://127.0.0.1:8443", "https://[::1]:8443", "https://localhost", "https://127.0.0.2"],
)
def test_loopback_targets_need_no_go_ahead(broken: Broken, base_url: str) -> None:
    refuse_live(load_profile(_with_urls(broken, base_url)), allow_live=False)


@pytest.mark.parametrize(
    "base_url",
    ["https://bank.invalid", "https://127.0.0.1.bank.invalid", "https://localhost.bank.invalid:1"],
)
def test_other_targets_need_allow_live(broken: Broken, base_url: str) -> None:
    profile = load_profile(_with_urls(broken, base_url))
    with pytest.raises(ConfigError, match=re.escape(f"base_url: {base_url} is not a loopback")):
        refuse_live(profile, allow_live=False)
    refuse_live(profile, allow_live=True)


def test_a_remote_oauth_url_needs_allow_live_too(broken: Broken) -> None:
    """The token endpoint receives refresh tokens and the QWAC: it is checked like base_url."""
    path = _with_urls(broken, "https://127.0.0.1:8443", "https://auth.bank.invalid/oauth/token")
    with pytest.raises(ConfigError) as info:
        refuse_live(load_profile(path), allow_live=False)
    assert str(info.value) == (
        f"{path}: oauth.token_url: https://auth.bank.invalid is not a loopback address and the "
        "profile is not marked 'environment: sandbox'; pass --allow-live to run against it "
        "(requests count against real quotas)"
    )
    path.write_text(path.read_text(encoding="utf-8") + "environment: sandbox\n", encoding="utf-8")
    refuse_live(load_profile(path), allow_live=False)


def test_imputation_is_read_with_utc_midnight_by_default(broken: Broken) -> None:
    default = load_profile(broken.write(broken.lines())).choices.imputation
    assert default == Imputation("UTC", "midnight")
    lines = [*broken.lines(), "imputation: {timezone: Europe/Paris, instant: day}"]
    assert load_profile(broken.write(lines)).choices.imputation == Imputation("Europe/Paris", "day")


def test_an_unknown_imputation_zone_names_the_line_not_the_value(broken: Broken) -> None:
    message = broken.error(broken.write([*broken.lines(), "imputation: {timezone: Mars/Olympus}"]))
    assert message == (
        f"{broken.path}:15: imputation.timezone: not a known IANA time zone name "
        "(e.g. Europe/Paris, UTC)"
    )


def test_the_old_fuzz_imputation_knob_points_to_its_new_home(broken: Broken) -> None:
    message = broken.error(broken.write([*broken.lines(), "vars: {fuzz: {imputation: day}}"]))
    assert message == (
        f"{broken.path}:15: vars.fuzz.imputation: moved to imputation.instant "
        "(midnight or day; docs/profile.md)"
    )
