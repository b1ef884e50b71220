"""One exclusive lock between the processes of this machine: a ``flock`` on a lock file.

The token store (a run's workers, a login) and a run's shared request budget (its xdist
workers) both read, change and write a small file that several processes may touch at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def locked(fd: int) -> Iterator[None]:
    """Hold an exclusive lock on the open file ``fd`` for the block."""
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


@contextlib.contextmanager
def exclusive(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_path`` (created 0600) for the block."""
    lock_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    lock = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        with locked(lock):
            yield
    finally:
        os.close(lock)
