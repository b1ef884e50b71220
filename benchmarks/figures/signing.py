"""Figure 2: the harness's signer and ``cavage.sign`` against a bare ``key.sign``."""

from __future__ import annotations

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from figures.figure import Figure, Sizes
from figures.target import accounts_url, token
from figures.timing import interleave
from stet_conformance.config.profile import Profile
from stet_conformance.http.signing import Signer
from stet_conformance.shared import cavage


def bench_signing(profile: Profile, sizes: Sizes) -> list[Figure]:
    key = profile.signing.key
    signer = Signer(key, profile.signing.key_id, profile.signing.headers)
    headers = {
        "Authorization": f"Bearer {token(profile)}",
        "X-Request-ID": "3f1c2a9e-5b7d-4e21-9c4a-7d0e8f6b1a23",
        "PSU-IP-Address": "192.168.0.1",
        "Digest": cavage.body_digest(b""),
    }
    request = httpx.Request("GET", profile.base_url + accounts_url(profile), headers=headers)
    names = signer.names_for(request.headers)
    lower = {k.lower(): v for k, v in headers.items()}
    text = cavage.signing_string("GET", request.url.raw_path.decode(), lower, names)
    data = text.encode("utf-8")

    def bare() -> None:
        key.sign(data, padding.PKCS1v15(), hashes.SHA256())

    per_call = interleave(
        {
            "bare": bare,
            "cavage_sign": lambda: cavage.sign(key, text),
            "signer": lambda: signer.signature_header(request),
        },
        sizes.sign_batch,
        sizes.sign_rounds,
    )
    rates = {name: 1 / seconds for name, seconds in per_call.items()}
    detail = {f"{name}_per_s": rate for name, rate in rates.items()}
    detail["key_bits"] = key.key_size
    return [
        Figure(
            "signer_vs_bare",
            "2. Signer.signature_header / bare key.sign",
            rates["signer"] / rates["bare"],
            0.9,
            ">=",
            "x",
            detail,
        ),
        Figure(
            "cavage_sign_vs_bare",
            "2. cavage.sign / bare key.sign",
            rates["cavage_sign"] / rates["bare"],
            0.9,
            ">=",
            "x",
            detail,
        ),
    ]
