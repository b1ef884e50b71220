"""The signing mTLS HTTP client: TLS context, OAuth bearer, Digest, Signature, redaction."""
