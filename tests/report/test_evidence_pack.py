"""The evidence pack: intact packs verify, any change to any member is caught and named."""

from __future__ import annotations

import fnmatch
import json
import shutil
import subprocess
import sys
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from cli_run import cli
from report_helpers import Run

from stet_conformance.errors import UsageError
from stet_conformance.report.evidence import verify_pack
from stet_conformance.report.html import allure_command
from stet_conformance.shared.resources import scenarios_dir

# Every member of a pack matches one of these (checked below): stable names one by one,
# Allure's uuid-named files by pattern (each matching member is changed in turn).
MEMBERS = [
    "manifest.json",
    "manifest.sig",
    "qseal.pem",
    "results/junit.xml",
    "results/coverage.json",
    "results/coverage.txt",
    "results/traceability.json",
    "results/traceability.txt",
    "results/run.json",
    "results/profile.yaml",
    "results/allure/categories.json",
    "results/allure/environment.properties",
    "results/allure/*-globals.json",
    "results/allure/*-result.json",
    "results/report.html",
    "results/allure/*-attachment.*",
    *sorted(f"results/scenarios/{p.name}" for p in scenarios_dir().glob("*.yaml")),
]


@pytest.fixture(scope="module")
def pack(clean_run: Run, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A pack of a copy of the clean run, with an HTML report in it (a real one if possible)."""
    base = tmp_path_factory.mktemp("pack")
    results = base / "run"
    shutil.copytree(clean_run.results, results, ignore=shutil.ignore_patterns("*.html"))
    try:
        allure_command()
        done = cli("report", str(results))
        assert done.returncode == 0, done.stderr
    except UsageError:  # no Allure here: the pack does not look inside the HTML anyway
        (results / "report.html").write_text("<!DOCTYPE html><title>report</title>\n")
    out = base / "pack.zip"
    done = cli(
        "evidence", "build", str(results), "--target", str(clean_run.profile), "-o", str(out)
    )
    assert done.returncode == 0, done.stderr
    assert "signed by" in done.stderr
    return out


def members(pack: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(pack) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def rewrite(
    pack: Path,
    out: Path,
    change: Callable[[dict[str, bytes]], list[tuple[str, bytes]]],
) -> Path:
    """Write ``out`` with the members ``change`` returns (it gets them in pack order)."""
    entries = change(members(pack))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # duplicate names, on purpose
        with zipfile.ZipFile(out, "w") as archive:  # stored: fast, and verify must not care
            for name, data in entries:
                archive.writestr(name, data)
    return out


def flip_one_byte(data: bytes) -> bytes:
    if not data:
        return b"x"
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1 :]


def test_verify_passes_on_a_fresh_pack(pack: Path, clean_run: Run) -> None:
    done = cli("evidence", "verify", str(pack))
    assert done.returncode == 0, done.stdout
    assert "intact" in done.stdout and "embedded certificate qseal.pem" in done.stdout
    manifest = json.loads(members(pack)["manifest.json"])
    assert manifest["harness_version"] == "0.1.0"
    assert manifest["target"] == "reference-sandbox"
    assert manifest["signer"]["sha256_fingerprint"] in clean_run.profile.read_text()
    assert manifest["created"].endswith("+00:00")
    listed = {entry["path"] for entry in manifest["files"]}
    assert listed == set(members(pack)) - {"manifest.json", "manifest.sig"}
    assert all(len(entry["sha256"]) == 64 and entry["size"] >= 0 for entry in manifest["files"])


def test_the_member_patterns_cover_every_member_of_a_real_pack(pack: Path) -> None:
    names = set(members(pack))
    uncovered = {n for n in names if not any(fnmatch.fnmatchcase(n, p) for p in MEMBERS)}
    assert not uncovered
    assert all(any(fnmatch.fnmatchcase(n, p) for n in names) for p in MEMBERS)
    assert len(names) > 100


@pytest.mark.parametrize("pattern", MEMBERS)
def test_a_one_byte_change_to_any_member_fails_naming_it(
    pack: Path, tmp_path: Path, pattern: str
) -> None:
    names = [n for n in members(pack) if fnmatch.fnmatchcase(n, pattern)]
    assert names
    for name in names:
        changed = rewrite(
            pack,
            tmp_path / "changed.zip",
            lambda m, name=name: [(n, flip_one_byte(d) if n == name else d) for n, d in m.items()],
        )
        result = verify_pack(changed)
        assert not result.ok, name
        assert any(problem.startswith(f"{name}:") for problem in result.problems), (
            name,
            result.problems,
        )
    # And through the CLI, for the last one: exit 1, the member named.
    done = cli("evidence", "verify", str(changed))
    assert done.returncode == 1
    assert f"FAILED {names[-1]}:" in done.stdout
    assert "NOT intact" in done.stdout


def test_a_one_byte_change_inside_the_zip_file_itself_is_caught(pack: Path, tmp_path: Path) -> None:
    """Flip a byte of a member's stored (compressed) data, without rewriting the zip."""
    with zipfile.ZipFile(pack) as archive:
        info = archive.getinfo("results/junit.xml")
    raw = bytearray(pack.read_bytes())
    local_header = raw[info.header_offset : info.header_offset + 30]
    name_len = int.from_bytes(local_header[26:28], "little")
    extra_len = int.from_bytes(local_header[28:30], "little")
    start = info.header_offset + 30 + name_len + extra_len
    raw[start + info.compress_size // 2] ^= 0x01
    broken = tmp_path / "broken.zip"
    broken.write_bytes(bytes(raw))
    done = cli("evidence", "verify", str(broken))
    assert done.returncode == 1
    assert "FAILED results/junit.xml:" in done.stdout


def test_an_added_member_fails(pack: Path, tmp_path: Path) -> None:
    added = rewrite(
        pack, tmp_path / "added.zip", lambda m: [*m.items(), ("results/extra.txt", b"hello")]
    )
    done = cli("evidence", "verify", str(added))
    assert done.returncode == 1
    assert "FAILED results/extra.txt: not in the manifest (added)" in done.stdout


def test_a_duplicated_member_fails(pack: Path, tmp_path: Path) -> None:
    twice = rewrite(
        pack, tmp_path / "twice.zip", lambda m: [*m.items(), ("results/run.json", b"{}")]
    )
    result = verify_pack(twice)
    assert any(p.startswith("results/run.json: appears twice") for p in result.problems)


@pytest.mark.parametrize(
    "name", ["results/junit.xml", "qseal.pem", "manifest.sig", "manifest.json"]
)
def test_a_removed_member_fails(pack: Path, tmp_path: Path, name: str) -> None:
    removed = rewrite(
        pack, tmp_path / "removed.zip", lambda m: [(n, d) for n, d in m.items() if n != name]
    )
    done = cli("evidence", "verify", str(removed))
    assert done.returncode == 1
    assert f"FAILED {name}: missing from the pack (removed)" in done.stdout


def test_a_consistent_forgery_fails_on_the_signature(pack: Path, tmp_path: Path) -> None:
    """Change a file AND its digest in the manifest: only the signature can tell."""
    import hashlib

    def forge(m: dict[str, bytes]) -> list[tuple[str, bytes]]:
        junit = m["results/junit.xml"].replace(b'failures="0"', b'failures="0" ')
        manifest = json.loads(m["manifest.json"])
        for entry in manifest["files"]:
            if entry["path"] == "results/junit.xml":
                entry.update(sha256=hashlib.sha256(junit).hexdigest(), size=len(junit))
        m["manifest.json"] = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
        m["results/junit.xml"] = junit
        return list(m.items())

    forged = rewrite(pack, tmp_path / "forged.zip", forge)
    done = cli("evidence", "verify", str(forged))
    assert done.returncode == 1
    lines = [line for line in done.stdout.splitlines() if line.startswith("FAILED")]
    assert len(lines) == 1, done.stdout
    assert lines[0].startswith("FAILED manifest.json: modified after signing")


def test_cert_option_checks_with_the_given_certificate(pack: Path, clean_run: Run) -> None:
    qseal = clean_run.sandbox_dir / "pki" / "qseal.pem"
    done = cli("evidence", "verify", str(pack), "--cert", str(qseal))
    assert done.returncode == 0, done.stdout
    assert f"--cert {qseal}" in done.stdout

    wrong = clean_run.sandbox_dir / "pki" / "qwac.pem"  # another key of the same TPP
    done = cli("evidence", "verify", str(pack), "--cert", str(wrong))
    assert done.returncode == 1
    assert f"FAILED manifest.sig: not a signature by the key of --cert {wrong}" in done.stdout


def test_cert_option_with_a_file_that_is_not_a_certificate(pack: Path, tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.pem"
    bogus.write_text("not a certificate\n")
    done = cli("evidence", "verify", str(pack), "--cert", str(bogus))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "--cert" in done.stderr


def test_build_refuses_a_profile_without_a_certificate(clean_run: Run, tmp_path: Path) -> None:
    profile = yaml.safe_load(clean_run.profile.read_text())
    del profile["signing"]["certificate"]
    for key in ("ca_bundle", "client_cert", "client_key", "other_client_cert", "other_client_key"):
        profile["tls"][key] = str(clean_run.sandbox_dir / profile["tls"][key])
    profile["signing"]["key"] = str(clean_run.sandbox_dir / profile["signing"]["key"])
    no_cert = tmp_path / "no-cert.yaml"
    no_cert.write_text(yaml.safe_dump(profile))
    done = cli(
        "evidence",
        "build",
        str(clean_run.results),
        "--target",
        str(no_cert),
        "-o",
        str(tmp_path / "p.zip"),
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "signing.certificate is not set" in done.stderr
    assert not (tmp_path / "p.zip").exists()


def test_build_refuses_an_incomplete_results_directory(clean_run: Run, tmp_path: Path) -> None:
    partial = tmp_path / "partial"
    shutil.copytree(clean_run.results, partial)
    (partial / "junit.xml").unlink()
    done = cli("evidence", "build", str(partial), "--target", str(clean_run.profile))
    assert done.returncode == 2
    assert "missing: junit.xml" in done.stderr


def test_build_refuses_to_seal_a_secret(clean_run: Run, tmp_path: Path) -> None:
    leaky = tmp_path / "leaky"
    shutil.copytree(clean_run.results, leaky)
    token = yaml.safe_load(clean_run.profile.read_text())["personas"]["LEA"]["tokens"]["aisp"]
    (leaky / "coverage.txt").write_text(f"oops {token}\n")
    done = cli("evidence", "build", str(leaky), "--target", str(clean_run.profile))
    assert done.returncode == 2
    assert "results/coverage.txt: contains a token or passphrase" in done.stderr
    assert token not in done.stderr
    assert not (tmp_path / "leaky-evidence.zip").exists()


def test_default_output_is_beside_the_results_directory(clean_run: Run, tmp_path: Path) -> None:
    copy = tmp_path / "run-7"
    shutil.copytree(clean_run.results, copy)
    done = cli("evidence", "build", str(copy), "--target", str(clean_run.profile))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "run-7-evidence.zip").is_file()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_a_third_party_checks_the_pack_with_openssl_and_sha256sum(
    pack: Path, clean_run: Run, tmp_path: Path
) -> None:
    """The commands of the evidence module's docstring, with the trusted certificate."""
    unpacked = tmp_path / "pack"
    with zipfile.ZipFile(pack) as archive:
        archive.extractall(unpacked)
    trusted = clean_run.sandbox_dir / "pki" / "qseal.pem"
    pubkey = subprocess.run(
        ["openssl", "x509", "-in", str(trusted), "-pubkey", "-noout"],
        capture_output=True,
        check=True,
    ).stdout
    (tmp_path / "pub.pem").write_bytes(pubkey)
    verified = subprocess.run(
        [
            "openssl",
            "dgst",
            "-sha256",
            "-verify",
            str(tmp_path / "pub.pem"),
            "-signature",
            "manifest.sig",
            "manifest.json",
        ],
        cwd=unpacked,
        capture_output=True,
        text=True,
        check=False,
    )
    assert verified.returncode == 0 and "Verified OK" in verified.stdout, verified.stderr
    manifest = json.loads((unpacked / "manifest.json").read_text())
    sums = "".join(f"{e['sha256']}  {e['path']}\n" for e in manifest["files"])
    checked = subprocess.run(
        ["sha256sum", "-c", "--strict", "--quiet", "-"],
        input=sums,
        cwd=unpacked,
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr

    (unpacked / "manifest.json").write_bytes(
        (unpacked / "manifest.json").read_bytes().replace(b'"files"', b'"files" ')
    )
    tampered = subprocess.run(
        [
            "openssl",
            "dgst",
            "-sha256",
            "-verify",
            str(tmp_path / "pub.pem"),
            "-signature",
            "manifest.sig",
            "manifest.json",
        ],
        cwd=unpacked,
        capture_output=True,
        text=True,
        check=False,
    )
    assert tampered.returncode != 0 and "Verification failure" in tampered.stdout


@pytest.mark.skipif(
    not all(shutil.which(t) for t in ("openssl", "jq", "bash", "sha256sum", "comm")),
    reason="openssl, jq, bash, sha256sum or comm is missing",
)
def test_the_docstring_shell_recipe_works_verbatim(pack: Path, tmp_path: Path) -> None:
    from stet_conformance.report import evidence

    doc = evidence.__doc__ or ""
    recipe = doc.split("jq for the digests)::\n")[1].split("\n\nwith ")[0]
    script = "set -euo pipefail\n" + recipe.replace("    ", "").replace("pack.zip", str(pack))
    script = script.replace(f"unzip {pack} -d pack", f"{sys.executable} -m zipfile -e {pack} pack")
    done = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Verified OK" in done.stdout
    assert done.stdout.count(": OK") == len(json.loads(members(pack)["manifest.json"])["files"])
