"""The BPCE banks the portal names, and the commented profile ``init`` writes for one of them.

Gateways follow ``www.<code>.<sandbox|live>.api.89C3.com`` (seed: Sandbox, Limits, Trigger
App2App). Every secret is a ``${VAR}`` placeholder so the file can be committed and CI can feed
the values from its secret store; optional ones use ``${VAR:-}`` (empty: skipped, not failed).
"""

from __future__ import annotations

BANKS: dict[str, str] = {
    "12579": "Banque BCP",
    "17515": "Caisse d'Epargne Ile-de-France",
    "40978": "Banque Palatine",
    "10548": "Banque de Savoie",
    "42559": "Credit Cooperatif",
    "30258": "BTP Banque",
    "18919": "Natixis",
}


def gateway(code: str, live: bool) -> str:
    return f"https://www.{code}.{'live' if live else 'sandbox'}.api.89C3.com"


def profile_name(code: str, live: bool) -> str:
    return f"bpce-{code}-{'live' if live else 'sandbox'}"


# The personas' tokens and the overrides: the same for every bank.
PERSONAS_AND_OVERRIDES = """
# Bearer tokens per persona and scope. Leave them empty to use the token store; a value set
# here wins over the store.
personas:
  LEA:
    tokens:
      aisp: ${LEA_AISP_TOKEN:-}
      pisp: ${LEA_PISP_TOKEN:-}
      cbpii: ${LEA_CBPII_TOKEN:-}
    refresh_tokens: {aisp: "${LEA_AISP_REFRESH:-}"}
    expired_tokens: {aisp: "${LEA_AISP_EXPIRED:-}"}  # an expired token, for SEC-EXPIRED-TOKEN
    # Refresh tokens the revocation scenarios consume, one each (each from its own login), or:
    # stet-conformance login --disposable 2 --persona LEA (into the token store)
    disposable_refresh_tokens: {aisp: ["${LEA_AISP_DISPOSABLE_1:-}", "${LEA_AISP_DISPOSABLE_2:-}"]}
  CLAIRE: {tokens: {aisp: "${CLAIRE_AISP_TOKEN:-}", cbpii: "${CLAIRE_CBPII_TOKEN:-}"}}
  GEORGES: {tokens: {aisp: "${GEORGES_AISP_TOKEN:-}"}}
  MARC: {tokens: {aisp: "${MARC_AISP_TOKEN:-}"}}
  TECHNCO: {tokens: {aisp: "${TECHNCO_AISP_TOKEN:-}"}}
  EDME: {tokens: {aisp: "${EDME_AISP_TOKEN:-}"}}

# Per-bank expectation changes, always with a reason (docs/checks.md, "Where the portal and
# STET disagree"). Known failures go here with `skip: true` so a nightly run fails on
# regressions only.
overrides: {}
"""


def profile_template(code: str, live: bool, base_url: str | None = None) -> str:
    """The profile text for a bank code (``base_url`` for a gateway the seed does not list)."""
    url = (base_url or gateway(code, live)).rstrip("/")
    bank = BANKS.get(code, "bank not listed by the portal")
    environment = "live" if live else "sandbox"
    oauth = f"{url}/stet/psd2/oauth"
    safety = (
        "live: runs need --allow-live, and get a default request budget"
        if live
        else "sandbox: runs without --allow-live (never set this on a production gateway)"
    )
    return (
        f"""\
# stet-conformance target profile for {bank} ({code}), written by `stet-conformance init`.
# Reference: docs/profile.md. Check it with: stet-conformance doctor --target THIS_FILE
# ${{VAR}} reads an environment variable (unset: error); ${{VAR:-}} is optional (empty: the
# scenarios needing it are skipped). Relative paths resolve against this file's directory.
name: {profile_name(code, live)}
base_url: {url}
api_prefix: /stet/psd2/v1.4.2
environment: {environment}   # {safety}
psu_ip_address: 192.168.0.1     # sent as PSU-IP-Address: a connected PSU, no 4-a-day quota

# Tokens from `stet-conformance login` (JSON, 0600). They fill the empty tokens below, and `run`
# refreshes access tokens that expire within 60 s. Keep it out of version control.
token_store: ${{STET_TOKEN_STORE:-tokens.json}}

tls:
  ca_bundle: ${{STET_CA_BUNDLE:-}}     # the gateway's CA, if not in the system store
  client_cert: ${{STET_QWAC_CERT}}     # QWAC (PEM) declared on the portal / API Register
  client_key: ${{STET_QWAC_KEY}}       # its private key (chmod 600)
  # client_key_password_env: STET_QWAC_KEY_PASSPHRASE   # if the key is encrypted

signing:
  key: ${{STET_QSEAL_KEY}}             # QSEAL private key (RSA, PEM)
  certificate: ${{STET_QSEAL_CERT:-}}  # QSEAL certificate: lets doctor check the keyId
  # keyId as the bank resolves it: a URL ending in _<sha256 of the QSEAL certificate>,
  # or SN=<serial hex>,CA=<issuer DN>
  key_id: ${{STET_QSEAL_KEY_ID}}
  # key_password_env: STET_QSEAL_KEY_PASSPHRASE

oauth:
  client_id: ${{STET_CLIENT_ID}}       # the QWAC's organizationIdentifier, e.g. PSDFR-ACPR-13807
  token_url: {oauth}/token
  authorize_url: {oauth}/authorize
  revoke_url: {oauth}/revoke

timeouts: {{connect: 10, read: 30}}
"""
        + PERSONAS_AND_OVERRIDES
    )
