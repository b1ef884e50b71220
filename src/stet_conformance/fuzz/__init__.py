"""Property-based fuzzing of a STET target (issue 5): strategies, oracles, a request budget.

The suites live in ``suites/test_fuzz_*.py`` and run through the same signing client and target
profile as the YAML scenarios; ``fuzz.plugin`` adds ``--stet-mode`` and the Hypothesis profiles.
"""
