"""``stet-conformance init``: a commented target profile for one BPCE bank, ready to fill.

The first ten minutes of onboarding are spent finding URLs and the profile's shape; this writes
both, with ``${VAR}`` placeholders so secrets stay in the environment or the CI secret store.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from stet_conformance.cli.common import EXIT_OK, Commands
from stet_conformance.errors import UsageError
from stet_conformance.onboarding.banks import BANKS, profile_template

# Profiles, token stores and keys are a bank's secrets: they go where .gitignore keeps them out.
DEFAULT_DIR = Path("targets")


def register(commands: Commands[argparse.ArgumentParser]) -> None:
    init = commands.add_parser(
        "init",
        help="write a commented target profile for a BPCE bank code",
        description="Write a target profile for a bank: gateway, OAuth URLs, ${VAR} placeholders "
        f"for certificates and tokens. Known bank codes: {', '.join(BANKS)}.",
    )
    init.add_argument("--bank", metavar="CODE", required=True, help="5-digit bank code, e.g. 12579")
    init.add_argument(
        "--live",
        action="store_true",
        help="the production gateway (www.CODE.live.api.89C3.com; environment: live)",
    )
    init.add_argument(
        "--base-url",
        metavar="URL",
        help="gateway URL (https://host[:port]); needed for a code the portal does not list",
    )
    init.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        type=Path,
        default=None,
        help=f"where to write the profile (default: {DEFAULT_DIR}/bpce-CODE-sandbox.yaml, or "
        "-live; that folder is git-ignored, as the token store written next to it must be)",
    )
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    code = str(args.bank).strip()
    if not re.fullmatch(r"[0-9]{5}", code):
        raise UsageError(f"--bank: {code!r} is not a 5-digit bank code")
    if code not in BANKS and not args.base_url:
        raise UsageError(
            f"--bank: unknown bank code {code} (known: {', '.join(BANKS)}); "
            "pass --base-url to use it anyway"
        )
    if args.base_url and not re.fullmatch(r"https://[^/\s]+/?", args.base_url):
        raise UsageError("--base-url: must be https://host[:port], without a path")
    kind = "live" if args.live else "sandbox"
    output: Path = args.output or DEFAULT_DIR / f"bpce-{code}-{kind}.yaml"
    if output.exists() and not args.force:
        raise UsageError(f"{output} exists; pass --force to overwrite it")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(profile_template(code, args.live, args.base_url), encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror}") from None
    bank = BANKS.get(code, "unlisted bank")
    print(f"wrote {output} for {bank} ({code}, {kind})")
    print(
        "next: export STET_QWAC_CERT STET_QWAC_KEY STET_QSEAL_KEY STET_QSEAL_KEY_ID "
        f"STET_CLIENT_ID, then: stet-conformance doctor --target {output}",
        file=sys.stderr,
    )
    return EXIT_OK
