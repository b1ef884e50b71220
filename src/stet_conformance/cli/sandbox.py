"""``stet-conformance sandbox``: serve the reference sandbox in the foreground."""

from __future__ import annotations

import argparse
from pathlib import Path

from stet_conformance.cli.common import EXIT_OK, Commands, add_latency_option
from stet_conformance.errors import UsageError

LOOPBACK = ("127.0.0.1", "::1", "localhost")


def register(commands: Commands[argparse.ArgumentParser]) -> None:
    sandbox = commands.add_parser(
        "sandbox",
        help="serve the reference sandbox in the foreground",
        description="Serve the reference STET sandbox over mTLS and write a target profile "
        "for it into DIR/profile.yaml.",
    )
    sandbox.add_argument("--port", type=int, default=0, help="TCP port (default: any free one)")
    sandbox.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    sandbox.add_argument(
        "--dir",
        type=Path,
        default=Path("stet-sandbox"),
        help="where the PKI and profile.yaml go (default: ./stet-sandbox)",
    )
    sandbox.add_argument(
        "--fault",
        metavar="NAME",
        action="append",
        default=[],
        help="switch on a fault (repeatable); see --list-faults",
    )
    sandbox.add_argument(
        "--replay-protection",
        action="store_true",
        help="bank variant: refuse a replayed signed request (same keyId and Signature within "
        "5 minutes) with 400; the profile says replay_protection: true",
    )
    sandbox.add_argument(
        "--variant",
        metavar="NAME",
        action="append",
        default=[],
        help="a legitimate bank variant (repeatable): the other answers the portal and STET "
        "allow; see --list-variants",
    )
    add_latency_option(sandbox, "")
    sandbox.add_argument("--list-faults", action="store_true", help="list the faults and exit")
    sandbox.add_argument("--list-variants", action="store_true", help="list the variants and exit")
    sandbox.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from stet_conformance.sandbox.faults import FAULTS
    from stet_conformance.sandbox.server import SandboxServer
    from stet_conformance.sandbox.variants import DESCRIPTIONS

    if args.list_faults or args.list_variants:
        table = FAULTS if args.list_faults else DESCRIPTIONS
        for name, description in sorted(table.items()):
            print(f"{name:34} {description}")
        return EXIT_OK
    if args.host not in LOOPBACK:
        raise UsageError("--host: the sandbox only listens on loopback addresses")
    try:
        server = SandboxServer(
            args.dir.resolve(),
            args.fault,
            args.port,
            args.host,
            replay_protection=args.replay_protection,
            variants=args.variant,
            latency_ms=args.latency_ms,
        )
    except ValueError as exc:  # unknown fault or variant name
        option = "--variant" if "variant" in str(exc) else "--fault"
        raise UsageError(f"{option}: {exc}") from None
    server.run_forever()
    return EXIT_OK
