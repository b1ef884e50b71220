"""The evidence pack: a results directory sealed with the TPP's QSEAL key, checkable by anyone.

A go-live certifier keeps the pack and must be able to show, later and without this harness,
that nothing in it was changed. So the pack is a plain zip::

    manifest.json         every other member: path, SHA-256, size; harness version, creation
                          time, target, signer certificate fingerprint
    manifest.sig          detached RSA PKCS#1 v1.5 SHA-256 signature of the exact bytes of
                          manifest.json, made with the QSEAL private key of the target profile
    qseal.pem             the QSEAL certificate (listed in the manifest too)
    results/allure/...    the Allure results          results/junit.xml     JUnit XML
    results/coverage.json, results/coverage.txt      the coverage summary
    results/traceability.json, .txt                  the operations x rules matrix
    results/run.json      harness version, target, times, counts
    results/profile.yaml  the target profile with its secrets replaced by [REDACTED]
    results/scenarios/    the scenario files that ran
    results/report.html   the HTML report, when ``stet-conformance report`` wrote one

A third party checks it with openssl and coreutils (bash; jq for the digests)::

    unzip pack.zip -d pack && cd pack
    openssl dgst -sha256 -verify <(openssl x509 -in qseal.pem -pubkey -noout) \\
        -signature manifest.sig manifest.json               # prints "Verified OK"
    jq -r '.files[] | "\\(.sha256)  \\(.path)"' manifest.json | sha256sum -c --strict
    # and no file besides manifest.json, manifest.sig and the listed ones:
    comm -13 <(jq -r '.files[].path' manifest.json | sort) \\
        <(find . -type f ! -name 'manifest.*' | sed 's|^\\./||' | sort)   # prints nothing

with ``qseal.pem`` replaced by the certificate they trust (the one the TPP registered), not the
copy inside the pack. ``stet-conformance evidence verify pack.zip [--cert CERT]`` does all of it.

Before sealing, every member is searched for the profile's secret values (tokens, passphrases,
the private key): a pack that would carry one is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from stet_conformance import __version__
from stet_conformance.config.profile import Profile, load_certificate, load_profile
from stet_conformance.errors import UsageError
from stet_conformance.report import results as layout
from stet_conformance.report.results import ResultsDir
from stet_conformance.shared.cavage import fingerprint as fingerprint_of

FORMAT = "stet-conformance-evidence/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
CERTIFICATE = "qseal.pem"
RESULTS_PREFIX = "results"
REPORT_FILE = "report.html"
SIGNATURE_ALGORITHM = "RSASSA-PKCS1-v1_5 with SHA-256 over the bytes of manifest.json"

# The results directory's entries a pack must have (report.html is optional).
REQUIRED = (
    layout.ALLURE_DIR,
    layout.JUNIT_FILE,
    layout.COVERAGE_JSON,
    layout.COVERAGE_TEXT,
    layout.RUN_FILE,
    layout.PROFILE_FILE,
    layout.SCENARIOS_DIR,
)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _results_files(root: Path) -> Iterator[tuple[str, Path]]:
    """(member path, file) for everything of the results directory that goes into a pack."""
    results = ResultsDir(root)
    missing = [name for name in REQUIRED if not (root / name).exists()]
    if missing:
        raise UsageError(
            f"{root}: not a complete results directory (missing: {', '.join(missing)}); "
            "write one with: stet-conformance run --results DIR"
        )
    for directory in (results.allure, results.scenarios):
        for path in sorted(directory.rglob("*")):
            if path.is_file() and not path.is_symlink():
                yield f"{RESULTS_PREFIX}/{path.relative_to(root).as_posix()}", path
    for path in (
        results.junit,
        results.coverage_json,
        results.coverage_text,
        results.traceability_json,
        results.traceability_text,
        results.run,
        results.profile,
        root / REPORT_FILE,
    ):
        if path.is_file():
            yield f"{RESULTS_PREFIX}/{path.name}", path


def _passphrases(profile: Profile) -> set[str]:
    """Key passphrases named by ``*_password_env`` (the signing one is not kept in Profile)."""
    try:
        raw = yaml.safe_load(profile.source.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return set()
    values = set()
    for section, setting in (("signing", "key_password_env"), ("tls", "client_key_password_env")):
        entry = raw.get(section) if isinstance(raw, dict) else None
        name = entry.get(setting) if isinstance(entry, dict) else None
        if isinstance(name, str) and os.environ.get(name):
            values.add(os.environ[name])
    return values


def _secret_needles(profile: Profile) -> list[tuple[str, bytes]]:
    """What must never be in a pack: the profile's secret values and its private key."""
    needles = [
        ("a token or passphrase of the target profile", value.encode())
        for value in profile.secrets() | _passphrases(profile)
    ]
    for form in (serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL):
        pem = profile.signing.key.private_bytes(
            serialization.Encoding.PEM, form, serialization.NoEncryption()
        )
        needles.append(("the QSEAL private key", pem.splitlines()[1]))
    return [(what, needle) for what, needle in needles if len(needle) >= 4]


def _signer(profile: Profile) -> x509.Certificate:
    cert = profile.signing.certificate
    if cert is None:
        raise UsageError(
            f"{profile.source}: signing.certificate is not set; the evidence pack needs the "
            "QSEAL certificate so that a third party can check its signature"
        )
    public = cert.public_key()
    if (
        not isinstance(public, rsa.RSAPublicKey)
        or public.public_numbers() != profile.signing.key.public_key().public_numbers()
    ):
        raise UsageError(
            f"{profile.source}: signing.certificate does not match signing.key "
            "(different public key)"
        )
    return cert


def _run_info(root: Path) -> dict[str, Any]:
    try:
        run = json.loads(ResultsDir(root).run.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise UsageError(f"{ResultsDir(root).run}: not valid JSON") from None
    return run if isinstance(run, dict) else {}


def _check_one_finished_run(root: Path, run: dict[str, Any]) -> None:
    """A pack vouches for one run that finished: not an interrupted one, not several mixed."""
    if run.get("interrupted"):
        raise UsageError(
            f"{root}: the run was interrupted (run.json); an evidence pack seals a finished run "
            "only: run it again with --results NEW_DIR"
        )
    listed = run.get("allure_results")
    present = sorted(path.name for path in ResultsDir(root).allure.glob(layout.ALLURE_RESULTS))
    if not isinstance(listed, list) or sorted(str(name) for name in listed) != present:
        count = len(listed) if isinstance(listed, list) else "none"
        raise UsageError(
            f"{root}: allure/ holds {len(present)} test results and run.json lists {count}: "
            "results of more than one run, or changed after it; an evidence pack seals exactly "
            "one run: run it again with --results NEW_DIR"
        )


def build_manifest(
    files: dict[str, bytes], cert: x509.Certificate, run: dict[str, Any], created: datetime
) -> bytes:
    """The manifest's exact bytes (sorted keys, UTF-8, final newline): what gets signed."""
    target = run.get("target")
    manifest = {
        "format": FORMAT,
        "harness_version": __version__,
        "run_harness_version": run.get("harness_version"),
        "created": created.astimezone(UTC).isoformat(timespec="seconds"),
        "target": target.get("name") if isinstance(target, dict) else target,
        "signer": {
            "certificate": CERTIFICATE,
            "sha256_fingerprint": fingerprint_of(cert),
            "subject": cert.subject.rfc4514_string(),
        },
        "signature": {"file": SIGNATURE, "algorithm": SIGNATURE_ALGORITHM},
        "files": [
            {"path": path, "sha256": sha256_hex(data), "size": len(data)}
            for path, data in sorted(files.items())
        ],
    }
    return (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def sign(key: rsa.RSAPrivateKey, data: bytes) -> bytes:
    return key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def build_pack(results_dir: Path, profile_path: Path, output: Path) -> dict[str, Any]:
    """Seal ``results_dir`` into ``output``; return the manifest (parsed) for the caller."""
    if not results_dir.is_dir():
        raise UsageError(f"{results_dir}: not a directory")
    profile = load_profile(profile_path)
    cert = _signer(profile)
    root = results_dir.resolve()
    output = output.resolve()
    files: dict[str, bytes] = {
        member: path.read_bytes()
        for member, path in _results_files(root)
        if path.resolve() != output
    }
    run = _run_info(root)
    _check_one_finished_run(root, run)
    files[CERTIFICATE] = cert.public_bytes(serialization.Encoding.PEM)
    for what, needle in _secret_needles(profile):
        for member, data in files.items():
            if needle in data:
                raise UsageError(f"{member}: contains {what}; refusing to seal it into a pack")
    manifest = build_manifest(files, cert, run, datetime.now(UTC))
    signature = sign(profile.signing.key, manifest)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as pack:
        pack.writestr(MANIFEST, manifest)
        pack.writestr(SIGNATURE, signature)
        for member, data in sorted(files.items()):
            pack.writestr(member, data)
    partial.replace(output)
    parsed: dict[str, Any] = json.loads(manifest)
    return parsed


@dataclass
class Verification:
    """What ``verify`` found: one line per problem, each naming the member."""

    problems: list[str] = field(default_factory=list)
    cert_used: str = ""
    signer: str = ""
    files: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def _load_cert_bytes(data: bytes, name: str, problems: list[str]) -> x509.Certificate | None:
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError:
        problems.append(f"{name}: not a PEM certificate (modified?)")
        return None


# DER DigestInfo prefix of a SHA-256 hash (RFC 8017, section 9.2, note 1).
_SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


def _check_signature(
    manifest: bytes, signature: bytes, cert: x509.Certificate, cert_name: str, result: Verification
) -> None:
    """Name what changed: recovering the signed digest tells a bad signature (manifest.sig
    modified, or another signer) from a genuine one over other bytes (manifest.json modified).
    """
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        result.problems.append(f"{cert_name}: not an RSA certificate; cannot check {SIGNATURE}")
        return
    try:
        signed = key.recover_data_from_signature(signature, padding.PKCS1v15(), None)
    except (InvalidSignature, ValueError):
        result.problems.append(
            f"{SIGNATURE}: not a signature by the key of {cert_name}: {SIGNATURE} was modified, "
            "or the pack was signed with another key"
        )
        return
    if signed != _SHA256_DIGEST_INFO + hashlib.sha256(manifest).digest():
        result.problems.append(
            f"{MANIFEST}: modified after signing (its SHA-256 is not the one signed in {SIGNATURE})"
        )
        return
    # Belt and braces: the library's own verification must agree.
    try:
        key.verify(signature, manifest, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        result.problems.append(f"{SIGNATURE}: the signature of {MANIFEST} does not verify")


def _read_members(pack: Path, result: Verification) -> dict[str, bytes] | None:
    try:
        with zipfile.ZipFile(pack) as archive:
            infos = archive.infolist()
            members: dict[str, bytes] = {}
            for info in infos:
                if info.is_dir():
                    continue
                if info.filename in members:
                    result.problems.append(f"{info.filename}: appears twice in the pack (added)")
                    continue
                try:
                    members[info.filename] = archive.read(info)
                except (zipfile.BadZipFile, zlib.error, ValueError, OSError) as exc:
                    # A changed byte in compressed data fails the CRC or the inflater.
                    result.problems.append(f"{info.filename}: modified (unreadable: {exc})")
                    members[info.filename] = b""
    except zipfile.BadZipFile as exc:
        result.problems.append(f"{pack.name}: not a readable zip ({exc})")
        return None
    return members


def verify_pack(pack: Path, cert_path: Path | None = None) -> Verification:
    """Check the signature, every digest and size, and that nothing was added or removed."""
    if not pack.is_file():
        raise UsageError(f"{pack}: no such file")
    result = Verification()
    members = _read_members(pack, result)
    if members is None:
        return result
    manifest_bytes = members.get(MANIFEST)
    signature = members.get(SIGNATURE)
    for name, value in ((MANIFEST, manifest_bytes), (SIGNATURE, signature)):
        if value is None:
            result.problems.append(f"{name}: missing from the pack (removed)")

    if cert_path is not None:
        cert: x509.Certificate | None = load_certificate(cert_path, "--cert")
        result.cert_used = f"--cert {cert_path}"
    else:
        result.cert_used = f"the embedded certificate {CERTIFICATE}"
        embedded = members.get(CERTIFICATE)
        if embedded is None:
            cert = None
            result.problems.append(f"{CERTIFICATE}: missing from the pack (removed)")
        else:
            cert = _load_cert_bytes(embedded, CERTIFICATE, result.problems)
    if cert is not None:
        result.signer = (
            f"{cert.subject.rfc4514_string()} (SHA-256 fingerprint {fingerprint_of(cert)})"
        )
    if manifest_bytes is not None and signature is not None and cert is not None:
        _check_signature(manifest_bytes, signature, cert, result.cert_used, result)

    listed = _parse_manifest(manifest_bytes, result) if manifest_bytes is not None else None
    if listed is None:
        return result
    entries, fingerprint = listed
    if cert is not None and fingerprint and fingerprint_of(cert) != fingerprint:
        result.problems.append(
            f"{MANIFEST}: signer fingerprint {fingerprint} is not that of {result.cert_used}"
        )
    for path, (digest, size) in sorted(entries.items()):
        data = members.get(path)
        if data is None:
            result.problems.append(f"{path}: missing from the pack (removed)")
        elif len(data) != size or sha256_hex(data) != digest:
            result.problems.append(f"{path}: modified (SHA-256 or size differs from the manifest)")
    for path in sorted(set(members) - set(entries) - {MANIFEST, SIGNATURE}):
        result.problems.append(f"{path}: not in the manifest (added)")
    result.files = len(entries)
    return result


def _parse_manifest(
    data: bytes, result: Verification
) -> tuple[dict[str, tuple[str, int]], str] | None:
    """Path -> (sha256, size), and the signer fingerprint; ``None`` if it cannot be read."""
    try:
        manifest = json.loads(data)
        entries = {
            str(entry["path"]): (str(entry["sha256"]), int(entry["size"]))
            for entry in manifest["files"]
        }
        fingerprint = str(manifest.get("signer", {}).get("sha256_fingerprint", ""))
    except (ValueError, KeyError, TypeError, AttributeError):
        result.problems.append(f"{MANIFEST}: not a valid manifest (modified?)")
        return None
    return entries, fingerprint
