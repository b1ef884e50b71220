"""Conformance test harness for STET PSD2 v1.4.x bank APIs."""

__version__ = "0.1.0"
