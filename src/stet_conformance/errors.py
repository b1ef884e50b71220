"""One exception tree for everything the harness reports to its user.

``StetConformanceError`` is the root. User mistakes (a bad profile, a bad scenario file, a missing
key) are ``UsageError`` subclasses: the CLI prints their message on one line and exits 2, without a
traceback. ``TargetError`` means the bank under test could not be reached or spoke garbage: the
scenario ends as *broken*, not as a bank defect. Messages never contain secret values.
"""

from __future__ import annotations


class StetConformanceError(Exception):
    """Root of every error raised on purpose by stet-conformance."""


class UsageError(StetConformanceError):
    """Bad input from the user: exit code 2, one line, no traceback."""


class ConfigError(UsageError):
    """A target profile, key, certificate or setting is wrong."""


class ScenarioError(UsageError):
    """A scenario file is malformed (the message names file and line)."""


class TargetError(StetConformanceError):
    """The target could not be reached, refused TLS, timed out or answered garbage."""
