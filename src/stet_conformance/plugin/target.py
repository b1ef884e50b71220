"""The session's target profile, loaded at most once per pytest process.

Loading a profile reads its YAML, keys, certificates and token store; the run context and the
recorder both need it, so it is kept in ``config.stash``. ``stet-conformance run`` has already
loaded it (to check it and refresh tokens) and hands it over with ``GivenProfile``; an xdist
worker, a separate process, loads it once itself. A profile that fails to load fails the same
way each time it is asked for, without being read again.

The bundled sandbox that ``run`` starts comes up while pytest starts and collects
(``StartingTarget``): its profile is read once it serves, and the first test waits for it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from stet_conformance.config.profile import Profile, load_profile
from stet_conformance.errors import UsageError
from stet_conformance.http.redact import Redactor

_GIVEN = pytest.StashKey[Profile]()
_LOADED = pytest.StashKey[Profile | UsageError]()
_STARTING = pytest.StashKey[Callable[[], object]]()


class GivenProfile:
    """A plugin object for ``pytest.main(plugins=[...])``: a profile loaded before pytest."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile

    def __repr__(self) -> str:  # pytest --traceconfig prints plugins
        return f"<GivenProfile {self.profile!r}>"

    @pytest.hookimpl(tryfirst=True)
    def pytest_configure(self, config: pytest.Config) -> None:
        config.stash[_GIVEN] = self.profile


class StartingTarget:
    """A plugin object: the target still starting in a thread as pytest starts; ``ready()``
    returns once it serves (and raises what stopped it). Tests wait for it after the
    collection; xdist's controller before it starts the workers, which read the profile."""

    def __init__(self, ready: Callable[[], object]) -> None:
        self.ready = ready

    @pytest.hookimpl(tryfirst=True)
    def pytest_configure(self, config: pytest.Config) -> None:
        config.stash[_STARTING] = self.ready

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if session.config.pluginmanager.has_plugin("dsession"):
            self.ready()

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.ready()


def target_profile(config: pytest.Config, path: Path, redactor: Redactor) -> Profile:
    """The profile at ``path`` for this session; its secrets join ``redactor`` when it is
    first loaded (or taken from ``GivenProfile``), on the controller as on a worker."""
    if _LOADED not in config.stash:
        config.stash.get(_STARTING, lambda: None)()
        given = config.stash.get(_GIVEN, None)
        try:
            if given is not None and given.source.resolve() == path.resolve():
                profile = given
            else:
                profile = load_profile(path)
        except UsageError as exc:
            config.stash[_LOADED] = exc
            raise
        for secret in profile.secrets():
            redactor.add(secret)
        config.stash[_LOADED] = profile
    loaded = config.stash[_LOADED]
    if isinstance(loaded, UsageError):
        raise loaded.with_traceback(None)
    return loaded
