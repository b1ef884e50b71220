"""``init``: a commented profile per bank code that loads once its variables exist."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from stet_conformance.cli import main
from stet_conformance.config.live import refuse_live
from stet_conformance.config.profile import load_profile
from stet_conformance.errors import ConfigError
from stet_conformance.onboarding.banks import BANKS
from stet_conformance.sandbox.server import SandboxServer
from stet_conformance.shared import cavage
from stet_conformance.shared.certs import organization_identifier


def _env_for(monkeypatch: pytest.MonkeyPatch, sandbox: SandboxServer) -> None:
    """The variables the template names, pointing at the sandbox's PKI."""
    pki = sandbox.pki
    from cryptography import x509

    qseal = x509.load_pem_x509_certificate(pki.qseal_cert.read_bytes())
    qwac = x509.load_pem_x509_certificate(pki.qwac_cert.read_bytes())
    monkeypatch.setenv("STET_QWAC_CERT", str(pki.qwac_cert))
    monkeypatch.setenv("STET_QWAC_KEY", str(pki.qwac_key))
    monkeypatch.setenv("STET_QSEAL_KEY", str(pki.qseal_key))
    monkeypatch.setenv("STET_QSEAL_CERT", str(pki.qseal_cert))
    monkeypatch.setenv(
        "STET_QSEAL_KEY_ID", f"https://tpp.example/qseal_{cavage.fingerprint(qseal)}"
    )
    monkeypatch.setenv("STET_CLIENT_ID", organization_identifier(qwac) or "")
    monkeypatch.setenv("LEA_AISP_TOKEN", "lea-token-from-env")
    for name in ("STET_CA_BUNDLE", "STET_TOKEN_STORE", "LEA_PISP_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def test_every_known_bank_gets_a_profile_that_loads(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    sandbox: SandboxServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _env_for(monkeypatch, sandbox)
    assert set(BANKS) == {"12579", "17515", "40978", "10548", "42559", "30258", "18919"}
    for code in BANKS:
        out = tmp_path / f"{code}.yaml"
        assert main(["init", "--bank", code, "-o", str(out)]) == 0
        text = out.read_text(encoding="utf-8")
        assert text.startswith("# stet-conformance target profile for")
        assert "${STET_QWAC_CERT}" in text and "${LEA_AISP_TOKEN:-}" in text
        profile = load_profile(out)
        assert profile.base_url == f"https://www.{code}.sandbox.api.89C3.com"
        assert profile.environment == "sandbox"
        refuse_live(profile, allow_live=False)  # a sandbox: no --allow-live needed
        assert profile.api_prefix == "/stet/psd2/v1.4.2"
        oauth = f"{profile.base_url}/stet/psd2/oauth"
        urls = profile.oauth
        assert (urls.token_url, urls.authorize_url, urls.revoke_url) == (
            f"{oauth}/token",
            f"{oauth}/authorize",
            f"{oauth}/revoke",
        )
        assert profile.token_store == tmp_path / "tokens.json"
        assert profile.personas.credentials["LEA"].tokens == {"aisp": "lea-token-from-env"}
        assert profile.tls.ca_bundle is None
    assert "wrote" in capsys.readouterr().out


def test_live_sets_the_live_gateway_and_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox: SandboxServer
) -> None:
    _env_for(monkeypatch, sandbox)
    out = tmp_path / "live.yaml"
    assert main(["init", "--bank", "12579", "--live", "-o", str(out)]) == 0
    profile = load_profile(out)
    assert profile.base_url == "https://www.12579.live.api.89C3.com"
    assert profile.environment == "live"
    assert profile.name == "bpce-12579-live"
    with pytest.raises(ConfigError, match="the profile is live; pass --allow-live"):
        refuse_live(profile, allow_live=False)


def test_unknown_bank_code_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "p.yaml"
    assert main(["init", "--bank", "99999", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown bank code 99999" in err and "--base-url" in err
    assert not out.exists()
    assert main(["init", "--bank", "12x", "-o", str(out)]) == 2
    assert "not a 5-digit bank code" in capsys.readouterr().err


def test_unknown_bank_code_with_base_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox: SandboxServer
) -> None:
    _env_for(monkeypatch, sandbox)
    out = tmp_path / "p.yaml"
    url = "https://gateway.example:8443"
    assert main(["init", "--bank", "99999", "--base-url", url, "-o", str(out)]) == 0
    profile = load_profile(out)
    assert profile.base_url == url
    assert profile.oauth.token_url == f"{url}/stet/psd2/oauth/token"
    assert (
        main(["init", "--bank", "99999", "--base-url", "http://x", "-o", str(out), "--force"]) == 2
    )


def test_an_existing_file_is_not_overwritten_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "p.yaml"
    out.write_text("mine\n", encoding="utf-8")
    assert main(["init", "--bank", "12579", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "exists; pass --force" in err
    assert out.read_text(encoding="utf-8") == "mine\n"
    assert main(["init", "--bank", "12579", "-o", str(out), "--force"]) == 0
    assert "www.12579.sandbox" in out.read_text(encoding="utf-8")


def test_by_default_the_profile_goes_to_the_ignored_targets_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["init", "--bank", "12579"]) == 0
    assert (tmp_path / "targets" / "bpce-12579-sandbox.yaml").is_file()
    assert main(["init", "--bank", "12579", "--live"]) == 0
    assert (tmp_path / "targets" / "bpce-12579-live.yaml").is_file()
    assert "wrote targets/bpce-12579-live.yaml" in capsys.readouterr().out


@pytest.mark.parametrize(
    "path",
    [
        "targets/bpce-12579-sandbox.yaml",
        "targets/tokens.json",
        "tokens.json",
        "certs/qwac.key",
        "bank.tokens.json",
        "qseal.key",
    ],
)
def test_secrets_of_a_bank_are_git_ignored(path: str) -> None:
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        pytest.skip("not a git checkout")
    done = subprocess.run(["git", "check-ignore", "--no-index", "-q", path], cwd=root, check=False)
    assert done.returncode == 0, f"{path} is not ignored by .gitignore"
