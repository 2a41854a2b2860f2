"""Atomic file writes: write to a temp file in the destination folder, then rename over the target.

A crash or an exception mid-write leaves the earlier file (if any) untouched and no half-written file behind.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["atomic_write"]


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def atomic_write(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Call `write(tmp_path)`, then atomically move tmp_path to `path`. Creates the folder if missing."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; a report should get normal permissions
        os.replace(tmp_path, path)  # atomic on POSIX and Windows when on the same filesystem
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    return path
