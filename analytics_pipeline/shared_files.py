"""Files that several processes of one machine use at once: a lock held on a file, and a file
replaced whole, so that a reader finds the old content or the new, never part of either."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """Held by one process at a time; released when the block ends, or its process does."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def replace_whole(path: Path, data: bytes) -> None:
    """`path` holding `data`: written beside it under this process's name, then moved in."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(f"{path.name}.{os.getpid()}")
    staged.write_bytes(data)
    staged.replace(path)
