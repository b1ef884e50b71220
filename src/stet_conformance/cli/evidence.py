"""``stet-conformance evidence build|verify``: a signed, checkable pack of a run for go-live."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from stet_conformance.cli.common import EXIT_FAILED, EXIT_OK, Commands


def register(commands: Commands[argparse.ArgumentParser]) -> None:
    evidence = commands.add_parser(
        "evidence",
        help="build or verify a signed evidence pack (zip) of a results directory",
        description="Seal a results directory into a zip with a SHA-256 manifest signed with "
        "the QSEAL key, or check such a pack.",
    )
    actions = evidence.add_subparsers(dest="action", required=True, metavar="ACTION")
    build = actions.add_parser(
        "build",
        help="seal RESULTS_DIR into a signed zip",
        description="Bundle the Allure results, JUnit XML, coverage, sanitized profile, run.json "
        "and scenario files of RESULTS_DIR with manifest.json (SHA-256 of every file), "
        "manifest.sig (RSA SHA-256 with the profile's QSEAL key) and the QSEAL certificate.",
    )
    build.add_argument("results", metavar="RESULTS_DIR", type=Path)
    build.add_argument(
        "--target",
        metavar="PROFILE",
        type=Path,
        required=True,
        help="target profile whose signing.key signs and signing.certificate goes in the pack",
    )
    build.add_argument(
        "-o",
        "--output",
        metavar="ZIP",
        type=Path,
        help="the pack to write (default: RESULTS_DIR-evidence.zip, beside RESULTS_DIR)",
    )
    build.set_defaults(handler=handle_build)
    verify = actions.add_parser(
        "verify",
        help="check a pack: exit 0 if intact, 1 naming each changed file",
        description="Check the signature of manifest.json and every member's SHA-256 and size; "
        "report modified, added and removed files.",
    )
    verify.add_argument("pack", metavar="PACK", type=Path)
    verify.add_argument(
        "--cert",
        metavar="CERT",
        type=Path,
        help="check the signature with this QSEAL certificate (PEM) instead of the embedded one",
    )
    verify.set_defaults(handler=handle_verify)


def handle_build(args: argparse.Namespace) -> int:
    results: Path = args.results.resolve()
    output = args.output or results.with_name(results.name + "-evidence.zip")
    from stet_conformance.report.evidence import build_pack

    manifest = build_pack(results, args.target, output)
    signer = manifest["signer"]
    print(
        f"stet-conformance: evidence pack {output.resolve()}: {len(manifest['files'])} files, "
        f"signed by {signer['subject']} (SHA-256 fingerprint {signer['sha256_fingerprint']})",
        file=sys.stderr,
    )
    return EXIT_OK


def handle_verify(args: argparse.Namespace) -> int:
    from stet_conformance.report.evidence import verify_pack

    result = verify_pack(args.pack, args.cert)
    if result.ok:
        print(
            f"{args.pack}: intact: {result.files} files; signature of manifest.json checked "
            f"with {result.cert_used}: {result.signer}"
        )
        return EXIT_OK
    for problem in result.problems:
        print(f"FAILED {problem}")
    print(
        f"{args.pack}: NOT intact ({len(result.problems)} problem(s); "
        f"signature checked with {result.cert_used})"
    )
    return EXIT_FAILED
