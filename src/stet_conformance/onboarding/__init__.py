"""Onboarding a real bank: profile template (init), checks (doctor), OAuth login, token store.

``store.py`` is pure standard library so ``config/profile.py`` can read a token store without
importing HTTP code; everything else here sits above ``http/`` and below ``cli/``.
"""
