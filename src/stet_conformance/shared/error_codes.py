"""The error codes STET 1.4.0.47 gives a response format: its shared 4xx/5xx responses, each an
ErrorModel. The checks judge an error body by it (elsewhere only a recommendation) and a profile
declares its signature refusal among its 4xx (a code STET defines no response for would be
judged on a format no source gives)."""

from __future__ import annotations

STET_ERROR_STATUSES = frozenset({400, 401, 403, 404, 405, 406, 408, 429, 500, 503})
STET_CLIENT_ERRORS = tuple(sorted(code for code in STET_ERROR_STATUSES if code < 500))
