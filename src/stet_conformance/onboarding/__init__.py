"""Onboarding a real bank: profile template (init), checks (doctor), OAuth login and refresh.

Everything here sits above ``http/`` and below ``cli/``; the token store it fills is
``config/token_store.py``, so ``config/profile.py`` can read it without importing this package.
"""
