"""Reading eIDAS-style certificates: the TPP identity lives in organizationIdentifier."""

from __future__ import annotations

from cryptography import x509

ORGANIZATION_IDENTIFIER = x509.ObjectIdentifier("2.5.4.97")


def organization_identifier(cert: x509.Certificate) -> str | None:
    """The TPP's authorisation number from a QWAC subject (OID 2.5.4.97), if any."""
    values = cert.subject.get_attributes_for_oid(ORGANIZATION_IDENTIFIER)
    if not values:
        return None
    value = values[0].value
    return value if isinstance(value, str) else value.decode("utf-8")
