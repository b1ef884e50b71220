"""PKCE (RFC 7636, S256): the login's verifier and challenge, and the sandbox's check of them."""

from __future__ import annotations

import base64
import hashlib
import secrets


def challenge(verifier: str) -> str:
    """BASE64URL(SHA256(verifier)) without padding (RFC 7636 4.2, S256)."""
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def pkce_pair() -> tuple[str, str]:
    """A new verifier (43 characters of base64url) and its S256 challenge."""
    verifier = secrets.token_urlsafe(32)
    return verifier, challenge(verifier)
